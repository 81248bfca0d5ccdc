#!/usr/bin/env node
// Runs `tsc` only when a source is newer than the last build, so `npm run synth`
// always renders the current code without paying ~1.5 s for a no-op compile.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const stamp = path.join(root, 'lib', '.build-stamp');
const inputs = ['src', 'imports'].map(d => path.join(root, d));
const configs = ['tsconfig.json', 'package.json', 'package-lock.json'].map(f => path.join(root, f));

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, e) => Math.max(m, newest(path.join(p, e))), st.mtimeMs);
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : -1;
const changed = Math.max(...inputs.map(newest), ...configs.map(newest));
if (built >= changed && fs.existsSync(path.join(root, 'lib', 'main.js'))) process.exit(0);

const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
