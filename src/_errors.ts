/**
 * Error helpers. Every message names the construct path, the prop, the value
 * received, what is allowed and the fix, in that order.
 */

/** Quote a user value for a message, keeping control characters visible. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Builds the one message shape the library uses:
 * `<path>: invalid <prop> <value>: <allowed>. Fix: <fix>`
 */
export function invalidMessage(path: string, prop: string, value: unknown, allowed: string, fix: string): string {
  return `${path}: invalid ${prop} ${show(value)}: ${allowed}. Fix: ${fix}`;
}

/** An Error in the library's message shape. */
export function invalid(path: string, prop: string, value: unknown, allowed: string, fix: string): Error {
  return new Error(invalidMessage(path, prop, value, allowed, fix));
}
