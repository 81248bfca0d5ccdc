import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { CA_DEFAULTS, ClusterAutoscaler, ClusterAutoscalerSettings, Expander, PriorityTier } from './cluster-autoscaler';
import { milliOf } from './replica-calculator';
import { DEFAULT_EXPENDABLE_CUTOFF } from '../core/priorities';
import { amountText, CpuAmount, MemoryAmount } from '../core/quantity';

/**
 * The capacity under the HPAs of a simulation: nodes in node groups, the
 * scheduler placing pods on them (with preemption), and cluster-autoscaler
 * adding and removing nodes. A model, not a port: what it keeps and what it
 * leaves out is listed in docs/constructs.md ("Capacity in the simulator").
 */

/** A time span: a `Duration`, or a number of seconds (as JSON scenario files give it). */
export type Seconds = Duration | number;

/** A node group of a simulated cluster. */
export interface SimulatedNodeGroup {
  /** The node group's name: what the priority expander's regular expressions are matched against (an AWS ASG's name, ...). */
  readonly name: string;
  /** Allocatable cpu of one node (`Cpu`, a quantity, or cores). */
  readonly cpu: CpuAmount | number;
  /** Allocatable memory of one node (`Size`, a quantity, or bytes). */
  readonly memory: MemoryAmount | number;
  /** Fewest nodes: cluster-autoscaler never removes below it. */
  readonly minNodes: number;
  /** Most nodes: cluster-autoscaler never adds above it. */
  readonly maxNodes: number;
  /**
   * Nodes at the start, Ready.
   * @default - minNodes
   */
  readonly initialNodes?: number;
  /**
   * Time from cluster-autoscaler's scale-up to the new node being Ready for pods.
   * @default Duration.minutes(3)
   */
  readonly provisionTime?: Seconds;
}

/** Pods already running that no HPA of the simulation scales: requests in total, as `replicas` equal pods. */
export interface SimulatedOtherPods {
  /** cpu requested by all of them together. */
  readonly cpu: CpuAmount | number;
  /** memory requested by all of them together. */
  readonly memory: MemoryAmount | number;
  /**
   * How many pods share those requests equally.
   * @default - one per initial node
   */
  readonly replicas?: number;
  /**
   * Their priority (they preempt only pods below it, and pods at or below it never preempt them).
   * @default 0
   */
  readonly priority?: number;
}

/** Buffer (overprovisioning) pods: pause pods that hold room and are preempted first. */
export interface SimulatedBufferPods {
  /** Number of buffer pods. */
  readonly replicas: number;
  /** cpu of each. */
  readonly cpu: CpuAmount | number;
  /** memory of each. */
  readonly memory: MemoryAmount | number;
  /**
   * Their priority: at or above the expendable cutoff (so a Pending one makes cluster-autoscaler add a node) and below every workload.
   * @default -10
   */
  readonly priority?: number;
  /**
   * A CapacityBuffer instead of pause pods: no pod runs; cluster-autoscaler keeps room for `replicas` virtual pods in its own view of
   * the cluster (where pods below its cutoff take no room), adding a node when they do not fit and keeping the nodes they need.
   * @default false
   */
  readonly capacityBuffer?: boolean;
}

/** A cluster for `simulate` and `simulateCluster`: node groups, cluster-autoscaler, and the pods no HPA scales. */
export interface SimulatedCluster {
  /** The node groups. */
  readonly nodeGroups: SimulatedNodeGroup[];
  /**
   * The cluster-autoscaler: the app's `ClusterAutoscaler`, its settings, or `false` for none (nodes never change).
   * @default - cluster-autoscaler with upstream's defaults
   */
  readonly clusterAutoscaler?: ClusterAutoscaler | ClusterAutoscalerSettings | false;
  /**
   * Pods already running, not scaled.
   * @default - none
   */
  readonly otherPods?: SimulatedOtherPods;
  /**
   * Buffer pods.
   * @default - none
   */
  readonly bufferPods?: SimulatedBufferPods;
}

/** What a load function sees of the cluster at a sync. */
export interface ClusterView {
  /** This HPA's pods that are Pending (not on a node). */
  readonly pendingPods: number;
  /**
   * The OpportunisticFiller's metric on the simulated cluster, for the HPA being synced: node by node, the pods like its own that fit
   * beside every other pod (its own pods do not count as used), summed over Ready nodes, minus the pods the others' Pending pods need,
   * minus `reservePods`, never below zero.
   */
  slots(reservePods?: number): number;
}

/** A pod of the simulation: an owner's (a workload's, the other pods', the buffer's) copy, on a node or Pending. */
interface Pod {
  readonly owner: Owner;
  /** Seconds; -Infinity for the pods at the start. */
  readonly createdAt: number;
  node?: SimNode;
  /** When it turned (or turns) Ready: its owner's startup after binding; Infinity while Pending. */
  readyAt: number;
}

