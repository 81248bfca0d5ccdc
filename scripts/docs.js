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
  ['examples/kind/dist/trial.k8s.yaml', 'default/nginx', 'docs/scenarios/kind-test-metric.json', 'docs/kind-test-metric.svg'],
  ['dist/flask.k8s.yaml', 'flask-ns/web', 'docs/scenarios/web-capacity.json', 'docs/web-capacity.svg'],
  ['dist/flask.k8s.yaml', 'flask-ns/web', 'docs/scenarios/web-capacity-buffer.js', 'docs/web-capacity-buffer.svg'],
];
process.chdir(root);
for (const [file, hpa, scenario, svg] of runs) {
  console.log(`$ cdk8s-autoscaling simulate ${file} --hpa ${hpa} --scenario ${scenario} --svg ${svg}`);
  const code = main(['simulate', file, '--hpa', hpa, '--scenario', scenario, '--svg', svg]);
  if (code !== 0) process.exit(code);
}

// The kind trial's HPA again, with a 60 s scale-down stabilization window instead of Kubernetes' 5 minutes.
const fs = require('fs');
const { Yaml } = require('cdk8s');
const { simulate, renderSimulationSvg } = require('../lib');
const hpa = Yaml.load('examples/kind/dist/trial.k8s.yaml').find(o => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'nginx');
const shorter = { ...hpa, spec: { ...hpa.spec, behavior: { ...hpa.spec.behavior,
  scaleDown: { ...hpa.spec.behavior.scaleDown, stabilizationWindowSeconds: 60 } } } };
const scenario = JSON.parse(fs.readFileSync('docs/scenarios/kind-test-metric.json', 'utf8'));
console.log('$ simulate (the same HPA, scaleDown.stabilizationWindowSeconds: 60) > docs/kind-test-metric-60s.svg');
fs.writeFileSync('docs/kind-test-metric-60s.svg', renderSimulationSvg(simulate(shorter, scenario)));

// The reference web app over a week, without and with an off-hours schedule (1 replica outside Mon-Fri 07:30-20:30 Berlin time).
const { podSpecOf } = require('../lib/core/manifests');
const flask = Yaml.load('dist/flask.k8s.yaml');
const web = flask.find(o => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'web');
const podSpec = podSpecOf(flask.find(o => o.kind === 'Deployment' && o.metadata.name === 'web')).spec;
const week = require('../docs/scenarios/web-week.js');
const offHours = { ...web, metadata: { ...web.metadata, annotations: { 'downscaler/uptime': 'Mon-Fri 07:30-20:30 Europe/Berlin',
  'downscaler/downscale-replicas': '1' } } };
for (const [hpa, svg] of [[web, 'docs/web-week.svg'], [offHours, 'docs/web-week-offhours.svg']]) {
  const result = simulate(hpa, { ...week, podSpec });
  console.log(`$ simulate (a week of the web app${hpa === web ? '' : ', off hours'}) > ${svg}: ${result.summary.podHours} pod-hours`);
  fs.writeFileSync(svg, renderSimulationSvg(result));
}
