#!/usr/bin/env node
// Builds lib/ with tsc and stamps it. `npm run build` and npm's `prepare` (so the package
// installs from source: `npm install <git url>`, `npm install <path>`, `npm pack` on a fresh
// clone) run it as is; `npm run synth` runs it with --if-stale, which compiles only when a
// source is newer than the last build (a no-op compile costs ~1.5 s).
// npm installs a git dependency's devDependencies before `prepare`; a linked folder
// (`npm install <path>`) gets none, so they are installed first, without touching the lockfile.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const stamp = path.join(root, 'lib', '.build-stamp');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, e) => Math.max(m, newest(path.join(p, e))), st.mtimeMs);
}

function upToDate() {
  if (!fs.existsSync(stamp) || !fs.existsSync(path.join(root, 'lib', 'main.js'))) return false;
  const inputs = ['src', 'imports', 'tsconfig.json', 'package.json', 'package-lock.json'].map(f => path.join(root, f)).filter(fs.existsSync);
  return fs.statSync(stamp).mtimeMs >= Math.max(...inputs.map(newest));
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.argv.includes('--if-stale') && upToDate()) process.exit(0);
if (!fs.existsSync(tsc)) {
  console.error('cdk8s-autoscaling: installing the build tools (devDependencies) to build lib/');
  run('npm', ['install', '--no-save', '--no-package-lock', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
}
run(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')]);
fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
