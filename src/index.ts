export * from './quantity';
export * from './policy';
export * from './resources';
export * from './resource-quota-policy';
export * from './metrics-server';
export * from './promql';
export * from './prom-adapter';
