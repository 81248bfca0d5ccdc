#!/usr/bin/env node
// Renders the simulation charts the README shows (docs/*.svg) with the shipped
// command, from the committed dist/ and the scenarios in docs/scenarios/.
// `.ci/run` re-renders them and fails if they differ from what is committed.
const path = require('path');
const { main } = require('../lib/cli');

const root = path.join(__dirname, '..');
const runs = [
  ['dist/flask.k8s.yaml', 'flask-ns/web', 'docs/scenarios/web-load-step.json', 'docs/web-load-step.svg'],
  ['docs/scenarios/filler-classic-hpa.yaml', 'filler/miner', 'docs/scenarios/filler-classic.js', 'docs/filler-classic.svg'],
  ['dist/filler.k8s.yaml', 'filler/miner', 'docs/scenarios/filler-exact.js', 'docs/filler-exact.svg'],
];
process.chdir(root);
for (const [file, hpa, scenario, svg] of runs) {
  console.log(`$ cdk8s-autoscaling simulate ${file} --hpa ${hpa} --scenario ${scenario} --svg ${svg}`);
  const code = main(['simulate', file, '--hpa', hpa, '--scenario', scenario, '--svg', svg]);
  if (code !== 0) process.exit(code);
}
