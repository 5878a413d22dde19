/**
 * A peer's access state, in one place for every part that shows or enforces
 * it: the peer construct (checks `expires`), connection-info.json, the client
 * file, the access report, the PrometheusRule's expiry alert, and the pod's
 * runtime (its agent removes a peer at its expiry, its metrics report it).
 * docs/peer-access.md documents the same contract.
 *
 * Two rules hold everywhere:
 * - an expiry is a whole second, written as RFC 3339 in UTC
 *   ("2027-03-31T00:00:00Z") for people and as UNIX seconds for programs;
 * - the synth never reads the clock: whether a peer has expired is decided by
 *   whoever asks, at a time they name (the pod's clock, the report's --at).
 *
 * No cdk8s import here: the CLI loads this module at start.
 */
import { invalid } from './_errors';

/** The earliest and latest expiry: RFC 3339 has four-digit years, UNIX time starts in 1970. */
const FIRST_SECOND = 0;
const LAST_SECOND = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;

/**
 * A peer's `expires`, checked: a valid `Date` on a whole second from 1970 to
 * 9999. Returns UNIX seconds.
 */
export function checkExpires(path: string, value: unknown): number {
  const fix = 'pass a Date on a whole second, in UTC, for example new Date("2027-03-31T00:00:00Z")';
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw invalid(path, 'expires', value instanceof Date ? 'Invalid Date' : value, 'must be a valid Date', fix);
  }
  const ms = value.getTime();
  if (ms % 1000 !== 0) {
    throw invalid(path, 'expires', value.toISOString(), 'must be a whole second: the gateway and its documents count expiry in seconds', fix);
  }
  if (ms / 1000 < FIRST_SECOND || ms / 1000 > LAST_SECOND) {
    throw invalid(path, 'expires', value.toISOString(), 'must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z', fix);
  }
  return ms / 1000;
}

/** UNIX seconds as RFC 3339 in UTC, without fractions: "2027-03-31T00:00:00Z". */
export function rfc3339(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * RFC 3339 text ("2027-03-31T00:00:00Z", "2027-03-31T02:00:00+02:00") as UNIX
 * seconds, fractions dropped; undefined when it is not RFC 3339 or no such
 * time exists (February 30th).
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const day = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** A peer's state at a given time. */
export enum PeerState {
  /** On the interface, and not past its expiry. */
  ENABLED = 'enabled',
  /** `enabled: false`: on no interface, whatever its expiry. */
  DISABLED = 'disabled',
  /** Enabled, but its expiry has come: the pod removes it at that second. */
  EXPIRED = 'expired',
}

/** Disabled wins over expired; a peer is expired from its expiry's second on. */
export function peerState(peer: { readonly enabled: boolean; readonly expiresAt?: number }, atUnixSeconds: number): PeerState {
  if (!peer.enabled) return PeerState.DISABLED;
  if (peer.expiresAt !== undefined && atUnixSeconds >= peer.expiresAt) return PeerState.EXPIRED;
  return PeerState.ENABLED;
}

/** A metric of the pod's, as metrics.sh prints it: name, type, labels, help text. */
export interface PeerMetric {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly labels: readonly string[];
  readonly help: string;
}

/**
 * The per-peer access metrics. The PrometheusRule's expiry alert queries them,
 * and the pod's metrics.sh serves them under exactly these names and labels.
 */
export const PEER_METRICS = {
  /** Absent for a peer without `expires`. */
  expiry: {
    name: 'wireguard_gateway_peer_expiry_timestamp_seconds',
    type: 'gauge',
    labels: ['public_key', 'friendly_name'],
    help: 'When the peer\'s access ends (its expires), as a UNIX time; absent for a peer that never expires.',
  },
  enabled: {
    name: 'wireguard_gateway_peer_enabled',
    type: 'gauge',
    labels: ['public_key', 'friendly_name'],
    help: '1 for an enabled peer, 0 for a disabled one (enabled: false), which is on no interface.',
  },
  refused: {
    name: 'wireguard_gateway_peer_refused_total',
    type: 'counter',
    labels: ['friendly_name', 'route'],
    help: 'Connections from the peer that a route refused (allowPeers).',
  },
} as const satisfies Record<string, PeerMetric>;
