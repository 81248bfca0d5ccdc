import { IConstruct } from 'constructs';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What a DNS label is, as messages say it. */
export const DNS_LABEL_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

/** Whether `value` is an RFC 1123 DNS label. */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value);
}

/** Whether `value` is an RFC 1123 DNS subdomain. */
export function isDnsSubdomain(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/**
 * How error messages name a construct: `ScalableFlaskApp "web"`.
 */
export function describe(construct: IConstruct): string {
  return `${construct.constructor.name} "${construct.node.id}"`;
}

/**
 * Throws unless `value` is an RFC 1123 DNS label (namespaces, Service and
 * container names): lower-case alphanumerics and '-', at most 63 characters.
 */
export function assertDnsLabel(value: string, where: string, field: string): void {
  if (!isDnsLabel(value)) {
    throw new Error(`${where}: ${field} "${value}" is not a valid DNS label (${DNS_LABEL_RULE})`);
  }
}

/**
 * Throws unless `value` is an RFC 1123 DNS subdomain (most object names), at most 253 characters.
 */
export function assertDnsSubdomain(value: string, where: string, field: string): void {
  if (!isDnsSubdomain(value)) {
    throw new Error(`${where}: ${field} "${value}" is not a valid DNS subdomain name (lower-case letters, digits, '-' and '.', at most 253 `
      + `characters)`);
  }
}

/**
 * Throws unless `value` is a whole number within [min, max].
 */
export function assertInteger(value: number, where: string, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new Error(`${where}: ${field} must be a whole number ${range}, got ${value}`);
  }
}
