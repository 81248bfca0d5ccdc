// The shape of src/: folders by concern, an import graph without cycles, shared helpers
// (src/core) that import nothing but each other, and a public API that names its exports.
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', 'src');

/** Every .ts file of src/ (generated imports excluded), relative to src/, without extension. */
function modules(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== 'imports') walk(p);
      else if (e.isFile() && e.name.endsWith('.ts')) out.push(path.relative(SRC, p).replace(/\.ts$/, ''));
    }
  };
  walk(SRC);
  return out.sort();
}

/** The local modules a module imports. */
function importsOf(mod: string): string[] {
  const text = fs.readFileSync(path.join(SRC, `${mod}.ts`), 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)]
    .map(m => path.relative(SRC, path.resolve(path.dirname(path.join(SRC, mod)), m[1])))
    .filter(m => !m.startsWith('imports'));
}

const graph = new Map(modules().map(m => [m, importsOf(m)]));

test('src/ is grouped by concern', () => {
  const folders = new Set([...graph.keys()].map(folderOf));
  expect([...folders].sort()).toEqual(['.', 'core', 'metrics', 'monitoring', 'policy', 'scaling', 'tooling', 'workloads']);
  expect([...graph.keys()].filter(m => !m.includes('/'))).toEqual(['cli', 'index', 'main']);
});

test('every import resolves to a module of src/', () => {
  for (const [mod, deps] of graph) for (const d of deps) expect(`${mod} -> ${d}: ${graph.has(d)}`).toBe(`${mod} -> ${d}: true`);
});

test('the shared helpers (src/core) import nothing but each other', () => {
  const upward = [...graph].filter(([m]) => m.startsWith('core/'))
    .flatMap(([m, deps]) => deps.filter(d => !d.startsWith('core/')).map(d => `${m} -> ${d}`));
  expect(upward).toEqual([]);
});

test('the import graph of modules has no cycles', () => {
  expect(cyclesOf(graph)).toEqual([]);
});

/** The folder of a module (`.` for src/ itself). */
const folderOf = (m: string) => (m.includes('/') ? m.split('/')[0] : '.');

/** Cycles in a graph given as adjacency lists, each as `a -> b -> a`. */
function cyclesOf(edges: Map<string, Iterable<string>>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (n: string, trail: string[]) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(n)), n].join(' -> '));
      return;
    }
    state.set(n, 'open');
    for (const d of edges.get(n) ?? []) visit(d, [...trail, n]);
    state.set(n, 'done');
  };
  for (const n of edges.keys()) visit(n, []);
  return cycles;
}

test('the folders form a DAG: no import between folders closes a circle', () => {
  const folders = new Map<string, Set<string>>();
  for (const [m, deps] of graph) {
    const from = folderOf(m);
    if (!folders.has(from)) folders.set(from, new Set());
    for (const d of deps) if (folderOf(d) !== from) folders.get(from)!.add(folderOf(d));
  }
  expect(cyclesOf(folders)).toEqual([]);
});

test('the folder check sees a circle between folders', () => {
  expect(cyclesOf(new Map([['metrics', ['monitoring']], ['monitoring', ['scaling']], ['scaling', ['metrics']]])))
    .toEqual(['metrics -> monitoring -> scaling -> metrics']);
});

test('the public API names its exports (no export *)', () => {
  expect(fs.readFileSync(path.join(SRC, 'index.ts'), 'utf8')).not.toMatch(/export \*/);
});

test('every module that registers an app-wide check is loaded by the index, and the package exports the index only', () => {
  const reached = new Set<string>();
  const visit = (m: string) => {
    if (reached.has(m)) return;
    reached.add(m);
    for (const d of graph.get(m) ?? []) visit(d);
  };
  visit('index');
  const registering = [...graph.keys()].filter(m => /\bregisterAppCheck\(/.test(fs.readFileSync(path.join(SRC, `${m}.ts`), 'utf8'))
    && m !== 'core/app-checks');
  expect(registering.length).toBeGreaterThan(0);
  expect(registering.filter(m => !reached.has(m))).toEqual([]);
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  expect(Object.keys(pkg.exports)).toEqual(['.', './package.json']);
});
