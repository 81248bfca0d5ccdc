import { checkRequestsEqualLimits, RequestsEqualLimitsOptions } from './requests-equal-limits';

/**
 * The parts of cdk8s-cli's `ValidationContext` the plugin uses (declared
 * here so the library needs no cdk8s-cli at run time or for its types).
 */
export interface PluginValidationContext {
  /** Paths of the synthesized manifests. */
  readonly manifests: readonly string[];
  /** Parses one manifest file into its objects. */
  parseManifest(manifestPath: string): any[];
  /** The report the violations go to. */
  readonly report: {
    addViolation(violation: {
      ruleName: string;
      recommendation: string;
      fix: string;
      violatingResources: { resourceName: string; locations: readonly string[]; manifestPath: string }[];
    }): void;
    submit(status: 'success' | 'failure', metadata?: { [key: string]: string }): void;
  };
  /** Logger of the CLI. */
  readonly logger: { log(message: string): void };
}

/** What the plugin's report says the rule buys, and what it costs. */
export const PLUGIN_RECOMMENDATION = 'Every container needs cpu and memory requests, and limits equal to them. That buys Guaranteed QoS (the last '
  + 'pods evicted '
  + 'under node pressure), no memory overcommit (a node never promises more memory than it has), predictable scheduling (the scheduler '
  + 'places what the pod will use) and real requests for autoscalers to divide by. It costs bursting: a cpu limit throttles the container '
  + 'at its request, so size cpu for the load you want served, and memory for the peak.';

/**
 * The requests == limits policy as a cdk8s-cli validation plugin, for the
 * output of any cdk8s app (including ones that do not use this library's
 * constructs). In `cdk8s.yaml`:
 *
 * ```yaml
 * validations:
 *   - package: ./node_modules/cdk8s-autoscaling
 *     version: 0.1.0
 *     class: RequestsEqualLimitsValidation
 *     properties:
 *       allowMissingCpuLimit: false
 * ```
 *
 * `cdk8s synth` then exits 2 and prints a report when any container lacks
 * cpu or memory requests, or has limits that differ from them.
 */
export class RequestsEqualLimitsValidation {
  private readonly options: RequestsEqualLimitsOptions;

  constructor(properties: RequestsEqualLimitsOptions = {}) {
    this.options = { allowMissingCpuLimit: properties.allowMissingCpuLimit === true };
  }

  /**
   * Checks every object of every synthesized manifest and submits the report:
   * `failure` (cdk8s synth exits 2) when any container breaks the rule.
   */
  public async validate(context: PluginValidationContext): Promise<void> {
    const violatingResources: { resourceName: string; locations: string[]; manifestPath: string }[] = [];
    let objects = 0;
    for (const manifestPath of context.manifests) {
      for (const obj of context.parseManifest(manifestPath)) {
        if (!obj || typeof obj !== 'object') continue;
        objects++;
        const violations = checkRequestsEqualLimits(obj, this.options);
        if (violations.length) {
          violatingResources.push({
            resourceName: obj.metadata?.name ?? '<unnamed>',
            locations: violations.map(v => `${v.path}: ${v.message}`),
            manifestPath,
          });
        }
      }
    }
    if (violatingResources.length) {
      context.report.addViolation({
        ruleName: 'requests-equal-limits',
        recommendation: PLUGIN_RECOMMENDATION,
        fix: 'Set resources.requests.cpu/memory and resources.limits.cpu/memory of each listed container to the same values.',
        violatingResources,
      });
    }
    context.report.submit(violatingResources.length ? 'failure' : 'success', { objects: String(objects) });
  }
}
