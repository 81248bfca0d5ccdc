import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/**
 * The RBAC every server of an aggregated metrics API needs, shared by
 * MetricsServer and PromAdapter: read the client CA (auth-reader), delegate
 * authentication and authorization (auth-delegator), and let admin, edit and
 * view read metrics.k8s.io (aggregated-metrics-reader).
 */

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The ServiceAccount a metrics server runs as. */
export interface ServerAccount {
  readonly name: string;
  readonly namespace: string;
}

const subject = (sa: ServerAccount) => ({ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace });

/** RoleBinding `<name>-auth-reader` in kube-system to `extension-apiserver-authentication-reader`. */
export function renderAuthReader(scope: Construct, sa: ServerAccount, labels: Record<string, string>): ApiObject {
  return new k8s.KubeRoleBinding(scope, 'AuthReader', {
    metadata: { name: `${sa.name}-auth-reader`, namespace: 'kube-system', labels: { ...labels } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'extension-apiserver-authentication-reader' },
    subjects: [subject(sa)],
  });
}

/** ClusterRoleBinding `<name>:system:auth-delegator` to `system:auth-delegator`. */
export function renderAuthDelegator(scope: Construct, sa: ServerAccount, labels: Record<string, string>): ApiObject {
  return new k8s.KubeClusterRoleBinding(scope, 'AuthDelegator', {
    metadata: { name: `${sa.name}:system:auth-delegator`, labels: { ...labels } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [subject(sa)],
  });
}

/** ClusterRole `system:aggregated-metrics-reader`, aggregated into admin, edit and view. */
export function renderAggregatedMetricsReader(scope: Construct, id: string, labels: Record<string, string>): ApiObject {
  return new k8s.KubeClusterRole(scope, id, {
    metadata: {
      name: 'system:aggregated-metrics-reader',
      labels: {
        ...labels,
        'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
        'rbac.authorization.k8s.io/aggregate-to-view': 'true',
      },
    },
    rules: [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }],
  });
}
