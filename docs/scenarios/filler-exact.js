// This library's design: an External metric counting the filler pods that fit
// (free capacity minus the 30-core reserve, in 1-core slots), independent of
// the filler's own replicas, with an AverageValue target of 1.
const { ALLOCATABLE, OTHERS, burst, base } = require('./filler-cluster');
const RESERVE = 30;

module.exports = {
  ...base,
  load: { metrics: { miner_filler_slots: ({ time }) => Math.max(0, ALLOCATABLE - OTHERS - RESERVE - burst(time)) } },
};