/**
 * Who keeps a number of pods alike: a workload's ReplicaSet, the other pods, the buffer.
 * @internal
 */
export interface Owner {
  readonly priority: number;
  /** Requests of one pod, milli-units. */
  readonly cpu: number;
  readonly memory: number;
  /** Seconds from binding to Ready. */
  readonly startup: number;
  /** Its pods, in creation order. */
  readonly pods: Pod[];
  /** The longest any of its pods was Pending, seconds. */
  longestPending: number;
}

interface SimNode {
  readonly group: Group;
  /** Creation order, for ties. */
  readonly seq: number;
  readonly launchedAt: number;
  readonly readyAt: number;
  removedAt: number;
  usedCpu: number;
  usedMemory: number;
  readonly pods: Set<Pod>;
  /** Since when cluster-autoscaler has found it unneeded (NaN: it has not). */
  unneededSince: number;
}

interface Group {
  readonly index: number;
  readonly name: string;
  readonly cpu: number;
  readonly memory: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly initialNodes: number;
  readonly provisionTime: number;
}

/** cluster-autoscaler's settings in seconds, and the expander as a chain of names. */
interface AutoscalerRun {
  readonly scanInterval: number;
  readonly unneededTime: number;
  readonly delayAfterAdd: number;
  readonly threshold: number;
  readonly cutoff: number;
  readonly expander: readonly string[];
  readonly tiers: readonly PriorityTier[];
}

/** Time from scale-up to a Ready node when a node group gives none. */
const DEFAULT_PROVISION_TIME = 180;
const EXPANDERS = ['least-waste', 'most-pods', 'least-nodes', 'random', 'priority'];
/** Empty nodes cluster-autoscaler removes at once (`--max-empty-bulk-delete`); non-empty ones go one per scan. */
const MAX_EMPTY_BULK_DELETE = 10;

/**
 * Nodes per group at one time: Ready ones, and the ones still provisioning.
 * @internal
 */
export interface NodeCount {
  /** Ready nodes per node group. */
  readonly nodes: Readonly<Record<string, number>>;
  /** Nodes cluster-autoscaler added that are not Ready yet (all groups). */
  readonly provisioningNodes: number;
}

/**
 * The simulated cluster: nodes, pods and cluster-autoscaler, advanced from
 * event to event (nodes turning Ready, cluster-autoscaler's scans) between
 * the HPAs' syncs, with a scheduling pass after each.
 * @internal
 */
export class ClusterModel {
  public readonly groups: readonly Group[];
  private readonly autoscaler?: AutoscalerRun;
  private readonly nodes: SimNode[] = [];
  /** Nodes cluster-autoscaler removed, for node-hours. */
  private readonly removed: SimNode[] = [];
  private readonly owners: Owner[] = [];
  private readonly buffer?: { readonly owner: Owner; readonly replicas: number };
  /** A CapacityBuffer's virtual pods: one size, `replicas` of them, seen only by cluster-autoscaler. */
  private readonly virtual?: { readonly pod: { readonly cpu: number; readonly memory: number }; readonly replicas: number };
  private pending: Pod[] = [];
  private now = 0;
  private nextScan = 0;
  private lastScaleUp = -Infinity;
  private seq = 0;
  private counted?: NodeCount;

  /** Checks the cluster (throws every problem, one line each) and builds its initial nodes, other pods and buffer pods. */
  constructor(cluster: SimulatedCluster) {
    const out: string[] = [];
    const groups = checkGroups(cluster, out);
    const autoscaler = checkAutoscaler(cluster?.clusterAutoscaler, groups, out);
    const other = cluster?.otherPods !== undefined ? checkPods(cluster.otherPods, 'otherPods', out) : undefined;
    const buffer = cluster?.bufferPods !== undefined ? checkPods(cluster.bufferPods, 'bufferPods', out) : undefined;
    const given = cluster?.clusterAutoscaler;
    if (cluster?.bufferPods?.capacityBuffer && (given === false || (given instanceof ClusterAutoscaler && !given.capacityBuffers))) {
      out.push(`cluster.bufferPods.capacityBuffer: ${given === false ? 'without cluster-autoscaler nothing keeps its room; give one'
        : `the ClusterAutoscaler (${given.node.path}) runs without capacityBuffers, so it keeps no room for it; set capacityBuffers: true on it`}`);
    }
    if (out.length) throw new Error(out.join('\n'));
    this.groups = groups;
    this.autoscaler = autoscaler;
    for (const g of groups) for (let i = 0; i < g.initialNodes; i++) this.launch(g, -Infinity, -Infinity);
    if (other) {
      const replicas = cluster.otherPods!.replicas ?? Math.max(1, this.nodes.length);
      const owner = this.owner(cluster.otherPods!.priority ?? 0, Math.ceil(other.cpu / replicas), Math.ceil(other.memory / replicas),
        0);
      this.checkFit(owner, 'cluster.otherPods', out);
      this.addStartingPods(owner, replicas);
    }
    if (buffer && cluster.bufferPods!.capacityBuffer) {
      this.checkFit(buffer, 'cluster.bufferPods', out);
      this.virtual = { pod: buffer, replicas: cluster.bufferPods!.replicas };
    } else if (buffer) {
      const owner = this.owner(cluster.bufferPods!.priority ?? DEFAULT_EXPENDABLE_CUTOFF, buffer.cpu, buffer.memory, 0);
      this.checkFit(owner, 'cluster.bufferPods', out);
      this.buffer = { owner, replicas: cluster.bufferPods!.replicas };
    }
    if (out.length) throw new Error(out.join('\n'));
  }

