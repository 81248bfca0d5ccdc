import { ApiObject, App, Chart, IResolver, JsonPatch, Lazy, ResolutionContext, Testing, Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { enforceRequestsEqualLimits, ScalableFlaskApp } from '../src';
import { buildApp } from '../src/main';
import {
  declaredFallback, fallbackOf, memoizedRender, MemoizedKubeDeployment, MemoizedKubeHorizontalPodAutoscalerV2, MemoizedKubePodDisruptionBudget,
  MemoizedKubeService,
} from '../src/core/fast-render';
import { KEPT_RENDERING, renderedJson } from '../src/core/render-pass';
import { thrown } from './helpers';

const SidecarlessApp = (chart: Chart, id: string, sidecars?: k8s.Container[]) => new ScalableFlaskApp(chart, id, {
  image: 'example/flask:1', resources: { cpu: '250m', memory: '256Mi' }, maxReplicas: 4, sidecars,
});

/**
 * Counts the renderings of Deployments: cdk8s's and this library's both
 * apply the object's JSON patches once per rendering.
 */
function countRenders(): { readonly count: () => number; readonly restore: () => void } {
  const spy = jest.spyOn(JsonPatch, 'apply');
  return { count: () => spy.mock.calls.filter(([doc]) => doc?.kind === 'Deployment').length, restore: () => spy.mockRestore() };
}

/** What cdk8s itself renders for `obj`: the L1 class's own toJson, past the memo and the fast path. */
const cdk8sRendering = (obj: any) => Object.getPrototypeOf(Object.getPrototypeOf(obj)).toJson.call(obj);
const MEMOIZED = [MemoizedKubeDeployment, MemoizedKubeService, MemoizedKubeHorizontalPodAutoscalerV2, MemoizedKubePodDisruptionBudget];
// not instanceof: ApiObject overrides it
const memoizedIn = (app: App): ApiObject[] => app.node.findAll().filter((c): c is ApiObject => MEMOIZED.some(cls => cls.prototype.isPrototypeOf(c)));

/** The YAML cdk8s would write: values, key order, and undefined properties (as null); JSON where YAML cannot hold a value (a function). */
const written = (json: any) => { try { return Yaml.stringify(json); } catch { return JSON.stringify(json, null, 1); } };
const expectSameRendering = (obj: ApiObject) => expect(written(obj.toJson())).toBe(written(cdk8sRendering(obj)));

const deploymentOf = (docs: any[]) => docs.find(d => d.kind === 'Deployment');

describe('memoizedRender', () => {
  afterEach(() => jest.restoreAllMocks());

  test('a checked workload is rendered once per synth, though cdk8s validates once per chart and once more', () => {
    const app = Testing.app();
    const charts = ['a', 'b', 'c'].map(id => new Chart(app, id, { disableResourceNameHashes: true }));
    charts.forEach((c, i) => SidecarlessApp(c, `web${i}`));
    enforceRequestsEqualLimits(app);
    const renders = countRenders();
    const yaml = app.synthYaml();
    expect(renders.count()).toBe(3); // without the memo: 3 x (4 validation passes + 1 to write) = 15
    expect(yaml.match(/^kind: Deployment$/gm)).toHaveLength(3);
    app.synthYaml();
    expect(renders.count()).toBe(3); // nothing changed, nothing rendered again
  });

  test('toJson hands out a copy: changing it does not change the next synth', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
    SidecarlessApp(chart, 'web');
    const first = Testing.synth(chart);
    deploymentOf(first).spec.template.spec.containers[0].image = 'tampered';
    expect(deploymentOf(Testing.synth(chart)).spec.template.spec.containers[0].image).toBe('example/flask:1');
  });

  test('a JSON patch added after a synth is rendered and checked', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
    const web = SidecarlessApp(chart, 'web');
    expect(() => Testing.synth(chart)).not.toThrow();
    web.deployment.addJsonPatch(JsonPatch.remove('/spec/template/spec/containers/0/resources/limits/memory'));
    expect(() => Testing.synth(chart)).toThrow('Deployment web, container "flask": memory limit is missing, request is 256Mi');
  });

  test('metadata changed after a synth is rendered', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
    const web = SidecarlessApp(chart, 'web');
    Testing.synth(chart);
    web.deployment.metadata.addLabel('team', 'payments');
    web.deployment.metadata.addAnnotation('note', 'x');
    const md = deploymentOf(Testing.synth(chart)).metadata;
    expect(md.labels.team).toBe('payments');
    expect(md.annotations.note).toBe('x');
  });

  test('props are captured at construction: changing an object passed in later changes nothing', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
    const sidecar: any = { name: 'proxy', image: 'example/proxy:1', resources: {
      requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') },
      limits: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') } } };
    SidecarlessApp(chart, 'web', [sidecar]);
    sidecar.image = 'changed';
    sidecar.resources.limits.memory = k8s.Quantity.fromString('1Gi');
    const proxy = deploymentOf(Testing.synth(chart)).spec.template.spec.containers[1];
    expect(proxy.image).toBe('example/proxy:1');
    expect(proxy.resources.limits.memory).toBe('64Mi');
  });

  test('an object whose props hold a Lazy is rendered every time, so the Lazy stays live', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    let image = 'example/a:1';
    const dep = new MemoizedKubeDeployment(chart, 'lazy', { metadata: { name: 'lazy' }, spec: {
      selector: { matchLabels: { app: 'lazy' } },
      template: { metadata: { labels: { app: 'lazy' } }, spec: { containers: [{ name: 'c', image: Lazy.any({ produce: () => image }) as any }] } },
    } });
    expect(dep.toJson().spec.template.spec.containers[0].image).toBe('example/a:1');
    image = 'example/b:2';
    expect(dep.toJson().spec.template.spec.containers[0].image).toBe('example/b:2');
  });

  test('an app with its own resolvers is rendered every time', () => {
    let n = 0;
    const counting: IResolver = { resolve: (ctx: ResolutionContext) => { if (ctx.value === 'COUNT') ctx.replaceValue(`v${++n}`); } };
    const app = new App({ resolvers: [counting] });
    const chart = new Chart(app, 'c');
    const Cm = memoizedRender(k8s.KubeConfigMap, k8s.toJson_KubeConfigMapProps);
    const cm = new Cm(chart, 'cm', { data: { v: 'COUNT' } });
    expect(cm.toJson().data.v).toBe('v1');
    expect(cm.toJson().data.v).toBe('v2');
  });

  test('the subclass keeps the L1 class name and is an instance of it', () => {
    const chart = Testing.chart();
    const dep = new MemoizedKubeDeployment(chart, 'd', { spec: { selector: {}, template: {} } });
    expect(dep).toBeInstanceOf(k8s.KubeDeployment);
    expect(MemoizedKubeDeployment.name).toBe('KubeDeployment');
  });

  describe('renders exactly what cdk8s renders', () => {
    afterEach(() => { delete process.env.CDK8S_DISABLE_SORT; });

    test.each([['sorted keys', undefined], ['CDK8S_DISABLE_SORT', '1']])('every object of the reference stack (%s)', (_, sort) => {
      if (sort) process.env.CDK8S_DISABLE_SORT = sort;
      const objects = memoizedIn(buildApp());
      expect(new Set(objects.map(o => o.kind))).toEqual(new Set(['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']));
      objects.forEach(expectSameRendering);
    });

    test('numbers in Quantity and IntOrString, null and undefined props, empty objects and arrays, patches, metadata added later', () => {
      const chart = Testing.chart();
      const svc = new MemoizedKubeService(chart, 'svc', {
        metadata: { name: 'svc', annotations: undefined, labels: { b: '2', a: '1' } },
        spec: {
          selector: {}, externalIPs: [], clusterIp: null as any, ipFamilies: undefined,
          ports: [{ port: 80, targetPort: k8s.IntOrString.fromNumber(8080) }, { port: 81, targetPort: k8s.IntOrString.fromString('x') }],
        },
      });
      const dep = new MemoizedKubeDeployment(chart, 'dep', { spec: {
        selector: { matchLabels: { z: '1', a: '2' } },
        template: { spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: k8s.Quantity.fromNumber(2),
          memory: k8s.Quantity.fromString('1Gi') } } }] } },
      } });
      [svc, dep].forEach(expectSameRendering);
      svc.metadata.addLabel('later', 'yes');
      svc.metadata.addFinalizers('f');
      dep.addJsonPatch(
        JsonPatch.add('/spec/template/spec/containers/-', { name: 'added', image: 'j' }),
        JsonPatch.replace('/spec/selector/matchLabels/z', '9'),
        JsonPatch.remove('/spec/template/spec/containers/0/resources/limits/cpu'),
        JsonPatch.add('/spec/zzz', 'not in the schema'));
      [svc, dep].forEach(expectSameRendering);
      expect(dep.toJson().spec.template.spec.containers.map((c: any) => c.name)).toEqual(['c', 'added']);
    });

    test('data the L1 converter changes is rendered by cdk8s: unknown keys, a bare number for an IntOrString, a copied Quantity, null', () => {
      const chart = Testing.chart();
      const svc = new MemoizedKubeService(chart, 'svc', {
        metadata: { name: 'svc' },
        spec: { ports: [{ port: 80, targetPort: 8080 as any, bogus: 'x' } as any] }, // the converter drops both
      });
      const dep = new MemoizedKubeDeployment(chart, 'dep', { spec: {
        selector: {},
        template: { spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: k8s.Quantity.fromString('1') } } }] } },
      } });
      dep.addJsonPatch(
        JsonPatch.copy('/spec/template/spec/containers/0/resources/limits/cpu', '/spec/template/spec/containers/0/resources/limits/memory'),
        JsonPatch.add('/metadata/labels', { n: null }));
      [svc, dep].forEach(expectSameRendering);
      expect(svc.toJson().spec.ports).toEqual([{ port: 80 }]);
      expect(dep.toJson().spec.template.spec.containers[0].resources.limits).toEqual({ cpu: '1', memory: '1' });
      expect(dep.toJson().metadata.labels).toEqual({ n: null });
    });

    test('the L1 converter runs once per shape of data, not once per object', () => {
      const converter = jest.fn(k8s.toJson_KubeServiceProps);
      const Svc = memoizedRender(k8s.KubeService, converter);
      const chart = Testing.chart();
      const svc = (name: string, labels: Record<string, string>, targetPort: any = k8s.IntOrString.fromNumber(8080)) => new Svc(chart, name, {
        metadata: { name, labels }, spec: { ports: [{ port: 80, targetPort }] },
      });
      const same = ['a', 'b', 'c'].map(name => svc(name, { app: name }));
      same.forEach(expectSameRendering);
      expect(converter).toHaveBeenCalledTimes(1); // b and c have a's shape: only the values differ
      const other = svc('d', { app: 'd', tier: 'web' });
      expectSameRendering(other);
      expect(converter).toHaveBeenCalledTimes(2); // one more label key: a new shape
      other.addJsonPatch(JsonPatch.add('/spec/zzz', 'not in the schema'));
      expectSameRendering(other);
      expectSameRendering(other);
      expect(converter).toHaveBeenCalledTimes(3); // a shape the converter changes: tried once, then left to cdk8s
      const bareString = svc('e', { app: 'e' }, 'http'); // a string, not an IntOrString: the converter drops it
      expectSameRendering(bareString);
      expect(bareString.toJson().spec.ports).toEqual([{ port: 80 }]);
      const unknownKey = new Svc(chart, 'f', { metadata: { name: 'f', labels: { app: 'f' } }, spec: { ports: [{ port: 80,
        zzz: k8s.IntOrString.fromNumber(8080) } as any] } });
      expectSameRendering(unknownKey); // a's shape but for one key's name
      expect(unknownKey.toJson().spec.ports).toEqual([{ port: 80 }]);
      const undefinedLabel = svc('g', { app: 'g' });
      undefinedLabel.addJsonPatch(JsonPatch.add('/metadata/labels/gone', undefined)); // the converter drops it
      expectSameRendering(undefinedLabel);
      expect(undefinedLabel.toJson().metadata.labels).toEqual({ app: 'g' });
    });

    test('a patch that cannot apply fails the way cdk8s reports it', () => {
      const chart = Testing.chart();
      const dep = new MemoizedKubeDeployment(chart, 'dep', { spec: { selector: {}, template: {} } });
      dep.addJsonPatch(JsonPatch.replace('/spec/nothing/here', 1));
      expect(() => dep.toJson()).toThrow(/^Failed serializing construct at path 'test\/dep' with name 'test-dep-c8[0-9a-f]+': /);
      expect(() => cdk8sRendering(dep)).toThrow(/^Failed serializing construct at path 'test\/dep'/);
      expect(thrown(() => dep.toJson())).toBe(thrown(() => cdk8sRendering(dep)));
    });

    test('props holding a function are left to cdk8s', () => {
      const chart = Testing.chart();
      const dep = new MemoizedKubeDeployment(chart, 'dep', { spec: { selector: {},
        template: { metadata: { annotations: { f: (() => 1) as any } } } } });
      expectSameRendering(dep);
      const renders = countRenders();
      renderedJson(dep);
      renderedJson(dep);
      expect(renders.count()).toBe(2); // nothing kept: rendered each time
    });
  });

  test('only generated L1 classes can be memoized', () => {
    expect(() => memoizedRender(ApiObject as any, x => x)).toThrow('memoizedRender: ApiObject is not a generated L1 class (no GVK)');
  });
});

