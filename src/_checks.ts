/**
 * Checks of plain props: durations in whole seconds, integers in a range,
 * enum values. Shared by the constructs; every message has the library's shape.
 */
import { Duration } from 'cdk8s';
import { invalid } from './_errors';

/** A Duration as whole seconds (nginx and WireGuard take whole seconds), at least 1; `dflt` when undefined. */
export function wholeSeconds(path: string, prop: string, d: Duration | undefined, dflt: number): number {
  if (d === undefined) return dflt;
  const ms = d.toMilliseconds();
  if (!Number.isInteger(ms / 1000) || ms < 1000) {
    throw invalid(path, prop, `${ms}ms`, 'must be a whole number of seconds, at least 1', 'use Duration.seconds(n) with a whole n >= 1');
  }
  return ms / 1000;
}

/** A Duration prop in whole seconds from `min` to `max` (0 allowed if `min` is 0), or `dflt` when undefined. */
export function secondsIn(path: string, prop: string, d: Duration | undefined, dflt: number, min: number, max: number, fix: string): number {
  if (d === undefined) return dflt;
  const ms = d.toMilliseconds();
  if (!Number.isInteger(ms / 1000) || ms < min * 1000 || ms > max * 1000) {
    throw invalid(path, prop, `${ms}ms`, `must be a whole number of seconds from ${min} to ${max}`, fix);
  }
  return ms / 1000;
}

/**
 * An integer prop from `min` to `max`, or `dflt` when undefined. The message
 * shows the value as given.
 */
export function integerIn(path: string, prop: string, value: number | undefined, dflt: number, min: number, max: number, fix: string): number {
  const v = value ?? dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw invalid(path, prop, value, `must be an integer from ${min} to ${max}`, fix);
  }
  return v;
}

/**
 * An enum prop: one of the enum's values, or `dflt` when undefined. TypeScript
 * checks this already; other jsii languages and plain JavaScript do not.
 */
export function oneOf<T extends string>(path: string, prop: string, value: T | undefined, values: Record<string, T>, enumName: string, dflt: T): T {
  if (value === undefined) return dflt;
  if (!Object.values(values).includes(value)) {
    throw invalid(path, prop, value, `must be one of ${Object.values(values).map((v) => JSON.stringify(v)).join(', ')}`,
      `use ${enumName}.${Object.keys(values).join(` or ${enumName}.`)}`);
  }
  return value;
}
