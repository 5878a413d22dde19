/**
 * The plain data the renderers work from. Constructs validate their props and
 * build these; renderers never see a construct.
 */
import { createHash } from 'crypto';
import { PATHS } from './_contract';

/**
 * Where a peer's preshared key is mounted: a directory of its own (one Secret
 * volume each) named after its public key, so that adding, removing or
 * reordering other peers never renames it, and the key file inside it.
 */
export function presharedKeyMount(publicKey: string): { readonly name: string; readonly dir: string; readonly file: string } {
  const name = `psk-${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`;
  const dir = `${PATHS.pskDir}/${name}`;
  return { name, dir, file: `${dir}/${PATHS.pskFile}` };
}

export interface RouteSpec {
  /** 'ProxiedService' or 'ManagedDbRoute', for comments. */
  readonly kind: string;
  /** The construct path, for comments and errors. */
  readonly path: string;
  /** The route's construct id: the name in the connection map. */
  readonly name: string;
  /** The address on wg0 the route listens on. */
  readonly address: string;
  readonly listenPort: number;
  /** The fully-qualified DNS name nginx resolves per connection. */
  readonly targetHost: string;
  readonly targetPort: number;
  readonly connectTimeoutSeconds: number;
  readonly idleTimeoutSeconds: number;
  /**
   * Peer tunnel addresses allowed on this route; undefined means all peers.
   */
  readonly allowAddresses?: string[];
  /** The names of the peer groups in the route's allowPeers, sorted; undefined when none. */
  readonly allowGroups?: string[];
}

export interface PeerSpec {
  /** The peer's construct id, sanitized for a comment. */
  readonly name: string;
  readonly path: string;
  readonly publicKey: string;
  /** The peer's single tunnel address. */
  readonly address: string;
  /** The volume (a directory under PATHS.pskDir) of the peer's preshared key, when it has one. */
  readonly presharedKeyVolume?: string;
  /**
   * When the peer's access ends (its `expires`), in UNIX seconds; undefined
   * when it never does. The synth never compares it with the clock: the pod
   * does (see _peer-access.ts).
   */
  readonly expiresAt?: number;
}

export interface ResolverSpec {
  /** Explicit resolver addresses; empty means "read /etc/resolv.conf at start". */
  readonly addresses: string[];
  readonly validSeconds: number;
  readonly timeoutSeconds: number;
  readonly ipv6: boolean;
}

/** What the metrics renderers need (metrics on). */
export interface MetricsSpec {
  /** The TCP port nginx serves /metrics on, on the pod's own address. */
  readonly port: number;
  /** How often the agent runs metrics.sh, in seconds. */
  readonly refreshSeconds: number;
  /** The library's version, for the info metric. */
  readonly version: string;
}

export interface GatewaySpec {
  readonly path: string;
  readonly listenPort: number;
  readonly mtu: number;
  readonly serviceNetwork: string;
  readonly resolver: ResolverSpec;
  readonly workerProcesses: number;
  readonly workerConnections: number;
  /** How many sessions one peer (its tunnel address) may hold at once, over all routes (nginx limit_conn). */
  readonly maxSessionsPerPeer: number;
  /** Forwarding is switched off by the init script unless the pod's sysctls do it. */
  readonly initSetsSysctls: boolean;
  /** The agent applies configuration changes to the running pod (configUpdates LIVE). */
  readonly liveUpdates: boolean;
  readonly routes: RouteSpec[];
  /**
   * The peers the pod admits: every peer but the disabled ones (a peer past
   * its expiry too: the pod's clock removes it, never the synth). Whatever
   * lets a peer in (wg0.conf, init.sh's peer routes and preshared keys) is
   * rendered from this list only, so a disabled peer cannot complete a
   * handshake.
   */
  readonly peers: PeerSpec[];
  /** Prometheus metrics, when on. */
  readonly metrics?: MetricsSpec;
  /**
   * The disabled peers (`enabled: false`): known to the gateway, on no
   * interface. Only what reports on peers reads them (the per-peer metrics);
   * undefined when there are none.
   */
  readonly disabledPeers?: PeerSpec[];
}
