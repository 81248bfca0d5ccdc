import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import { appHpas, hpaMatchers } from './autoscaling-alerts';
import { ksmLabelName } from '../workloads/filler-query';
import { KSM_JOB } from '../core/ksm-labels';
import { standardLabels } from '../core/labels';
import { assertDnsLabel, assertDnsSubdomain, describe } from '../core/assertions';
import { FILLER_POD_LABEL, OpportunisticFiller } from '../workloads/opportunistic-filler';
import { Problems } from '../core/problems';
import { promqlSyntaxError } from '../core/promql';

/** Props of {@link CapacityDashboard}. */
export interface CapacityDashboardProps {
  /**
   * Name of the ConfigMap, and of the dashboard's file (`<name>.json`).
   * @default "autoscaling-capacity"
   */
  readonly name?: string;
  /**
   * Namespace of the ConfigMap: Grafana's, or any when the sidecar searches all namespaces.
   * @default "monitoring"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace too, labelled for Pod Security "restricted" (shared with the other constructs of the app that create
   * it). Set it when nothing else creates the namespace.
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * Title of the dashboard.
   * @default "Autoscaling capacity"
   */
  readonly title?: string;
  /**
   * Stable uid of the dashboard (at most 40 of `A-Za-z0-9_-`), so links survive.
   * @default "autoscaling-capacity"
   */
  readonly uid?: string;
  /**
   * The label the Grafana dashboard sidecar looks for (`sidecar.dashboards.label` / `labelValue` of the Grafana chart).
   * @default { grafana_dashboard: "1" }
   */
  readonly sidecarLabels?: Record<string, string>;
  /**
   * Grafana folder, through the sidecar's `k8s-sidecar-target-directory` annotation (needs `foldersFromFilesStructure`).
   * @default - the sidecar's default folder
   */
  readonly folder?: string;
}

/** A target of a panel. */
export interface DashboardTarget {
  /** `A`, `B`, ... */
  readonly refId: string;
  /** PromQL. */
  readonly expr: string;
  /** Legend. */
  readonly legendFormat: string;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const SERIES_PANEL_WIDTH = 12;
const PANEL_HEIGHT = 8;

/**
 * A Grafana dashboard of the cluster's capacity and the app's autoscaling,
 * in a ConfigMap the Grafana dashboard sidecar loads: per resource, the
 * cluster's allocatable, what paying workloads request, what fillers hold,
 * and what is free; each filler's replicas against its free slots; for
 * every HPA of the app, current, desired, min and max replicas and its
 * metrics against their targets. Queries come from the same places as the
 * HPAs and alerts (the filler's own slots query, the HPAs as rendered), so
 * names cannot disagree; each is checked by the Prometheus grammar at synth.
 */
export class CapacityDashboard extends Construct {
  /** The ConfigMap. */
  public readonly configMap: ApiObject;
  private readonly title: string;
  private readonly uid: string;

  constructor(scope: Construct, id: string, props: CapacityDashboardProps = {}) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const name = props.name ?? 'autoscaling-capacity';
    const namespace = props.namespace ?? 'monitoring';
    this.title = props.title ?? 'Autoscaling capacity';
    this.uid = props.uid ?? 'autoscaling-capacity';
    problems.check(() => assertDnsSubdomain(name, where, 'name'));
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(this.uid)) problems.add(`uid "${this.uid}" must be 1 to 40 of A-Za-z0-9_- (Grafana refuses others)`);
    if (!this.title.trim()) problems.add('title must not be empty (Grafana refuses a dashboard without one)');
    checkCreateNamespace(props.createNamespace, namespace, problems);
    problems.throwIfAny();

    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: {
        name, namespace,
        labels: { ...standardLabels(name, 'dashboard'), ...(props.sidecarLabels ?? { grafana_dashboard: '1' }) },
        ...(props.folder ? { annotations: { 'k8s-sidecar-target-directory': props.folder } } : {}),
      },
      data: { [`${name}.json`]: Lazy.any({ produce: () => `${JSON.stringify(this.model(), null, 2)}\n` }) as any },
    });
    this.node.addValidation({ validate: () => this.targets().flatMap(t => {
      const error = promqlSyntaxError(t.expr);
      return error ? [`${where}: panel query ${t.expr} is not valid PromQL: ${error}`] : [];
    }) });
    if (props.createNamespace) renderNamespace(this, namespace);
    finishConstruct(this);
  }

  /** Every panel query of the dashboard, as the app renders it now. */
  public targets(): DashboardTarget[] {
    return this.panels().flatMap(p => p.targets ?? []);
  }

  /** The dashboard's JSON model (classic schema, as file provisioning loads it). */
  public model(): Record<string, unknown> {
    return {
      title: this.title,
      uid: this.uid,
      schemaVersion: 39,
      editable: false,
      tags: ['autoscaling', 'cdk8s-autoscaling'],
      time: { from: 'now-6h', to: 'now' },
      refresh: '1m',
      templating: { list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', hide: 0, current: {} }] },
      panels: this.panels(),
    };
  }

  private panels(): any[] {
    const root = this.node.root;
    const layout = new Layout();
    const out: any[] = [layout.row('Cluster capacity')];
    for (const [resource, unit] of [['cpu', 'cores'], ['memory', 'bytes']] as const) {
      out.push(layout.series(`Cluster ${resource}`, unit === 'bytes' ? 'bytes' : 'short', capacityTargets(resource)));
    }
    const fillers = root.node.findAll().filter((c): c is OpportunisticFiller => c instanceof OpportunisticFiller);
    if (fillers.length) {
      out.push(layout.row('Fillers'));
      for (const f of fillers) out.push(layout.series(`Filler ${f.name}: replicas and free slots`, 'short', fillerTargets(root, f)));
    }
    const hpas = appHpas(root);
    if (hpas.length) {
      out.push(layout.row('Autoscalers'));
      for (const h of hpas) {
        const sel = hpaMatchers(h.namespace, [h.name]);
        out.push(layout.series(`${h.namespace}/${h.name}: replicas`, 'short', [
          target('A', `kube_horizontalpodautoscaler_status_current_replicas{${sel}}`, 'current'),
          target('B', `kube_horizontalpodautoscaler_status_desired_replicas{${sel}}`, 'desired'),
          target('C', `kube_horizontalpodautoscaler_spec_min_replicas{${sel}}`, 'min'),
          target('D', `kube_horizontalpodautoscaler_spec_max_replicas{${sel}}`, 'max'),
        ]));
        out.push(layout.series(`${h.namespace}/${h.name}: metrics against their targets`, 'short', [
          target('A', `kube_horizontalpodautoscaler_status_target_metric{${sel}}`, '{{metric_name}} {{metric_target_type}}'),
          target('B', `kube_horizontalpodautoscaler_spec_target_metric{${sel}}`, '{{metric_name}} {{metric_target_type}} target'),
        ]));
      }
    }
    return out;
  }
}

