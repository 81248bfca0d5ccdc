import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Yaml } from 'cdk8s';

/** Options of {@link safeSynth}. */
export interface SafeSynthOptions {
  /**
   * The cdk8s project: the folder of its `cdk8s.yaml`.
   * @default - the current directory
   */
  readonly cwd?: string;
  /**
   * Where the manifests go.
   * @default - `output` of cdk8s.yaml, else "dist"
   */
  readonly output?: string;
  /**
   * Where messages go.
   * @default - process.stdout and process.stderr
   */
  readonly log?: { out(text: string): void; err(text: string): void };
}

/**
 * Synthesizes a cdk8s app the way `cdk8s synth` does, but safely for a
 * GitOps repository: the app renders into a scratch folder beside the
 * output, and the output folder is replaced only when the whole render
 * succeeded (cdk8s-cli empties it first, so a failing app would delete every
 * committed manifest). On failure the problems are printed as plain lines,
 * without a stack trace. When `cdk8s.yaml` has `validations`, cdk8s-cli runs
 * the app (and its plugins); otherwise the app command runs directly.
 *
 * @returns the exit code: 0 on success, 1 when nothing was replaced.
 */
export function safeSynth(options: SafeSynthOptions = {}): number {
  const cwd = path.resolve(options.cwd ?? '.');
  const log = options.log ?? { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };
  const config = readConfig(cwd);
  const output = path.resolve(cwd, options.output ?? config.output ?? 'dist');
  const shown = path.relative(cwd, output) || '.';
  if (!config.app) {
    log.err(`synth: ${path.join(cwd, 'cdk8s.yaml')} has no "app" command\n`);
    return 1;
  }
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(path.dirname(output), `.${path.basename(output)}.synth-`));
  try {
    const run = runApp(cwd, config, scratch);
    if (run.stdout) log.out(run.stdout);
    if (run.status !== 0) {
      log.err(`synth failed; ${shown}/ was left as it was:\n${problemLines(run.stderr, cwd).map(l => `  ${l}\n`).join('')}`);
      return 1;
    }
    if (run.stderr.trim()) log.err(run.stderr.endsWith('\n') ? run.stderr : `${run.stderr}\n`);
    const written = fs.readdirSync(scratch);
    if (!written.some(f => /\.ya?ml$/.test(f) || fs.statSync(path.join(scratch, f)).isDirectory())) {
      log.err(`synth: the app wrote no manifests; ${shown}/ was left as it was\n`);
      return 1;
    }
    replaceDir(scratch, output);
    log.out(`synth: ${shown}/ holds ${written.length} file${written.length === 1 ? '' : 's'} rendered by "${config.app}"\n`);
    return 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

interface Cdk8sConfig {
  readonly app?: string;
  readonly output?: string;
  readonly validations?: unknown;
}

function readConfig(cwd: string): Cdk8sConfig {
  const file = path.join(cwd, 'cdk8s.yaml');
  if (!fs.existsSync(file)) return {};
  return Yaml.load(file)[0] ?? {};
}

function runApp(cwd: string, config: Cdk8sConfig, outdir: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, CDK8S_OUTDIR: outdir, CDK8S_CHECK_UPGRADE: 'false' };
  let r;
  if (config.validations) {
    const cli = cdk8sCli(cwd);
    if (!cli) {
      return { status: 1, stdout: '', stderr: 'Error: cdk8s.yaml lists validations, which cdk8s-cli runs, but cdk8s-cli is not installed here; '
        + 'install it (npm install --save-dev cdk8s-cli), or remove validations from cdk8s.yaml\n' };
    }
    r = spawnSync(process.execPath, [cli, 'synth', '--output', outdir, '--no-check-upgrade'], { cwd, env, encoding: 'utf8' });
  } else {
    r = spawnSync(config.app!, { cwd, env, encoding: 'utf8', shell: true });
  }
  return { status: r.error ? 1 : r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/**
 * The `cdk8s` command of the cdk8s-cli the project has installed: its
 * package.json's `bin`, since the package's `exports` hide `bin/cdk8s` from
 * `require.resolve`.
 */
function cdk8sCli(cwd: string): string | undefined {
  let manifest: string;
  try {
    manifest = require.resolve('cdk8s-cli/package.json', { paths: [cwd] });
  } catch {
    return undefined;
  }
  const bin = JSON.parse(fs.readFileSync(manifest, 'utf8')).bin;
  const relative = typeof bin === 'string' ? bin : bin?.cdk8s;
  return relative ? path.join(path.dirname(manifest), relative) : undefined;
}

/** Moves `from` to `to`, replacing `to` (kept until the move is done, so an interruption never leaves neither). */
function replaceDir(from: string, to: string): void {
  const old = `${from}.old`;
  const had = fs.existsSync(to);
  if (had) fs.renameSync(to, old);
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if (had) fs.renameSync(old, to);
    throw e;
  }
  if (had) fs.rmSync(old, { recursive: true, force: true });
}

/**
 * The problems in a failed Node app's stderr, as plain lines: the message of
 * the error it died of (cdk8s's "Validation failed" list unwrapped), without
 * Node's source excerpt and stack trace. An error thrown while the app ran
 * (not a validation) ends with the place in the app's own code it came
 * from (`at main.ts:12`, relative to `cwd`): the first frame of the stack
 * that is neither Node's, nor a package's, nor this library's.
 */
export function problemLines(stderr: string, cwd = '.'): string[] {
  const lines = stderr.split('\n');
  const start = lines.findIndex(l => /^[A-Za-z]*Error(: |$)/.test(l));
  const body = start < 0 ? lines : lines.slice(start);
  const end = body.findIndex(l => /^\s+at /.test(l));
  const validation = body[0]?.includes('Validation failed with the following errors:');
  const message = (end < 0 ? body : body.slice(0, end))
    .map(l => l.replace(/^[A-Za-z]*Error: /, '').trim())
    .filter(l => l && l !== 'Validation failed with the following errors:' && !/^Node\.js v\d/.test(l));
  const where = end < 0 || validation ? undefined : appFrame(body.slice(end), cwd);
  return [
    ...message.map(l => l.replace(/^\[([^\]]*)\] /, (_m, at: string) => (at ? `${at}: ` : ''))),
    ...(where ? [`at ${where}`] : []),
  ];
}

/** The library's own compiled folders (`lib/<concern>/`): frames there are not the app's. */
const LIBRARY_ROOT = path.dirname(__dirname);

/** `file:line` of the first stack frame in the app's own code, relative to `cwd`. */
function appFrame(frames: string[], cwd: string): string | undefined {
  for (const frame of frames) {
    const m = /^\s+at (?:.*? \()?(.+?):(\d+):\d+\)?$/.exec(frame);
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (!path.isAbsolute(file) || file.split(path.sep).includes('node_modules')) continue;
    const inLibrary = path.relative(LIBRARY_ROOT, file);
    if (!inLibrary.startsWith('..') && inLibrary.includes(path.sep)) continue;
    return `${path.relative(cwd, file)}:${m[2]}`;
  }
  return undefined;
}
