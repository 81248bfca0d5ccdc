import { k8s } from 'cdk8s-plus-27';
import { CpuAmount, MemoryAmount, parseQuantity, Quantity } from './quantity';

/**
 * The cpu and memory of one container. Rendered as requests and limits of
 * the same amounts (Guaranteed QoS).
 */
export interface ResourceAmounts {
  /**
   * CPU: `Cpu.millis(250)`, or a Kubernetes quantity (`"250m"`, `"1"`, `"1.5"`).
   */
  readonly cpu: CpuAmount;
  /**
   * Memory: `Size.mebibytes(256)`, or a Kubernetes quantity (`"256Mi"`, `"1Gi"`).
   */
  readonly memory: MemoryAmount;
}

/** Parsed, validated resource amounts. */
export interface ParsedAmounts {
  /** cpu, parsed. */
  readonly cpu: Quantity;
  /** memory, parsed. */
  readonly memory: Quantity;
}

/**
 * Parses and checks `amounts` (both present, valid and positive); `where`
 * and `field` name them in the error.
 */
export function parseAmounts(amounts: ResourceAmounts | undefined, where: string, field = 'resources'): ParsedAmounts {
  if (!amounts || amounts.cpu === undefined || amounts.memory === undefined) {
    throw new Error(`${where}: ${field} must set both cpu and memory (e.g. { cpu: "250m", memory: "256Mi" }); they are rendered as requests == `
      + `limits`);
  }
  const cpu = parseQuantity(amounts.cpu, `${where}: ${field}.cpu`);
  const memory = parseQuantity(amounts.memory, `${where}: ${field}.memory`);
  for (const [name, q] of [['cpu', cpu], ['memory', memory]] as const) {
    if (!q.isPositive) {
      throw new Error(`${where}: ${field}.${name} must be greater than zero, got "${q}"`);
    }
  }
  return { cpu, memory };
}

/** A parsed quantity as the L1 classes' `k8s.Quantity`, spelled as written. */
export function toK8sQuantity(q: Quantity): k8s.Quantity {
  return k8s.Quantity.fromString(q.toString());
}

/**
 * Container resources with requests == limits (Guaranteed QoS), validated.
 */
export function guaranteedResources(amounts: ResourceAmounts | undefined, where: string, field = 'resources'): k8s.ResourceRequirements {
  const parsed = parseAmounts(amounts, where, field);
  const list = { cpu: toK8sQuantity(parsed.cpu), memory: toK8sQuantity(parsed.memory) };
  return { requests: list, limits: { ...list } };
}
