// The public API of cdk8s-autoscaling: every name here is a promise; everything else is internal.

// Metrics APIs
export {
  KubeletAddressType, KubeletCertificateAuthority, KUBELET_INSECURE_TLS_ANNOTATION, MetricsServer, MetricsServerProps,
} from './metrics/metrics-server';
export {
  AdapterMetric, AdapterTls, CounterRateRuleProps, CustomMetricRuleProps, ExternalMetricRuleProps, MetricsApi, PromAdapter, PromAdapterProps,
  ResourceMetricsProps, ResourceOverride, ResourceQueries, SeriesFilter,
} from './metrics/prom-adapter';
export { TestMetricsAdapter, TestMetricsAdapterProps } from './metrics/test-metrics-adapter';

// Scaling
export { Autoscaler, AutoscalerProps } from './scaling/autoscaler';
export { AutoscalerTarget, ScaleTarget, ScaleTargetReference } from './scaling/scale-target';
export {
  DescribedObject, MetricSourceType, MetricTargetType, QuantityTarget, ResourceName, ResourceTarget, ScalingMetric,
} from './scaling/scaling-metric';
export { ScalingPolicy, ScalingPolicyType, ScalingRules, SelectPolicy } from './scaling/scaling-rules';
export { DOWNSCALER_EXCLUDE_ANNOTATION, DownscalerImplementation, OffHoursOptions, ScalingSchedule, ScheduleKind } from './scaling/scaling-schedule';
export { ExternalDownscalerProps, KubeDownscaler, KubeDownscalerProps } from './scaling/kube-downscaler';
export {
  AwsOptions, CloudProvider, ClusterApiOptions, ClusterAutoscaler, ClusterAutoscalerProps, ClusterAutoscalerSettings, Expander, KwokNodeGroup,
  KwokOptions, NodeGroup, PriorityTier, SAFE_TO_EVICT_ANNOTATION, ScaleDownSettings,
} from './scaling/cluster-autoscaler';
export { HpaController, HpaControllerOptions, HpaDecision, HpaManifest, HpaSource, MetricOutcome, Observation } from './scaling/hpa-controller';
export { Amount, ContainerObservation, PodObservation, PodPhase, ResourceObservation } from './scaling/replica-calculator';
export {
  ClusterScenario, ClusterSimulationResult, Load, Scenario, ScenarioLoad, simulate, simulateCluster, SimulatedMetric, SimulatedWorkload,
  SimulationContext, SimulationResult, SimulationStep, SimulationSummary, WorkloadScenario,
} from './scaling/simulate';
export {
  ClusterView, Seconds, SimulatedBufferPods, SimulatedCluster, SimulatedNodeGroup, SimulatedOtherPods,
} from './scaling/simulated-cluster';
export { renderSimulationSvg, SimulationSvgOptions } from './scaling/simulation-svg';

// Workloads
export { FlaskMetricsScraping, FlaskServiceType, ScalableFlaskApp, ScalableFlaskAppProps } from './workloads/scalable-flask-app';
export {
  FILLER_POD_LABEL, FillerBuffer, FillerQuota, FillerReserve, OpportunisticFiller, OpportunisticFillerProps,
} from './workloads/opportunistic-filler';
export { EnvFromSource, EnvKeySource, ExtraVolume, PodSettings } from './core/pod-settings';
export { ResourceAmounts } from './core/resources';

// Policy
export {
  checkRequestsEqualLimits, enforceRequestsEqualLimits, formatViolations, POLICY_KINDS, PolicyViolation, RequestsEqualLimitsOptions,
} from './policy/requests-equal-limits';
export { checkPodSecurity, PodSecurityViolation, restrictPodSecurity } from './policy/pod-security';
export { checkLimitRanges, checkQuotaConstraints, LimitRangeViolation, QuotaViolation } from './policy/pod-admission';
export { ContainerBounds, PodSecurityLevel, QuotaScope, ResourceQuotaPolicy, ResourceQuotaPolicyProps } from './policy/resource-quota-policy';
export { PluginValidationContext, RequestsEqualLimitsValidation } from './policy/validation-plugin';
export { CpuAmount, MemoryAmount, Quantity } from './core/quantity';

// Monitoring
export { KubeStateMetrics, KubeStateMetricsProps } from './monitoring/kube-state-metrics';
export {
  AlertmanagerEndpoint, ExternalPrometheusProps, PrometheusInstance, PrometheusInstanceProps, PrometheusStorage,
} from './monitoring/prometheus-instance';
export { IPrometheus } from './core/prometheus-selection';
export { ServiceMonitor, ServiceMonitorProps } from './monitoring/service-monitor';
export { PodMonitor, PodMonitorProps } from './monitoring/pod-monitor';
export { ScrapeEndpointProps } from './monitoring/scrape-target';
export { AlertRule, AutoscalingAlertDurations, AutoscalingAlerts, AutoscalingAlertsProps } from './monitoring/autoscaling-alerts';
export { CapacityDashboard, CapacityDashboardProps, DashboardTarget } from './monitoring/capacity-dashboard';

// Tooling
export { safeSynth, SafeSynthOptions } from './tooling/safe-synth';