  /** A new owner of pods (a workload's ReplicaSet): requests of one pod in milli-units, and its startup in seconds. */
  public owner(priority: number, cpu: number, memory: number, startup: number): Owner {
    const o: Owner = { priority, cpu, memory, startup, pods: [], longestPending: 0 };
    this.owners.push(o);
    return o;
  }

  /** Pods that exist at the start (created long ago), placed by the first scheduling pass (`start`). */
  public addStartingPods(owner: Owner, count: number): void {
    for (let i = 0; i < count; i++) this.addPod(owner, -Infinity);
  }

  /** Throws when an owner's pod fits on no node of any group: it would stay Pending for ever. */
  public checkOwner(owner: Owner, where: string): void {
    const out: string[] = [];
    this.checkFit(owner, where, out);
    if (out.length) throw new Error(out.join('\n'));
  }

  /**
   * The first scheduling pass, once every workload has added its starting pods: the buffer pods join (last, as the lowest priority
   * but the fillers'), then every starting pod is placed by priority; those placed are Ready from the start.
   */
  public start(): void {
    if (this.buffer) this.addStartingPods(this.buffer.owner, this.buffer.replicas);
    this.schedule(-Infinity);
  }

  /** Nodes turning Ready and cluster-autoscaler's scans, in time order, up to and including `time`, each followed by a scheduling pass. */
  public advanceTo(time: number): void {
    for (;;) {
      const next = Math.min(this.autoscaler ? this.nextScan : Infinity, this.nextNodeReady());
      if (next > time) break;
      this.now = next;
      this.schedule(next);
      if (this.autoscaler && next === this.nextScan) {
        this.scan(next, this.autoscaler);
        this.nextScan += this.autoscaler.scanInterval;
        this.schedule(next);
      }
    }
    this.now = time;
  }

  /** The ReplicaSet creates `count` pods of `owner` now; they are Pending until a scheduling pass binds them. */
  public create(owner: Owner, count: number, time: number): void {
    for (let i = 0; i < count; i++) this.addPod(owner, time);
  }