describe('no object of this library falls back to cdk8s\'s rendering unless its construct says so', () => {
  /** Every object on the fast path that cdk8s renders instead, without a declared reason. */
  function undeclaredFallbacks(app: App): string[] {
    for (const c of app.charts) c.toJson(); // render everything, as a synth does
    return app.node.findAll()
      .filter((c): c is ApiObject => ApiObject.isApiObject(c) && KEPT_RENDERING in c)
      .filter(o => fallbackOf(o) !== undefined && declaredFallback(o) === undefined)
      .map(o => `${o.node.path}: ${fallbackOf(o)}`);
  }

  test('the reference stack', () => {
    expect(undeclaredFallbacks(buildApp())).toEqual([]);
  });

  test('the PromAdapter Deployment falls back on purpose (its config checksum is resolved at synth), and says so', () => {
    const app = buildApp();
    for (const c of app.charts) c.toJson();
    const deployment = app.node.findAll().find(c => c.node.path === 'monitoring/prometheus-adapter/Deployment') as ApiObject;
    expect(fallbackOf(deployment)).toBe('its props hold a token (a Lazy, a function or a class instance)');
    expect(declaredFallback(deployment)).toContain('checksum');
  });

  test('the check itself catches an undeclared fallback', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    new MemoizedKubeService(chart, 'lazy', { metadata: { name: 'lazy' }, spec: { ports: [{ port: Lazy.any({ produce: () => 80 }) as any }] } });
    expect(undeclaredFallbacks(app)).toEqual(['c/lazy: its props hold a token (a Lazy, a function or a class instance)']);
  });
});
