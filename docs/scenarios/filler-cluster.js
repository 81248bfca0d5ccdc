// The seed's cluster: 184 allocatable cores, ~30 cores of other workloads, one
// core per filler pod, and from minute 30 to minute 45 a web-app burst of
// 17 pods x 4 cores = 68 cores.
const ALLOCATABLE = 184;
const OTHERS = 30;
const burst = time => (time >= 1800 && time < 2700 ? 68 : 0);

module.exports = { ALLOCATABLE, OTHERS, burst, base: { duration: 3600, initialReplicas: 15, podStartup: 30 } };