  /**
   * The ReplicaSet deletes `count` pods of `owner`, in its order: Pending pods first, then pods not Ready yet, then Ready ones; the newest
   * first within each.
   */
  public remove(owner: Owner, count: number, time: number): void {
    const rank = (p: Pod) => (!p.node ? 0 : p.readyAt > time ? 1 : 2);
    const victims = owner.pods.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || b.i - a.i).slice(0, count).map(v => v.p);
    for (const p of victims) this.deletePod(p, time);
  }

  /** A scheduling pass at `time`: Pending pods by priority (then age), each bound to the node the scheduler scores best, or preempting. */
  public schedule(time: number): void {
    if (!this.pending.length) return;
    const queue = this.pending.slice().sort((a, b) => b.owner.priority - a.owner.priority || olderFirst(a, b));
    this.pending = [];
    const evicted: Pod[] = [];
    for (const pod of queue) {
      const node = this.bestNode(pod, time) ?? this.preempt(pod, time, evicted);
      if (node) this.bind(pod, node, time);
      else this.pending.push(pod);
    }
    // The owners of preempted pods create replacements, which the next pass places.
    for (const p of evicted) this.addPod(p.owner, time);
  }

  /** Pending pods of an owner. */
  public pendingOf(owner: Owner): number {
    let n = 0;
    for (const p of owner.pods) if (!p.node) n++;
    return n;
  }

  /** Ready nodes per group and nodes provisioning, now (the same object while they do not change). */
  public nodeCount(): NodeCount {
    const nodes: Record<string, number> = Object.fromEntries(this.groups.map(g => [g.name, 0]));
    let provisioningNodes = 0;
    for (const n of this.nodes) {
      if (n.readyAt <= this.now) nodes[n.group.name]++;
      else provisioningNodes++;
    }
    const c = this.counted;
    if (c && c.provisioningNodes === provisioningNodes && this.groups.every(g => c.nodes[g.name] === nodes[g.name])) return c;
    this.counted = { nodes, provisioningNodes };
    return this.counted;
  }

  /** What a load function of `owner`'s HPA sees. */
  public view(owner: Owner): ClusterView {
    return { pendingPods: this.pendingOf(owner), slots: (reservePods = 0) => this.slots(owner, reservePods) };
  }

  /** Node-hours per group over `[0, duration]`, and the longest Pending time of each owner, counting pods still Pending at the end. */
  public finish(duration: number): Record<string, number> {
    for (const o of this.owners) for (const p of o.pods) if (!p.node) this.notePending(p, duration);
    const seconds: Record<string, number> = Object.fromEntries(this.groups.map(g => [g.name, 0]));
    for (const n of [...this.nodes, ...this.removed]) {
      seconds[n.group.name] += Math.max(0, Math.min(n.removedAt, duration) - Math.max(n.launchedAt, 0));
    }
    return Object.fromEntries(Object.entries(seconds).map(([g, s]) => [g, Math.round(s / 36) / 100]));
  }

  private launch(group: Group, at: number, readyAt: number): void {
    this.nodes.push({ group, seq: this.seq++, launchedAt: at, readyAt, removedAt: Infinity, usedCpu: 0, usedMemory: 0, pods: new Set(),
      unneededSince: NaN });
  }

  private addPod(owner: Owner, time: number): void {
    const pod: Pod = { owner, createdAt: time, readyAt: Infinity };
    owner.pods.push(pod);
    this.pending.push(pod);
  }

  private deletePod(pod: Pod, time: number): void {
    const pods = pod.owner.pods;
    pods.splice(pods.indexOf(pod), 1);
    if (pod.node) {
      this.unbind(pod);
    } else {
      this.pending.splice(this.pending.indexOf(pod), 1);
      this.notePending(pod, time);
    }
  }

  private notePending(pod: Pod, until: number): void {
    const o = pod.owner;
    o.longestPending = Math.max(o.longestPending, until - Math.max(0, pod.createdAt));
  }

  private bind(pod: Pod, node: SimNode, time: number): void {
    pod.node = node;
    pod.readyAt = time === -Infinity ? -Infinity : time + pod.owner.startup;
    node.pods.add(pod);
    node.usedCpu += pod.owner.cpu;
    node.usedMemory += pod.owner.memory;
    if (time !== -Infinity) this.notePending(pod, time);
  }

  private unbind(pod: Pod): void {
    const node = pod.node!;
    node.pods.delete(pod);
    node.usedCpu -= pod.owner.cpu;
    node.usedMemory -= pod.owner.memory;
    pod.node = undefined;
  }

  private nextNodeReady(): number {
    let next = Infinity;
    for (const n of this.nodes) if (n.readyAt > this.now && n.readyAt < next) next = n.readyAt;
    return next;
  }

  private isReady(n: SimNode, time: number): boolean {
    return n.readyAt <= time;
  }

  /**
   * The Ready node the default scheduler scores best for `pod` (NodeResourcesFit, LeastAllocated: the most cpu and memory left, as
   * fractions of allocatable, averaged), the oldest on a tie; undefined when it fits on none.
   */
  private bestNode(pod: Pod, time: number): SimNode | undefined {
    const { cpu, memory } = pod.owner;
    let best: SimNode | undefined;
    let bestScore = -Infinity;
    for (const n of this.nodes) {
      if (!this.isReady(n, time)) continue;
      const freeCpu = n.group.cpu - n.usedCpu - cpu;
      const freeMemory = n.group.memory - n.usedMemory - memory;
      if (freeCpu < 0 || freeMemory < 0) continue;
      const score = (freeCpu / n.group.cpu + freeMemory / n.group.memory) / 2;
      if (score > bestScore) {
        best = n;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * Preemption: the Ready node where evicting pods of lower priority (the lowest first, then the newest) makes room, choosing the node
   * whose highest victim priority is lowest, then the fewest victims, then the oldest node. The victims go at once (pause pods and
   * fillers end quickly) and are listed in `evicted`.
   */
  private preempt(pod: Pod, time: number, evicted: Pod[]): SimNode | undefined {
    const { cpu, memory, priority } = pod.owner;
    let best: { node: SimNode; victims: Pod[]; top: number } | undefined;
    for (const n of this.nodes) {
      if (!this.isReady(n, time) || cpu > n.group.cpu || memory > n.group.memory) continue;
      const lower = [...n.pods].filter(p => p.owner.priority < priority)
        .sort((a, b) => a.owner.priority - b.owner.priority || olderFirst(b, a));
      let freeCpu = n.group.cpu - n.usedCpu;
      let freeMemory = n.group.memory - n.usedMemory;
      const victims: Pod[] = [];
      for (const v of lower) {
        if (freeCpu >= cpu && freeMemory >= memory) break;
        victims.push(v);
        freeCpu += v.owner.cpu;
        freeMemory += v.owner.memory;
      }
      if (freeCpu < cpu || freeMemory < memory || !victims.length) continue;
      const top = Math.max(...victims.map(v => v.owner.priority));
      if (!best || top < best.top || (top === best.top && victims.length < best.victims.length)) best = { node: n, victims, top };
    }
    if (!best) return undefined;
    for (const v of best.victims) {
      this.deletePod(v, time);
      evicted.push(v);
    }
    return best.node;
  }

  /** One cluster-autoscaler loop: a scale-up for the Pending pods it can help, else the scale-down bookkeeping and removals. */
  private scan(time: number, ca: AutoscalerRun): void {
    if (this.scaleUp(time, ca)) {
      this.lastScaleUp = time;
      return;
    }
    this.scaleDown(time, ca);
  }

  /**
   * Pending pods at or above the cutoff that would not fit on the nodes already provisioning get one node group grown: the one the
   * expander chooses among the groups below their max whose empty node fits some of them, by as many nodes as first-fit-decreasing
   * packing of those pods needs (capped at the group's max).
   */
  private scaleUp(time: number, ca: AutoscalerRun): boolean {
    let pods: PodSize[] = this.pending.filter(p => p.owner.priority >= ca.cutoff).map(p => p.owner);
    // A CapacityBuffer's virtual pods that do not fit in the room it sees on Ready nodes wait like Pending pods.
    if (this.virtual) {
      const ready = this.caView(this.nodes.filter(n => this.isReady(n, time)), ca);
      for (let i = 0; i < this.virtual.replicas; i++) if (!firstFit(ready, this.virtual.pod)) pods.push(this.virtual.pod);
    }
    if (!pods.length) return false;
    // Nodes on their way count as room (cluster-autoscaler adds template nodes for them to its snapshot).
    const upcoming = this.nodes.filter(n => !this.isReady(n, time)).map(n => ({ group: n.group, cpu: n.usedCpu, memory: n.usedMemory }));
    pods = pods.filter(p => !firstFit(upcoming, p));
    if (!pods.length) return false;
    const options: ScaleUpOption[] = [];
    for (const g of this.groups) {
      const room = g.maxNodes - this.nodes.filter(n => n.group === g).length;
      if (room <= 0) continue;
      const fitting = pods.filter(p => p.cpu <= g.cpu && p.memory <= g.memory).sort((a, b) => size(b, g) - size(a, g));
      if (!fitting.length) continue;
      const bins: Bin[] = [];
      let helped = 0;
      let cpu = 0;
      let memory = 0;
      for (const p of fitting) {
        if (!firstFit(bins, p)) {
          if (bins.length === room) continue;
          bins.push({ group: g, cpu: p.cpu, memory: p.memory });
        }
        helped++;
        cpu += p.cpu;
        memory += p.memory;
      }
      options.push({ group: g, nodes: bins.length, pods: helped, cpu, memory });
    }
    const chosen = expand(options, ca);
    if (!chosen) return false;
    for (let i = 0; i < chosen.nodes; i++) this.launch(chosen.group, time, time + chosen.group.provisionTime);
    return true;
  }

  /**
   * Nodes below the utilization threshold whose pods (at or above the cutoff) all fit on the other nodes are unneeded, as many per group
   * as keep it at its min; unneeded for `unneededTime`, past `delayAfterAdd` since the last scale-up, they are removed (empty ones in bulk,
   * others one per scan) and their pods' owners create them anew.
   */
  private scaleDown(time: number, ca: AutoscalerRun): void {
    const counts = new Map(this.groups.map(g => [g, this.nodes.filter(n => n.group === g).length]));
    const view = this.caView(this.nodes, ca);
    // A CapacityBuffer's virtual pods take room on the Ready nodes, first fit, as cluster-autoscaler injects them into its snapshot.
    const virtualOn = new Map<SimNode, PodSize[]>(this.nodes.map(n => [n, []]));
    for (let i = 0; i < (this.virtual?.replicas ?? 0); i++) {
      const bin = view.find(b => this.isReady(b.node, time) && fits(b, this.virtual!.pod));
      if (!bin) break;
      bin.cpu += this.virtual!.pod.cpu;
      bin.memory += this.virtual!.pod.memory;
      virtualOn.get(bin.node)!.push(this.virtual!.pod);
    }
    const used = new Map(view.map(b => [b.node, { cpu: b.cpu, memory: b.memory }]));
    const unneeded = new Set<SimNode>();
    for (const n of this.nodes) {
      const mine: PodSize[] = [...[...n.pods].filter(p => p.owner.priority >= ca.cutoff).map(p => p.owner), ...virtualOn.get(n)!];
      const load = used.get(n)!;
      const utilization = Math.max(load.cpu / n.group.cpu, load.memory / n.group.memory);
      const allowed = counts.get(n.group)! - n.group.minNodes > [...unneeded].filter(u => u.group === n.group).length;
      const others = this.nodes.filter(o => o !== n && !unneeded.has(o) && this.isReady(o, time))
        .map(o => ({ node: o, group: o.group, ...used.get(o)! }));
      const moved = this.isReady(n, time) && utilization < ca.threshold && allowed ? placeAll(others, mine) : undefined;
      if (!moved) {
        n.unneededSince = NaN;
        continue;
      }
      unneeded.add(n);
      if (Number.isNaN(n.unneededSince)) n.unneededSince = time;
      for (const b of moved) used.set(b.node, { cpu: b.cpu, memory: b.memory });
    }
    if (time < this.lastScaleUp + ca.delayAfterAdd) return;
    const due = [...unneeded].filter(n => n.unneededSince <= time - ca.unneededTime)
      .sort((a, b) => a.unneededSince - b.unneededSince || a.seq - b.seq);
    const empty = due.filter(n => kept(n, ca).pods === 0 && !virtualOn.get(n)!.length).slice(0, MAX_EMPTY_BULK_DELETE);
    const drained = empty.length ? [] : due.slice(0, 1);
    for (const n of [...empty, ...drained]) this.removeNode(n, time);
  }

  /** Nodes as cluster-autoscaler sees them: their requests from pods at or above its cutoff. */
  private caView(nodes: SimNode[], ca: AutoscalerRun): (Bin & { readonly node: SimNode })[] {
    return nodes.map(n => {
      const k = kept(n, ca);
      return { node: n, group: n.group, cpu: k.cpu, memory: k.memory };
    });
  }

  /** Removes a node: its pods are evicted and their owners create them anew (Pending until the next pass). */
  private removeNode(node: SimNode, time: number): void {
    for (const p of [...node.pods]) {
      this.deletePod(p, time);
      this.addPod(p.owner, time);
    }
    node.removedAt = time;
    this.nodes.splice(this.nodes.indexOf(node), 1);
    this.removed.push(node);
  }

  /** The filler's metric for `owner` (see ClusterView.slots). */
  private slots(owner: Owner, reservePods: number): number {
    const { cpu, memory } = owner;
    let slots = 0;
    for (const n of this.nodes) {
      if (!this.isReady(n, this.now)) continue;
      let usedCpu = n.usedCpu;
      let usedMemory = n.usedMemory;
      for (const p of n.pods) {
        if (p.owner !== owner) continue;
        usedCpu -= cpu;
        usedMemory -= memory;
      }
      slots += Math.max(0, Math.min(Math.floor((n.group.cpu - usedCpu) / cpu), Math.floor((n.group.memory - usedMemory) / memory)));
    }
    let pendingCpu = 0;
    let pendingMemory = 0;
    for (const p of this.pending) {
      if (p.owner === owner) continue;
      pendingCpu += p.owner.cpu;
      pendingMemory += p.owner.memory;
    }
    const needed = Math.max(Math.ceil(pendingCpu / cpu), Math.ceil(pendingMemory / memory));
    return Math.max(0, slots - needed - reservePods);
  }

  private checkFit(o: PodSize, where: string, out: string[]): void {
    if (this.groups.some(g => o.cpu <= g.cpu && o.memory <= g.memory)) return;
    out.push(`${where}: a pod requests ${o.cpu / 1000} cpu and ${formatBytes(o.memory / 1000)} memory, more than a node of any group has `
      + `(${this.groups.map(g => `${g.name}: ${g.cpu / 1000} cpu, ${formatBytes(g.memory / 1000)}`).join('; ')}); it would stay Pending for ever`);
  }
}

/** Creation order (the starting pods, created at -Infinity, alike). */
function olderFirst(a: Pod, b: Pod): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

/** A node's requests from pods at or above the cutoff (the only ones cluster-autoscaler sees), and how many such pods. */
function kept(n: SimNode, ca: AutoscalerRun): { cpu: number; memory: number; pods: number } {
  let cpu = 0;
  let memory = 0;
  let pods = 0;
  for (const p of n.pods) {
    if (p.owner.priority < ca.cutoff) continue;
    cpu += p.owner.cpu;
    memory += p.owner.memory;
    pods++;
  }
  return { cpu, memory, pods };
}

/** A node's requests in a packing. */
interface Bin {
  readonly group: Group;
  cpu: number;
  memory: number;
}

/** A pod's requests, milli-units. */
interface PodSize {
  readonly cpu: number;
  readonly memory: number;
}

/** Whether a pod fits in a bin's room. */
function fits(b: Bin, pod: PodSize): boolean {
  return b.cpu + pod.cpu <= b.group.cpu && b.memory + pod.memory <= b.group.memory;
}

/** Puts a pod on the first bin with room; false when none has. */
function firstFit(bins: Bin[], pod: PodSize): boolean {
  for (const b of bins) {
    if (fits(b, pod)) {
      b.cpu += pod.cpu;
      b.memory += pod.memory;
      return true;
    }
  }
  return false;
}

/** The bins after placing every pod first-fit, or undefined when one does not fit. */
function placeAll<B extends Bin>(bins: B[], pods: PodSize[]): B[] | undefined {
  for (const p of pods) if (!firstFit(bins, p)) return undefined;
  return bins;
}

/** A pod's size on a group's node, for first-fit-decreasing: its cpu and memory fractions. */
function size(o: PodSize, g: Group): number {
  return o.cpu / g.cpu + o.memory / g.memory;
}

/** A node group cluster-autoscaler could grow, and what that would do. */
interface ScaleUpOption {
  readonly group: Group;
  readonly nodes: number;
  readonly pods: number;
  readonly cpu: number;
  readonly memory: number;
}

/**
 * The expander chain: each filters the options, the first left wins (upstream breaks the last tie at random; the simulator takes the
 * first group in the order given, so runs repeat).
 */
function expand(options: ScaleUpOption[], ca: AutoscalerRun): ScaleUpOption | undefined {
  let left = options;
  for (const name of ca.expander) {
    if (left.length <= 1) break;
    left = filterOptions(name, left, ca.tiers);
  }
  return left[0];
}

function filterOptions(name: string, options: ScaleUpOption[], tiers: readonly PriorityTier[]): ScaleUpOption[] {
  const best = (score: (o: ScaleUpOption) => number, lowest: boolean) => {
    const scores = options.map(score);
    const top = lowest ? Math.min(...scores) : Math.max(...scores);
    return options.filter((_, i) => Math.abs(scores[i] - top) < 1e-12);
  };
  switch (name) {
    case 'least-waste':
      return best(o => (o.nodes * o.group.cpu - o.cpu) / (o.nodes * o.group.cpu) + (o.nodes * o.group.memory - o.memory) / (o.nodes * o.group.memory),
        true);
    case 'most-pods':
      return best(o => o.pods, false);
    case 'least-nodes':
      return best(o => o.nodes, true);
    case 'priority': {
      // Unanchored matches, the highest matching tier per group; groups matching no tier drop out, unless none matches at all.
      const priorityOf = (o: ScaleUpOption) => Math.max(-1, ...tiers.filter(t => t.nodeGroups.some(r => new RegExp(r).test(o.group.name)))
        .map(t => t.priority));
      const matched = options.filter(o => priorityOf(o) >= 0);
      return matched.length ? best(priorityOf, false).filter(o => priorityOf(o) >= 0) : options;
    }
    default:
      return options;
  }
}

/** A time span in seconds. */
export function secondsOf(value: Seconds): number {
  return value instanceof Duration ? value.toSeconds() : value;
}

/** A time span of the cluster in seconds, or 0 with a problem when it is not one >= 0. */
function seconds(value: Seconds, field: string, out: string[]): number {
  const n = secondsOf(value);
  if (typeof n !== 'number' || !(n >= 0) || !Number.isFinite(n)) {
    out.push(`${field} must be a Duration or a number of seconds >= 0, got ${value}`);
    return 0;
  }
  return n;
}

/** An amount in milli-units (a `Cpu`, a `Size`, a quantity, or a number of base units), or NaN with a problem. */
function milli(value: CpuAmount | MemoryAmount | number | undefined, field: string, out: string[]): number {
  try {
    if (value instanceof Cpu || value instanceof Size) return milliOf(amountText(value));
    if (typeof value === 'number' || typeof value === 'string') {
      const m = milliOf(value);
      if (m > 0) return m;
    }
  } catch {
    // reported below
  }
  out.push(`${field} must be a positive amount (Cpu or Size, a quantity such as "4" or "16Gi", or a number), got ${JSON.stringify(value)}`);
  return NaN;
}

function checkGroups(cluster: SimulatedCluster, out: string[]): Group[] {
  if (!cluster || !Array.isArray(cluster.nodeGroups) || !cluster.nodeGroups.length) {
    out.push('cluster.nodeGroups: give at least one node group ({ name, cpu, memory, minNodes, maxNodes })');
    return [];
  }
  const names = new Set<string>();
  return cluster.nodeGroups.map((g, index) => {
    const where = `cluster.nodeGroups[${index}]${g?.name ? ` ("${g.name}")` : ''}`;
    if (!g?.name) out.push(`${where}: name is required`);
    else if (names.has(g.name)) out.push(`${where}: the name is used twice; each node group once`);
    names.add(g?.name);
    const minNodes = g?.minNodes;
    const maxNodes = g?.maxNodes;
    const initialNodes = g?.initialNodes ?? minNodes;
    if (!Number.isInteger(minNodes) || !Number.isInteger(maxNodes) || minNodes < 0 || maxNodes < Math.max(1, minNodes)) {
      out.push(`${where}: minNodes and maxNodes must be whole numbers with 0 <= minNodes <= maxNodes and maxNodes >= 1, got ${minNodes} and `
        + `${maxNodes}`);
    } else if (!Number.isInteger(initialNodes) || initialNodes < minNodes || initialNodes > maxNodes) {
      out.push(`${where}: initialNodes must be a whole number from minNodes (${minNodes}) to maxNodes (${maxNodes}), got ${initialNodes}`);
    }
    return {
      index, name: g?.name, minNodes, maxNodes, initialNodes,
      cpu: milli(g?.cpu, `${where}.cpu`, out), memory: milli(g?.memory, `${where}.memory`, out),
      provisionTime: seconds(g?.provisionTime ?? DEFAULT_PROVISION_TIME, `${where}.provisionTime`, out),
    };
  });
}

function checkAutoscaler(given: SimulatedCluster['clusterAutoscaler'], groups: Group[], out: string[]): AutoscalerRun | undefined {
  if (given === false) return undefined;
  const s: ClusterAutoscalerSettings = given instanceof ClusterAutoscaler ? given.settings : (given ?? {});
  const where = given instanceof ClusterAutoscaler ? `cluster.clusterAutoscaler (${given.node.path})` : 'cluster.clusterAutoscaler';
  const run = {
    scanInterval: seconds(s.scanInterval ?? CA_DEFAULTS.scanInterval, `${where}.scanInterval`, out),
    unneededTime: seconds(s.scaleDownUnneededTime ?? CA_DEFAULTS.scaleDownUnneededTime, `${where}.scaleDownUnneededTime`, out),
    delayAfterAdd: seconds(s.scaleDownDelayAfterAdd ?? CA_DEFAULTS.scaleDownDelayAfterAdd, `${where}.scaleDownDelayAfterAdd`, out),
    threshold: s.scaleDownUtilizationThreshold ?? CA_DEFAULTS.scaleDownUtilizationThreshold,
    cutoff: s.expendablePodsPriorityCutoff ?? CA_DEFAULTS.expendablePodsPriorityCutoff,
    ...expanderOf(s, where, out),
  };
  if (!(run.scanInterval > 0)) out.push(`${where}.scanInterval must be above 0`);
  if (!(run.threshold > 0 && run.threshold <= 1)) {
    out.push(`${where}.scaleDownUtilizationThreshold must be above 0 and at most 1, got ${run.threshold}`);
  }
  if (!Number.isInteger(run.cutoff)) out.push(`${where}.expendablePodsPriorityCutoff must be a whole number, got ${run.cutoff}`);
  const maxProvision = seconds(s.maxNodeProvisionTime ?? CA_DEFAULTS.maxNodeProvisionTime, `${where}.maxNodeProvisionTime`, out);
  for (const g of groups) {
    if (g.provisionTime >= maxProvision) {
      out.push(`cluster.nodeGroups[${g.index}] ("${g.name}"): provisionTime ${g.provisionTime} s is not below maxNodeProvisionTime `
        + `(${maxProvision} s): cluster-autoscaler would give its nodes up; shorten it or raise maxNodeProvisionTime`);
    }
  }
  return run;
}

function expanderOf(s: ClusterAutoscalerSettings, where: string, out: string[]):
{ expander: readonly string[]; tiers: readonly PriorityTier[] } {
  const e = s.expander;
  if (e instanceof Expander) return { expander: e._names, tiers: e._tiers ?? [] };
  const name = e ?? 'least-waste';
  if (!EXPANDERS.includes(name)) {
    out.push(`${where}.expander "${name}" is not one the simulator follows; use an Expander or one of ${EXPANDERS.join(', ')}`);
    return { expander: [], tiers: [] };
  }
  if (name !== 'priority') return { expander: [name], tiers: [] };
  if (!s.priorities?.length) out.push(`${where}.expander "priority" needs priorities: [{ priority, nodeGroups: [regular expressions] }, ...]`);
  return { expander: ['priority', 'least-waste'], tiers: s.priorities ?? [] };
}

function checkPods(p: SimulatedOtherPods | SimulatedBufferPods, field: string, out: string[]): { cpu: number; memory: number } {
  const replicas = p?.replicas;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < (field === 'bufferPods' ? 0 : 1))) {
    out.push(`cluster.${field}.replicas must be a whole number >= ${field === 'bufferPods' ? 0 : 1}, got ${replicas}`);
  }
  if (field === 'bufferPods' && replicas === undefined) out.push('cluster.bufferPods.replicas is required');
  if (p?.priority !== undefined && !Number.isInteger(p.priority)) out.push(`cluster.${field}.priority must be a whole number, got ${p.priority}`);
  return { cpu: milli(p?.cpu, `cluster.${field}.cpu`, out), memory: milli(p?.memory, `cluster.${field}.memory`, out) };
}

/** Bytes as the largest binary unit that keeps one decimal. */
function formatBytes(bytes: number): string {
  for (const [unit, n] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= n) return `${Math.round((bytes / n) * 10) / 10}${unit}`;
  }
  return `${bytes}`;
}
