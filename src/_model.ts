/**
 * The plain data the renderers work from. Constructs validate their props and
 * build these; renderers never see a construct.
 */

/** Where the pod's files live. The init script and nginx read them from here. */
export const PATHS = {
  /** The ConfigMap mount: nginx.conf, init.sh, start-nginx.sh, wg0.conf. */
  configDir: '/etc/wireguard-gateway',
  /** The Secret mount with the server's private key (mode 0400). */
  keyDir: '/run/secrets/wireguard-gateway',
  /** The file name of the private key inside keyDir. */
  keyFile: 'private-key',
  /** Where preshared keys are mounted, one directory per peer. */
  pskDir: '/run/secrets/wireguard-gateway-psk',
  /** The emptyDir nginx writes to (pid, resolver.conf); the root filesystem is read-only. */
  runDir: '/tmp/nginx',
} as const;

/**
 * Where peer `index`'s preshared key is mounted: a directory of its own (one
 * Secret volume each) and the key file inside it. The pod mounts it there and
 * the init script reads it from there.
 */
export function presharedKeyMount(index: number): { readonly dir: string; readonly file: string } {
  const dir = `${PATHS.pskDir}/${index}`;
  return { dir, file: `${dir}/psk` };
}

/** File names inside the ConfigMap. */
export const FILES = {
  nginxConf: 'nginx.conf',
  initScript: 'init.sh',
  startNginx: 'start-nginx.sh',
  wgConf: 'wg0.conf',
  /** The connection information (JSON): endpoint, key, routes, peers. The CLI reads it. */
  connectionInfo: 'connection-info.json',
} as const;

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
}

export interface PeerSpec {
  /** The peer's construct id, sanitized for a comment. */
  readonly name: string;
  readonly path: string;
  readonly publicKey: string;
  /** The peer's single tunnel address. */
  readonly address: string;
  /** Mounted file with the preshared key, when the peer has one. */
  readonly presharedKeyFile?: string;
}

export interface ResolverSpec {
  /** Explicit resolver addresses; empty means "read /etc/resolv.conf at start". */
  readonly addresses: string[];
  readonly validSeconds: number;
  readonly timeoutSeconds: number;
  readonly ipv6: boolean;
}

export interface GatewaySpec {
  readonly path: string;
  readonly interfaceName: string;
  readonly listenPort: number;
  readonly mtu: number;
  readonly serviceNetwork: string;
  readonly resolver: ResolverSpec;
  readonly workerProcesses: number;
  readonly workerConnections: number;
  /** Forwarding is switched off by the init script unless the pod's sysctls do it. */
  readonly initSetsSysctls: boolean;
  readonly routes: RouteSpec[];
  readonly peers: PeerSpec[];
}
