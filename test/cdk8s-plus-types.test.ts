// The library at home in cdk8s-plus: amounts as cdk8s-plus Cpu and cdk8s Size render as the same
// quantities as strings do, and are checked the same way.
import { Chart, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { OpportunisticFiller, PromAdapter, ResourceQuotaPolicy, ScalableFlaskApp } from '../src';
import { amountText } from '../src/core/quantity';
import { newChart, thrown } from './helpers';

/** The rendered manifests of a chart built by `build` with one kind of amounts. */
function rendered(build: (chart: Chart, amounts: { cpu: any; memory: any; quota: any; reserve: any }) => void, typed: boolean): any[] {
  const { chart } = newChart();
  build(chart, typed
    ? { cpu: Cpu.millis(400), memory: Size.mebibytes(256), quota: { cpu: Cpu.units(20), memory: Size.gibibytes(40) }, reserve: Cpu.units(4) }
    : { cpu: '400m', memory: '256Mi', quota: { cpu: '20', memory: '40Gi' }, reserve: '4' });
  return Testing.synth(chart);
}

describe('Cpu and Size wherever the library takes an amount', () => {
  test('amountText: Cpu as cdk8s-plus renders it, Size exactly in the largest whole binary unit', () => {
    expect(amountText(Cpu.millis(250))).toBe('250m');
    expect(amountText(Cpu.units(2))).toBe('2');
    expect(amountText(Size.gibibytes(2))).toBe('2Gi');
    expect(amountText(Size.mebibytes(1536))).toBe('1536Mi');
    expect(amountText(Size.kibibytes(1536))).toBe('1536Ki');
    expect(amountText(Size.mebibytes(0.5))).toBe('512Ki');
    expect(amountText('128Mi')).toBe('128Mi');
  });

  test('ScalableFlaskApp, OpportunisticFiller and ResourceQuotaPolicy render the same YAML from Cpu and Size as from strings', () => {
    const build = (chart: Chart, a: { cpu: any; memory: any; quota: any; reserve: any }) => {
      new ScalableFlaskApp(chart, 'web', { namespace: 'shop', image: 'web:1', resources: { cpu: a.cpu, memory: a.memory }, maxReplicas: 5 });
      const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/', resources: { cpu: a.cpu, memory: a.memory } });
      new OpportunisticFiller(chart, 'miner', {
        image: 'miner:1', resources: { cpu: a.cpu, memory: a.memory }, adapter, maxReplicas: 20, externalKubeStateMetrics: true,
        reserve: { cpu: a.reserve }, buffer: { replicas: 1, cpu: a.cpu, memory: a.memory },
        quota: a.quota, createNamespace: true,
      });
      new ResourceQuotaPolicy(chart, 'quota', {
        namespace: 'shop', quota: a.quota, containerDefault: { cpu: a.cpu, memory: a.memory }, containerMax: { cpu: a.quota.cpu },
      });
    };
    const typed = rendered(build, true);
    expect(typed).toEqual(rendered(build, false));
    const web = typed.find(o => o.kind === 'Deployment' && o.metadata.name === 'web');
    expect(web.spec.template.spec.containers[0].resources).toEqual({ limits: { cpu: '400m', memory: '256Mi' },
      requests: { cpu: '400m', memory: '256Mi' } });
  });

  test('a bad Cpu or Size is refused with the amount as cdk8s-plus and cdk8s spell it', () => {
    const { chart } = newChart();
    expect(thrown(() => new ResourceQuotaPolicy(chart, 'quota', { namespace: 'shop', quota: { cpu: Cpu.units(0), memory: Size.gibibytes(1) },
      containerMax: { memory: Size.mebibytes(0) } }))).toBe([
      'ResourceQuotaPolicy "quota": quota.cpu must be greater than zero, got "0"',
      'ResourceQuotaPolicy "quota": containerMax.memory must be greater than zero, got "0Ki"',
    ].join('\n'));
  });
});
