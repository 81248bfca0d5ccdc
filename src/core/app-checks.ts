import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { DNS_LABEL_RULE, describe, isDnsLabel } from './assertions';
import { podSecurityLabels } from './labels';
import { Problems } from './problems';
import { AppContext, AppSlot } from './app-context';
import { appConstructs, renderedJson } from './render-pass';

/** Kinds that live outside namespaces (the ones a cdk8s app commonly renders). */
const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'APIService', 'PriorityClass',
  'CustomResourceDefinition', 'StorageClass', 'CSIDriver', 'IngressClass', 'RuntimeClass',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding', 'PriorityLevelConfiguration', 'FlowSchema', 'VolumeAttachment',
]);

/** The library's constructs of an app, and the cluster-scoped objects whose Chart namespace they removed. */
interface Library {
  readonly constructs: Set<IConstruct>;
  readonly unnamespaced: Set<ApiObject>;
}

/**
 * The checks every app using this library gets, registered once per app:
 * every Chart's namespace is a DNS label; no cluster-scoped object carries
 * a namespace; no two objects share kind, namespace and name.
 */
const LIBRARY = new AppSlot<Library>('the library constructs of the app', root => {
  const library: Library = { constructs: new Set(), unnamespaced: new Set() };
  root.node.addValidation({ validate: () => appProblems(root, library) });
  return library;
});

function appProblems(root: IConstruct, library: Library): string[] {
  const out: string[] = [];
  const seen = new Map<string, IConstruct>();
  for (const c of appConstructs(root)) {
    if (Chart.isChart(c) && c.namespace !== undefined && !isDnsLabel(c.namespace)) {
      out.push(`Chart "${c.node.path}": namespace "${c.namespace}" is not a valid DNS label (${DNS_LABEL_RULE})`);
    }
    if (!ApiObject.isApiObject(c)) continue;
    const clusterScoped = CLUSTER_SCOPED_KINDS.has(c.kind);
    if (clusterScoped && c.metadata.namespace !== undefined && !library.unnamespaced.has(c) && renderedJson(c).metadata?.namespace !== undefined) {
      out.push(`${c.kind} "${c.name}" (${c.node.path}) is cluster-scoped but carries namespace "${c.metadata.namespace}" (its Chart's); `
        + 'create it in a Chart without a namespace, or remove the field with addJsonPatch(JsonPatch.remove("/metadata/namespace"))');
    }
    const key = `${c.kind} ${clusterScoped ? '' : `${c.metadata.namespace ?? 'default'}/`}${c.name}`;
    const first = seen.get(key);
    if (first) {
      out.push(`two objects are ${c.apiVersion} ${key}: ${ownerOf(first, library)} and ${ownerOf(c, library)}; the second would overwrite the first `
        + `when applied. `
        + `Rename one`);
    } else {
      seen.set(key, c);
    }
  }
  return out;
}

/** How a message names the construct that rendered an object: the outermost library construct above it, or its path. */
function ownerOf(obj: IConstruct, library: Library): string {
  let owner: IConstruct | undefined;
  for (let s = obj.node.scope; s; s = s.node.scope) {
    if (library.constructs.has(s)) owner = s;
  }
  return owner ? `${describe(owner)} (${obj.node.path})` : obj.node.path;
}

/**
 * Finishes a library construct: its cluster-scoped objects lose the
 * namespace a namespaced Chart gives every object, and the app-wide checks
 * are registered.
 */
export function finishConstruct(construct: IConstruct): void {
  const library = AppContext.of(construct).get(LIBRARY);
  library.constructs.add(construct);
  for (const c of construct.node.findAll()) {
    if (ApiObject.isApiObject(c) && CLUSTER_SCOPED_KINDS.has(c.kind) && c.metadata.namespace !== undefined && !library.unnamespaced.has(c)) {
      c.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
      library.unnamespaced.add(c);
    }
  }
  registerAppChecks(construct);
}

/**
 * Makes sure the app of `scope` gets every app-wide check of this library
 * (the ones above and those registered with {@link registerAppCheck}).
 * Each library construct calls it, and so does `enforceRequestsEqualLimits`,
 * so an app of plain cdk8s and cdk8s-plus objects gets them too.
 */
export function registerAppChecks(scope: IConstruct): void {
  AppContext.of(scope).get(LIBRARY);
  for (const register of APP_CHECKS) register(scope);
}

/**
 * The registrations of the app-wide checks of the folders above core/ (every
 * HPA, Pod Security, ...): each is called for every library construct, so
 * an app with any construct of this library gets every check, whichever
 * constructs it uses. Registered by the modules that define the checks.
 */
const APP_CHECKS: ((scope: IConstruct) => void)[] = [];

/** Adds a registration that {@link finishConstruct} calls for every library construct (it must be idempotent per app). */
export function registerAppCheck(register: (scope: IConstruct) => void): void {
  APP_CHECKS.push(register);
}

/** The objects several constructs of the app share, by `kind/name`. */
const SHARED = new AppSlot('objects several constructs share', () => new Map<string, SharedEntry>());

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
  const shared = AppContext.of(owner).get(SHARED);
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

/** Namespaces every cluster has: a GitOps tool that owned one could prune it. */
const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** Records in `problems` what is wrong with a construct's `createNamespace` for `namespace`: the namespaces every cluster has are not the app's. */
export function checkCreateNamespace(createNamespace: boolean | undefined, namespace: string, problems: Problems): void {
  if (createNamespace && SYSTEM_NAMESPACES.has(namespace)) {
    problems.add(`createNamespace: namespace "${namespace}" exists in every cluster and must not be owned by the app (pruning it would break `
      + 'the cluster); drop createNamespace, or choose another namespace');
  }
}

/**
 * The Namespace of a construct that creates its own, labelled for Pod
 * Security "restricted" (what every workload of this library meets);
 * rendered once however many constructs of the app ask for it.
 */
export function renderNamespace(owner: IConstruct, name: string): ApiObject {
  const labels = podSecurityLabels('restricted');
  return renderOnce(owner, 'Namespace', name, { labels }, () => new k8s.KubeNamespace(owner, 'Namespace', { metadata: { name, labels } }));
}
