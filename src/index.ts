export * from './quantity';
export * from './policy';
export * from './resources';
export * from './resource-quota-policy';
export * from './metrics-server';
