/**
 * access-report's model, as pure functions: from the gateways an app defines
 * (their connection-info.json) and a point in time to who may use what. For
 * every gateway, every peer, and each route it may use: the peer's address,
 * key fingerprint, groups, expiry and state at that time, the route's listen
 * address and target, and how the peer got it (an open route, by name, or
 * through a group). Sorted, and a function of its inputs only: the same app
 * and the same time give the same report (access-render.ts writes it).
 */
import { PeerState, parseRfc3339, peerState, rfc3339 } from '../_peer-access';
import { GatewayInfo } from './gateways';

/** The version of the JSON format (bumped as connection-info.json's is: docs/connection-info.md). */
export const ACCESS_REPORT_VERSION = 1;

/** How many characters of the base64 public key the fingerprint keeps. */
export const FINGERPRINT_LENGTH = 10;

/**
 * A public key's fingerprint: its first 10 characters of base64 (60 bits).
 * The key itself shortened, not a hash of it: a reviewer finds it by eye or
 * with grep in what WireGuard prints (`wg show`, `wg pubkey`, a client file),
 * and a public key hides nothing. Two peers of one gateway never share a key
 * (synth refuses it), and two keys that share 60 bits by chance do not occur.
 */
export function fingerprint(publicKey: string): string {
  return publicKey.slice(0, FINGERPRINT_LENGTH);
}

/** How a peer may use a route. */
export enum Via {
  /** The route has no allowPeers: every peer may use it. */
  OPEN = 'open',
  /** The route's allowPeers names the peer itself. */
  PEER = 'peer',
  /** The peer is in a group the route's allowPeers names (viaGroups). */
  GROUP = 'group',
}

export interface ReportRoute {
  readonly name: string;
  readonly kind: string;
  readonly address: string;
  readonly port: number;
  readonly target: string;
  readonly via: Via;
  /** With Via.GROUP: the route's groups the peer is in, sorted. */
  readonly viaGroups: string[];
}

export interface ReportPeer {
  readonly name: string;
  readonly address: string;
  readonly publicKey: string;
  readonly fingerprint: string;
  readonly groups: string[];
  /** RFC 3339 in UTC, or null when it never expires. */
  readonly expires: string | null;
  readonly enabled: boolean;
  /** At the report's time. */
  readonly state: PeerState;
  /** The routes it may use, sorted by name, then address and port; empty when none. */
  readonly routes: ReportRoute[];
}

export interface ReportGateway {
  readonly gateway: string;
  readonly endpoint: string | null;
  readonly listenPort: number;
  /** Sorted by name, then address. */
  readonly peers: ReportPeer[];
}

export interface AccessReport {
  readonly version: number;
  /** The time states are computed at: RFC 3339 in UTC, whole seconds. */
  readonly at: string;
  /** Sorted by construct path. */
  readonly gateways: ReportGateway[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ipKey = (address: string) => address.split('.').reduce((n, part) => n * 256 + Number(part), 0);

/** The report of these gateways at `atUnixSeconds`. */
export function accessReport(gateways: readonly GatewayInfo[], atUnixSeconds: number): AccessReport {
  return {
    version: ACCESS_REPORT_VERSION,
    at: rfc3339(atUnixSeconds),
    gateways: [...gateways].sort((a, b) => byText(a.gateway, b.gateway)).map((g) => ({
      gateway: g.gateway,
      endpoint: g.endpoint,
      listenPort: g.listenPort,
      peers: [...g.peers]
        .sort((a, b) => byText(a.name, b.name) || ipKey(a.address) - ipKey(b.address))
        .map((p) => {
          const expiresAt = p.expires === null ? undefined : parseRfc3339(p.expires);
          const routes = g.routes
            .filter((r) => r.allowPeers === undefined || r.allowPeers.includes(p.address))
            .map((r): ReportRoute => {
              const viaGroups = r.allowPeers === undefined ? [] : (r.allowGroups ?? []).filter((name) => p.groups.includes(name)).sort(byText);
              const via = r.allowPeers === undefined ? Via.OPEN : viaGroups.length > 0 ? Via.GROUP : Via.PEER;
              return { name: r.name, kind: r.kind, address: r.address, port: r.port, target: r.target, via, viaGroups };
            })
            .sort((a, b) => byText(a.name, b.name) || ipKey(a.address) - ipKey(b.address) || a.port - b.port);
          return {
            name: p.name,
            address: p.address,
            publicKey: p.publicKey,
            fingerprint: fingerprint(p.publicKey),
            groups: [...p.groups].sort(byText),
            expires: p.expires,
            enabled: p.enabled,
            state: peerState({ enabled: p.enabled, expiresAt }, atUnixSeconds),
            routes,
          };
        }),
    })),
  };
}
