import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { App, Chart, Testing, Yaml } from 'cdk8s';

/** The message of the error `fn` throws; fails the test (with `otherwise`) when it throws none. */
export function thrown(fn: () => unknown, otherwise = 'no error thrown'): string {
  try { fn(); } catch (e) { return (e as Error).message; }
  throw new Error(otherwise);
}

/** A fresh app and chart for one test. */
export function newChart(id = 'test'): { app: App; chart: Chart } {
  const app = Testing.app();
  const chart = new Chart(app, id);
  return { app, chart };
}

/** The objects of `kind` (and `name`, if given) in rendered manifests. */
export function objectsOf(manifests: any[], kind: string, name?: string): any[] {
  return manifests.filter(m => m.kind === kind && (name === undefined || m.metadata?.name === name));
}

/** The single object of `kind` (and `name`); fails unless exactly one exists. */
export function objectOf(manifests: any[], kind: string, name?: string): any {
  const found = objectsOf(manifests, kind, name);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}${name ? ` "${name}"` : ''}, found ${found.length}`);
  }
  return found[0];
}

/** CRDs the library imports, and CRDs only tests use (KEDA's ScaledObject). */
const CRD_DIRS = [path.join(__dirname, '..', 'imports', 'crds'), path.join(__dirname, 'fixtures', 'crds')];
let crdValidators: Map<string, (obj: any) => string[]> | undefined;

function loadCrdValidators(): Map<string, (obj: any) => string[]> {
  if (crdValidators) return crdValidators;
  crdValidators = new Map();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const file of CRD_DIRS.flatMap(d => fs.readdirSync(d).filter(f => f.endsWith('.yaml')).map(f => path.join(d, f)))) {
    for (const crd of Yaml.load(file)) {
      for (const v of crd.spec.versions) {
        const validate = ajv.compile(withJsPatterns(v.schema.openAPIV3Schema));
        crdValidators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, (obj) => validate(obj)
          ? [] : (validate.errors ?? []).map(e => `${e.instancePath} ${e.message}`));
      }
    }
  }
  return crdValidators;
}

/**
 * The schema without the `pattern`s JavaScript cannot compile (the
 * Prometheus CRD has Go regexes such as `(?i)...`); every other rule stays.
 */
function withJsPatterns(schema: any): any {
  if (Array.isArray(schema)) return schema.map(withJsPatterns);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'pattern' && typeof v === 'string') {
      try { new RegExp(v, 'u'); } catch { continue; }
    }
    out[k] = withJsPatterns(v);
  }
  return out;
}

/**
 * Validates one manifest against the Kubernetes OpenAPI schemas
 * (kubernetes-models) or, for CRD kinds, against the CRD's schema committed
 * in imports/crds. Returns the errors; an unknown kind is an error too.
 */
export function schemaErrors(obj: any): string[] {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [undefined, obj.apiVersion];
  const crd = loadCrdValidators().get(`${group}/${version}/${obj.kind}`);
  if (crd) return crd(obj);
  const modulePath = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  let Model: any;
  try {
    Model = require(modulePath)[obj.kind];
  } catch {
    return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  }
  if (!Model) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

/** Asserts every manifest validates against its schema. */
export function expectSchemaValid(manifests: any[]): void {
  const errors = manifests.flatMap(m => schemaErrors(m).map(e => `${m.kind} ${m.metadata?.namespace ?? ''}/${m.metadata?.name}: ${e}`));
  expect(errors).toEqual([]);
}

/** Synthesizes the whole app (all charts) as manifests, running every validation. */
export function synthApp(app: App): any[] {
  return app.charts.flatMap(c => Testing.synth(c));
}

/** Roles Kubernetes itself provides, that bindings may name without defining. */
export const BUILTIN_ROLES = new Set([
  'ClusterRole/system:auth-delegator', 'Role/extension-apiserver-authentication-reader',
  'ClusterRole/cluster-admin', 'ClusterRole/admin', 'ClusterRole/edit', 'ClusterRole/view',
]);

/** Bindings whose roleRef names neither a role in `manifests` nor a built-in role. */
export function danglingBindings(manifests: any[]): string[] {
  const roles = new Set(manifests.filter(m => m.kind === 'ClusterRole' || m.kind === 'Role')
    .map(m => `${m.kind}/${m.kind === 'Role' ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`));
  return manifests.filter(m => m.kind === 'ClusterRoleBinding' || m.kind === 'RoleBinding').flatMap(b => {
    const ref = b.roleRef;
    const key = `${ref.kind}/${ref.kind === 'Role' ? `${b.metadata.namespace}/` : ''}${ref.name}`;
    return roles.has(key) || BUILTIN_ROLES.has(`${ref.kind}/${ref.name}`) ? [] : [`${b.kind} ${b.metadata.name} -> ${key}`];
  });
}

/** Whether `promtool` (Debian package `prometheus`) is installed. */
export const HAS_PROMTOOL = require('child_process').spawnSync('promtool', ['--version']).error === undefined;

/**
 * A test that needs promtool. Without promtool it is reported as skipped,
 * its name saying which Debian package to install (jest's global setup
 * prints one line about it too); with REQUIRE_PROMTOOL=1 (as .ci/run sets)
 * a missing promtool fails the test instead.
 */
export function testWithPromtool(name: string, fn: () => void): void {
  if (HAS_PROMTOOL) {
    test(name, fn);
  } else if (process.env.REQUIRE_PROMTOOL === '1') {
    test(name, () => { throw new Error('REQUIRE_PROMTOOL=1 but promtool is not installed: apt-get install -y prometheus'); });
  } else {
    test.skip(`${name} [skipped: needs promtool, Debian package "prometheus"]`, fn);
  }
}

/**
 * Runs `promtool check rules` on recording rules made of `exprs`; returns
 * promtool's output and exit code. promtool comes from the Debian package
 * `prometheus` (.ci/run installs it); without it this throws, so a test that
 * needs it fails rather than passing unchecked.
 */
export function promtoolCheck(exprs: Record<string, string>): { code: number; output: string } {
  const cp = require('child_process');
  const os = require('os');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-')), 'rules.yaml');
  const rules = Object.entries(exprs).map(([record, expr]) => ({ record: record.replace(/[^a-zA-Z0-9_:]/g, '_'), expr }));
  fs.writeFileSync(file, Yaml.stringify({ groups: [{ name: 'check', rules }] }));
  const r = cp.spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}); install the Debian package "prometheus"`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * Runs `promtool test rules` on a test file whose rule file records `expr`
 * as `record`; returns the exit code and output.
 */
export function promtoolTest(record: string, expr: string, tests: object[]): { code: number; output: string } {
  const cp = require('child_process');
  const os = require('os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-test-'));
  fs.writeFileSync(path.join(dir, 'rules.yaml'), Yaml.stringify({ groups: [{ name: 'under-test', interval: '1m', rules: [{ record, expr }] }] }));
  fs.writeFileSync(path.join(dir, 'test.yaml'), Yaml.stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
  const r = cp.spawnSync('promtool', ['test', 'rules', 'test.yaml'], { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}); install the Debian package "prometheus"`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * Runs `promtool test rules` on recording rules (evaluated in order, as one
 * group, every minute) with the given tests; returns the exit code and output.
 */
export function promtoolTestRules(rules: readonly { record: string; expr: string }[], tests: object[]): { code: number; output: string } {
  return promtoolAlertTest([{ name: 'under-test', interval: '1m', rules: rules.map(r => ({ record: r.record, expr: r.expr })) }], tests);
}

/**
 * Runs `promtool test rules` on alerting rule groups (as a PrometheusRule's
 * spec.groups) with the given tests; returns the exit code and output.
 */
export function promtoolAlertTest(groups: object[], tests: object[]): { code: number; output: string } {
  const cp = require('child_process');
  const os = require('os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-alerts-'));
  fs.writeFileSync(path.join(dir, 'rules.yaml'), Yaml.stringify({ groups }));
  fs.writeFileSync(path.join(dir, 'test.yaml'), Yaml.stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
  const r = cp.spawnSync('promtool', ['test', 'rules', 'test.yaml'], { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}); install the Debian package "prometheus"`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
