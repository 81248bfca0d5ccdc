import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { enforceRequestsEqualLimits, ResourceQuotaPolicy } from './index';

/**
 * The reference stack, rendered into dist/ by `npm run synth`.
 */
export function buildApp(app: App): App {
  new FlaskNamespaceChart(app, 'flask');
  enforceRequestsEqualLimits(app);
  return app;
}

class FlaskNamespaceChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    new ResourceQuotaPolicy(this, 'quota', {
      namespace: 'flask-ns',
      quota: { cpu: '8', memory: '8Gi' },
      pods: 30,
      services: 5,
      objectCounts: { 'services.loadbalancers': 0 },
      containerDefault: { cpu: '100m', memory: '128Mi' },
      containerMax: { cpu: '2', memory: '2Gi' },
    });
  }
}

if (require.main === module) {
  buildApp(new App()).synth();
}
