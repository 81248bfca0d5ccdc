// The public API of cdk8s-autoscaling.
export * from './quantity';
export * from './policy';
export * from './resources';
export * from './resource-quota-policy';
export * from './metrics-server';
export * from './promql';
export * from './prom-adapter';
export { ScalingPolicyType, SelectPolicy, ScalingPolicy, ScalingRules } from './scaling-rules';
export { ScalingMetric, ResourceName, ResourceTarget, QuantityTarget, DescribedObject, MetricSourceType } from './scaling-metric';
export { ScaleTarget, ScaleTargetReference, AutoscalerTarget } from './scale-target';
export { Autoscaler, AutoscalerProps } from './autoscaler';
export * from './scalable-flask-app';
export * from './filler-query';
export * from './opportunistic-filler';
export * from './validation-plugin';
export { EnvFromSource, EnvKeySource, ExtraVolume, PodSettings } from './pod-settings';
export { KubeStateMetrics, KubeStateMetricsProps } from './kube-state-metrics';
export { AlertmanagerEndpoint, ExternalPrometheusProps, PrometheusInstance, PrometheusInstanceProps } from './prometheus-instance';
export { IPrometheus } from './prometheus-selection';
export { AlertRule, AutoscalingAlertDurations, AutoscalingAlerts, AutoscalingAlertsProps } from './autoscaling-alerts';
export { CapacityDashboard, CapacityDashboardProps, DashboardTarget } from './capacity-dashboard';
export { safeSynth, SafeSynthOptions } from './safe-synth';
export {
  Amount, ContainerObservation, HpaController, HpaControllerOptions, HpaDecision, MetricOutcome, Observation, PodObservation, ResourceObservation,
} from './hpa-controller';
export {
  Load, Scenario, ScenarioLoad, simulate, SimulatedMetric, SimulationContext, SimulationResult, SimulationStep, SimulationSummary,
} from './simulate';
export { renderSimulationSvg, SimulationSvgOptions } from './simulation-svg';
