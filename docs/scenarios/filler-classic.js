// The classic design: the exporter reports allocatable minus the requests of
// every pod, filler pods included (Pending ones too), so the metric falls as
// the filler grows; the HPA multiplies its ratio by the Ready filler pods.
const { ALLOCATABLE, OTHERS, burst, base } = require('./filler-cluster');

module.exports = {
  ...base,
  load: { metrics: { cpu_capacity_remaining: ({ time, replicas }) => ALLOCATABLE - OTHERS - burst(time) - replicas } },
};