function target(refId: string, expr: string, legendFormat: string): DashboardTarget {
  return { refId, expr, legendFormat };
}

/** Requests of the pods that hold capacity (Pending or Running), of one resource, by namespace and pod. */
function activeRequests(resource: string): string {
  return `(kube_pod_container_resource_requests{${KSM_JOB},resource="${resource}"} * on (namespace, pod) group_left () `
    + `(max by (namespace, pod) (kube_pod_status_phase{${KSM_JOB},phase=~"Pending|Running"}) == 1))`;
}

/** Allocatable, paying workloads' requests, fillers' requests, free. */
function capacityTargets(resource: string): DashboardTarget[] {
  const fillerPods = `kube_pod_labels{${KSM_JOB},${ksmLabelName(FILLER_POD_LABEL)}!=""}`;
  const allocatable = `sum(kube_node_status_allocatable{${KSM_JOB},resource="${resource}"})`;
  return [
    target('A', allocatable, 'allocatable'),
    target('B', `sum(${activeRequests(resource)} unless on (namespace, pod) ${fillerPods})`, 'requested by paying workloads'),
    target('C', `sum(${activeRequests(resource)} and on (namespace, pod) ${fillerPods}) or vector(0)`, 'held by fillers'),
    target('D', `${allocatable} - sum(${activeRequests(resource)})`, 'free'),
  ];
}

function fillerTargets(root: IConstruct, f: OpportunisticFiller): DashboardTarget[] {
  const hpa = appHpas(root).find(h => h.name === f.hpa.name && h.namespace === f.hpa.metadata.namespace);
  return [
    target('A', `kube_horizontalpodautoscaler_status_current_replicas{${hpaMatchers(hpa?.namespace ?? 'filler', [f.hpa.name])}}`, 'replicas'),
    target('B', f.query, 'free slots (beyond the reserve)'),
  ];
}

/** Panels on Grafana's 24-column grid, two per line, with ids in order. */
class Layout {
  private id = 0;
  private y = 0;
  private x = 0;

  public row(title: string): any {
    this.newLine();
    const panel = { id: ++this.id, type: 'row', title, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y: this.y } };
    this.y += 1;
    return panel;
  }

  public series(title: string, unit: string, targets: DashboardTarget[]): any {
    const panel = {
      id: ++this.id, type: 'timeseries', title, datasource: DATASOURCE,
      gridPos: { h: PANEL_HEIGHT, w: SERIES_PANEL_WIDTH, x: this.x, y: this.y },
      fieldConfig: { defaults: { unit }, overrides: [] },
      targets: targets.map(t => ({ ...t, datasource: DATASOURCE, range: true })),
    };
    this.x += SERIES_PANEL_WIDTH;
    if (this.x >= 24) this.newLine();
    return panel;
  }

  private newLine(): void {
    if (this.x > 0) this.y += PANEL_HEIGHT;
    this.x = 0;
  }
}
