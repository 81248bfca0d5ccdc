// The public API of cdk8s-autoscaling.
export * from './quantity';
export * from './policy';
export * from './resources';
export * from './resource-quota-policy';
export * from './metrics-server';
export * from './promql';
export * from './prom-adapter';
export {
  DescribedObject, QuantityTarget, ScalingMetric, ScalingPolicy, ScalingPolicyType, ScalingRules, SelectPolicy,
} from './hpa';
export * from './scalable-flask-app';
export * from './filler-query';
export * from './opportunistic-filler';
export * from './validation-plugin';
