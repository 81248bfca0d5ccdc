import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { App, Chart, Testing, Yaml } from 'cdk8s';

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

const CRD_DIR = path.join(__dirname, '..', 'imports', 'crds');
let crdValidators: Map<string, (obj: any) => string[]> | undefined;

function loadCrdValidators(): Map<string, (obj: any) => string[]> {
  if (crdValidators) return crdValidators;
  crdValidators = new Map();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const file of fs.readdirSync(CRD_DIR).filter(f => f.endsWith('.yaml'))) {
    for (const crd of Yaml.load(path.join(CRD_DIR, file))) {
      for (const v of crd.spec.versions) {
        const validate = ajv.compile(v.schema.openAPIV3Schema);
        crdValidators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, (obj) => validate(obj)
          ? [] : (validate.errors ?? []).map(e => `${e.instancePath} ${e.message}`));
      }
    }
  }
  return crdValidators;
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
