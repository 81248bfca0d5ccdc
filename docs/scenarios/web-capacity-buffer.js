// The full cluster of web-capacity.json, with a node's worth of buffer pods (four of 1 cpu, priority -10): web's new pods
// preempt them at once, and it is the buffer pods that wait for cluster-autoscaler's node.
const base = require('./web-capacity.json');

module.exports = { ...base, cluster: { ...base.cluster, bufferPods: { replicas: 4, cpu: '1', memory: '1Gi' } } };
