import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { IConstruct } from 'constructs';
import { DNS_LABEL_RULE, describe, isDnsLabel } from './assertions';
import { appConstructs, ensureRenderPass, renderedJson } from './render-pass';

/** Kinds that live outside namespaces (the ones a cdk8s app commonly renders). */
const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'APIService', 'PriorityClass',
  'CustomResourceDefinition', 'StorageClass', 'CSIDriver', 'IngressClass', 'RuntimeClass',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding', 'PriorityLevelConfiguration', 'FlowSchema', 'VolumeAttachment',
]);

const CHECKS = Symbol.for('cdk8s-autoscaling.AppChecks');
const SHARED = Symbol.for('cdk8s-autoscaling.SharedObjects');

/**
 * Registers, once per app, the checks every app using this library gets:
 * every Chart's namespace is a DNS label; no cluster-scoped object carries
 * a namespace; no two objects share kind, namespace and name.
 */
function registerAppChecks(scope: IConstruct): void {
  const root = scope.node.root as any;
  if (root[CHECKS]) return;
  Object.defineProperty(root, CHECKS, { value: true, enumerable: false });
  ensureRenderPass(root);
  root.node.addValidation({ validate: () => appProblems(root) });
}

function appProblems(root: IConstruct): string[] {
  const out: string[] = [];
  const seen = new Map<string, IConstruct>();
  for (const c of appConstructs(root)) {
    if (Chart.isChart(c) && c.namespace !== undefined && !isDnsLabel(c.namespace)) {
      out.push(`Chart "${c.node.path}": namespace "${c.namespace}" is not a valid DNS label (${DNS_LABEL_RULE})`);
    }
    if (!ApiObject.isApiObject(c)) continue;
    const clusterScoped = CLUSTER_SCOPED_KINDS.has(c.kind);
    if (clusterScoped && c.metadata.namespace !== undefined && !(c as any)[UNNAMESPACED] && renderedJson(c).metadata?.namespace !== undefined) {
      out.push(`${c.kind} "${c.name}" (${c.node.path}) is cluster-scoped but carries namespace "${c.metadata.namespace}" (its Chart's); `
        + 'create it in a Chart without a namespace, or remove the field with addJsonPatch(JsonPatch.remove("/metadata/namespace"))');
    }
    const key = `${c.kind} ${clusterScoped ? '' : `${c.metadata.namespace ?? 'default'}/`}${c.name}`;
    const first = seen.get(key);
    if (first) {
      out.push(`two objects are ${c.apiVersion} ${key}: ${ownerOf(first)} and ${ownerOf(c)}; the second would overwrite the first when applied. `
        + `Rename one`);
    } else {
      seen.set(key, c);
    }
  }
  return out;
}

/** How a message names the construct that rendered an object: the outermost library construct above it, or its path. */
function ownerOf(obj: IConstruct): string {
  let owner: IConstruct | undefined;
  for (let s = obj.node.scope; s; s = s.node.scope) {
    if ((s as any)[OWNER]) owner = s;
  }
  return owner ? `${describe(owner)} (${obj.node.path})` : obj.node.path;
}

const OWNER = Symbol.for('cdk8s-autoscaling.Owner');

/**
 * Finishes a library construct: its cluster-scoped objects lose the
 * namespace a namespaced Chart gives every object, and the app-wide checks
 * are registered.
 */
export function finishConstruct(construct: IConstruct): void {
  Object.defineProperty(construct, OWNER, { value: true, enumerable: false, configurable: true });
  for (const c of construct.node.findAll()) {
    if (ApiObject.isApiObject(c) && CLUSTER_SCOPED_KINDS.has(c.kind) && c.metadata.namespace !== undefined && !(c as any)[UNNAMESPACED]) {
      c.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
      Object.defineProperty(c, UNNAMESPACED, { value: true, enumerable: false });
    }
  }
  registerAppChecks(construct);
}

const UNNAMESPACED = Symbol.for('cdk8s-autoscaling.Unnamespaced');

interface SharedEntry {
  readonly owner: IConstruct;
  readonly settings: string;
  readonly object: ApiObject;
}

/**
 * An object that several constructs of one app may need (two fillers and
 * their PriorityClass, two quotas and their Namespace): rendered by the
 * first that asks, reused by the others when they ask for the same settings,
 * refused (naming both constructs) when they ask for different ones.
 */
export function renderOnce(owner: IConstruct, kind: string, name: string, settings: object, render: () => ApiObject): ApiObject {
  const root = owner.node.root as any;
  if (!root[SHARED]) Object.defineProperty(root, SHARED, { value: new Map<string, SharedEntry>(), enumerable: false });
  const shared: Map<string, SharedEntry> = root[SHARED];
  const key = `${kind}/${name}`;
  const text = JSON.stringify(settings);
  const entry = shared.get(key);
  if (!entry) {
    const object = render();
    shared.set(key, { owner, settings: text, object });
    return object;
  }
  if (entry.settings !== text) {
    throw new Error(`${describe(owner)}: ${kind} "${name}" is also rendered by ${describe(entry.owner)} (${entry.owner.node.path}) with other `
      + `settings `
      + `(${entry.settings} there, ${text} here); use the same settings in both, or another name in one`);
  }
  return entry.object;
}
