/**
 * From a gateway's props, routes and peers to the plain specs the renderers
 * work from (see _model.ts): the gateway-wide settings, validated once, and
 * the routes and peers registered with the gateway, with everything derived
 * from them (the address plan, the GatewaySpec, the rendered files and the
 * connection information), computed once per state.
 */
import { createHash } from 'crypto';
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { addressCollisions } from './_address-plan';
import { integerIn, oneOf, wholeSeconds } from './_checks';
import { buildConnectionInfo, renderConnectionInfo } from './_connection-info';
import { FILES, LIVE_FILES } from './_contract';
import { invalid } from './_errors';
import { checkKey } from './_keys';
import { GatewaySpec, MetricsSpec, PeerSpec, ResolverSpec, RouteSpec, presharedKeyMount } from './_model';
import { gatewayName } from './_names';
import { Ipv4Network, checkDnsLabel, checkDnsName, checkPort, checkUnicastIpv4, intToIpv4, isIpv4, isIpv6, parseIpv4Cidr } from './_net';
import { rfc3339 } from './_peer-access';
import { connectionEntries, reachableAddresses, renderClientConfig, renderHostsFile } from './_render-client';
import { renderLiveSettings, renderPeersTable, renderRoutesTable, renderStartSettings } from './_render-data';
import { renderNginxConf } from './_render-nginx';
import { renderWgConf } from './_render-wireguard';
import { ClientAllowedIps, ConfigUpdates, RouteAccess } from './gateway-options';
import type { GatewayRoute } from './gateway-route';
import type { WireguardGatewayProps } from './wireguard-gateway-props';
import type { ClientConfigOptions, WireguardPeer } from './wireguard-peer';
import type { WireguardPeerGroup } from './wireguard-peer-group';

/** The gateway props that shape the rendered files (a subset of WireguardGatewayProps). */
export type SettingsProps = Pick<WireguardGatewayProps, 'name' | 'namespace' | 'serviceNetwork' | 'listenPort' | 'mtu' | 'endpoint' | 'clusterDomain' | 'privilegedInit' | 'resolverAddresses' | 'dnsCacheValidity' | 'resolverTimeout' | 'ipv6' | 'workerProcesses' | 'maxSessionsPerWorker' | 'maxSessionsPerPeer' | 'configUpdates' | 'clientAllowedIps' | 'routeAccess'>;

/** The gateway-wide settings, validated and with defaults applied. */
export interface GatewaySettings {
  readonly path: string;
  /** The name of every object of the gateway. */
  readonly name: string;
  readonly namespace: string;
  readonly network: Ipv4Network;
  readonly listenPort: number;
  readonly mtu: number;
  readonly endpoint?: string;
  readonly clusterDomain: string;
  readonly privilegedInit: boolean;
  readonly resolver: ResolverSpec;
  readonly workerProcesses: number;
  readonly maxSessionsPerWorker: number;
  readonly maxSessionsPerPeer: number;
  readonly configUpdates: ConfigUpdates;
  readonly clientAllowedIps: ClientAllowedIps;
  readonly routeAccess: RouteAccess;
}

/**
 * The default service network: 4,094 addresses, so that addresses derived from
 * route names rarely collide (about 1% for 10 routes, 5% for 20).
 */
export const DEFAULT_SERVICE_NETWORK = '10.99.0.0/20';

/** Validates the gateway-wide props; throws the library's message on the first bad one. */
export function gatewaySettings(scope: Construct, props: SettingsProps): GatewaySettings {
  const path = scope.node.path;
  const name = gatewayName(path, scope.node.id, props.name);
  const namespace = checkDnsLabel(path, 'namespace', props.namespace ?? Chart.of(scope).namespace ?? 'default',
    'use a Kubernetes namespace name, for example "wireguard"');
  const network = parseIpv4Cidr(path, 'serviceNetwork', props.serviceNetwork ?? DEFAULT_SERVICE_NETWORK);
  if (network.prefix < 16) {
    throw invalid(path, 'serviceNetwork', props.serviceNetwork, 'must be /16 or smaller: it only holds one address per service',
      'pick a small network such as "10.99.0.0/20"');
  }
  for (const end of [network.base, network.base + 2 ** (32 - network.prefix) - 1]) {
    checkUnicastIpv4(path, 'serviceNetwork', props.serviceNetwork ?? network.cidr, end,
      `pick a private network such as "10.99.0.0/20" (${intToIpv4(end)} is not an ordinary unicast address)`);
  }
  const listenPort = checkPort(path, 'listenPort', props.listenPort ?? 51820, 'pick a UDP port, usually 51820');
  const mtu = integerIn(path, 'mtu', props.mtu, 1420, 1280, 9000, 'use 1420 (the WireGuard default), or lower it by 80 below your path MTU');
  if (props.endpoint !== undefined && !isIpv4(props.endpoint) && !isIpv6(props.endpoint)) {
    checkDnsName(path, 'endpoint', props.endpoint, 'give the load balancer\'s hostname or IP address, without a port');
  }
  const clusterDomain = checkDnsName(path, 'clusterDomain', props.clusterDomain ?? 'cluster.local', 'use your cluster\'s DNS domain, usually "cluster.local"');
  const resolverAddresses = (props.resolverAddresses ?? []).map((a, i) => {
    if (!isIpv4(a) && !isIpv6(a)) {
      throw invalid(path, `resolverAddresses[${i}]`, a, 'must be an IPv4 or IPv6 address', 'give the DNS Service\'s cluster IP, for example "10.96.0.10", or omit resolverAddresses to use the pod\'s resolv.conf');
    }
    return a;
  });
  const resolver: ResolverSpec = {
    addresses: resolverAddresses,
    validSeconds: wholeSeconds(path, 'dnsCacheValidity', props.dnsCacheValidity, 5),
    timeoutSeconds: wholeSeconds(path, 'resolverTimeout', props.resolverTimeout, 2),
    ipv6: props.ipv6 ?? false,
  };
  return {
    path,
    name,
    namespace,
    network,
    listenPort,
    mtu,
    endpoint: props.endpoint,
    clusterDomain,
    privilegedInit: props.privilegedInit ?? true,
    resolver,
    workerProcesses: integerIn(path, 'workerProcesses', props.workerProcesses, 2, 1, 64, 'use 1 or 2; the pod rarely needs more'),
    maxSessionsPerWorker: integerIn(path, 'maxSessionsPerWorker', props.maxSessionsPerWorker, 4096, 1, 262144,
      'use the number of simultaneous sessions you expect, e.g. 4096'),
    maxSessionsPerPeer: integerIn(path, 'maxSessionsPerPeer', props.maxSessionsPerPeer, 256, 1, 1_000_000,
      'use the most sessions one peer needs at once (a connection pool, its tools), e.g. 256'),
    configUpdates: oneOf(path, 'configUpdates', props.configUpdates, ConfigUpdates, 'ConfigUpdates', ConfigUpdates.LIVE),
    clientAllowedIps: oneOf(path, 'clientAllowedIps', props.clientAllowedIps, ClientAllowedIps, 'ClientAllowedIps', ClientAllowedIps.SERVICE_NETWORK),
    routeAccess: oneOf(path, 'routeAccess', props.routeAccess, RouteAccess, 'RouteAccess', RouteAccess.OPEN),
  };
}

/**
 * The routes and peers of one gateway, in definition order, and what is
 * derived from them. Routes and peers only grow; each registration clears the
 * derived values, which are computed again on the next read.
 */
export class GatewayContents {
  private readonly routeList: GatewayRoute[] = [];
  private readonly peerList: WireguardPeer[] = [];
  private readonly groupList: WireguardPeerGroup[] = [];
  private readonly cache = new Map<string, unknown>();

  constructor(private readonly settings: GatewaySettings, private readonly publicKey: string, private readonly metrics?: MetricsSpec) {}

  public addRoute(route: GatewayRoute): void {
    this.routeList.push(route);
    this.cache.clear();
  }

  public addPeer(peer: WireguardPeer): void {
    this.peerList.push(peer);
    this.cache.clear();
  }

  public addGroup(group: WireguardPeerGroup): void {
    this.groupList.push(group);
    this.cache.clear();
  }

  /** A group's members changed: what is derived from them is computed again. */
  public groupChanged(): void {
    this.cache.clear();
  }

  /** The peer groups, in definition order (a copy). */
  public get groups(): WireguardPeerGroup[] {
    return [...this.groupList];
  }

  /** The routes, in definition order (a copy). */
  public get routes(): GatewayRoute[] {
    return [...this.routeList];
  }

  /** The peers, in definition order (a copy). */
  public get peers(): WireguardPeer[] {
    return [...this.peerList];
  }

  public hasPeer(peer: WireguardPeer): boolean {
    return this.memo('peerSet', () => new Set(this.peerList)).has(peer);
  }

  /** The names of the groups a peer is in, sorted. */
  public groupsOf(peer: WireguardPeer): string[] {
    const byPeer = this.memo('groupsOf', () => {
      const map = new Map<WireguardPeer, string[]>();
      for (const g of this.groupList) for (const p of g.peers) map.set(p, [...(map.get(p) ?? []), g.node.id]);
      return map;
    });
    return [...new Set(byPeer.get(peer) ?? [])].sort();
  }

  /** Routes whose automatic address another route holds too, as messages (see _address-plan.ts). */
  public addressCollisions(): string[] {
    return this.memo('collisions', () => addressCollisions(this.settings.network, this.routeList.map((route) => ({
      path: route.node.path, name: route.node.id, address: route.address, explicit: route._explicitAddress,
    }))));
  }

  /** The service addresses a peer may reach: those with a route that allows it. */
  public addressesFor(peer: WireguardPeer): string[] {
    return this.memo('reachable', () => reachableAddresses(connectionEntries(this.routeSpecs())))(peer.address);
  }

  /** A peer's wg-quick file (see WireguardGateway.clientConfig), its inputs checked. */
  public clientConfig(peer: WireguardPeer, options: ClientConfigOptions): string {
    const s = this.settings;
    if (!this.hasPeer(peer)) {
      throw invalid(s.path, 'peer', peer.node.path, 'it is not a peer of this gateway', 'pass a peer returned by this gateway\'s addPeer');
    }
    if (s.endpoint === undefined) {
      throw invalid(s.path, 'endpoint', undefined, 'a client configuration needs the address peers connect to',
        'set endpoint on the WireguardGateway to the load balancer\'s hostname or IP');
    }
    if (options.privateKey !== undefined) {
      checkKey(peer.node.path, 'privateKey', options.privateKey, 'pass the peer\'s own private key, or omit it for a placeholder');
    }
    if (options.presharedKey !== undefined) {
      checkKey(peer.node.path, 'presharedKey', options.presharedKey, 'pass the key in the peer\'s presharedKeySecret (wg genpsk), or omit it for a placeholder');
      if (peer._presharedKey === undefined) {
        throw invalid(peer.node.path, 'presharedKey', '<44 characters>', 'the peer has no presharedKeySecret, so the gateway would not use it',
          'give the peer a presharedKeySecret, or omit presharedKey');
      }
    }
    return renderClientConfig({
      gatewayPath: s.path,
      peerName: peer.node.id,
      peerAddress: peer.address,
      peerPrivateKey: options.privateKey,
      presharedKey: options.presharedKey,
      hasPresharedKey: peer._presharedKey !== undefined,
      serverPublicKey: this.publicKey,
      endpoint: s.endpoint,
      listenPort: s.listenPort,
      mtu: s.mtu,
      allowedIps: this.clientAllowedIps(peer),
      persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
      enabled: peer.enabled,
      expiresAt: peer._expiresAt,
    });
  }

  /** What a peer's client configuration routes into the tunnel. */
  public clientAllowedIps(peer: WireguardPeer): string[] {
    return this.settings.clientAllowedIps === ClientAllowedIps.SERVICE_NETWORK
      ? [this.settings.network.cidr]
      : this.addressesFor(peer).map((a) => `${a}/32`);
  }

  public routeSpecs(): RouteSpec[] {
    return this.memo('routeSpecs', () => this.routeList.map((route) => route._spec()));
  }

  public spec(): GatewaySpec {
    return this.memo('spec', () => {
      const s = this.settings;
      const routes = this.routeSpecs();
      return {
        path: s.path,
        listenPort: s.listenPort,
        mtu: s.mtu,
        serviceNetwork: s.network.cidr,
        resolver: s.resolver,
        workerProcesses: s.workerProcesses,
        // Two connections per session, plus one per listener, plus headroom.
        workerConnections: s.maxSessionsPerWorker * 2 + routes.length + 64,
        maxSessionsPerPeer: s.maxSessionsPerPeer,
        initSetsSysctls: s.privilegedInit,
        liveUpdates: s.configUpdates === ConfigUpdates.LIVE,
        routes,
        // What lets a peer in is rendered from the enabled peers only.
        peers: this.peerSpecs().filter((_, i) => this.peerList[i].enabled),
        metrics: this.metrics,
        disabledPeers: this.peerList.some((p) => !p.enabled) ? this.peerSpecs().filter((_, i) => !this.peerList[i].enabled) : undefined,
      };
    });
  }

  /**
   * The gateway ConfigMap's files, by name: data only (the scripts are in the
   * code ConfigMap): nginx.conf, the files the scripts read, and
   * connection-info.json. `config-id` is the checksum of the files a running
   * pod applies live (LIVE_FILES, in that order): the agent logs it when it
   * applies them.
   */
  public rendered(): Record<string, string> {
    return this.memo('rendered', () => {
      const spec = this.spec();
      const files: Record<string, string> = {
        [FILES.nginxConf]: renderNginxConf(spec),
        [FILES.wgConf]: renderWgConf(spec),
        [FILES.routes]: renderRoutesTable(spec),
        [FILES.peers]: renderPeersTable(spec),
        [FILES.liveSettings]: renderLiveSettings(spec),
        [FILES.startSettings]: renderStartSettings(spec),
        [FILES.connectionInfo]: this.connectionInfo(),
      };
      const id = createHash('sha256');
      for (const file of LIVE_FILES) id.update(files[file]);
      files[FILES.configId] = id.digest('hex') + '\n';
      return files;
    });
  }

  /** The routes as hosts-file lines. */
  public hostsFile(): string {
    return renderHostsFile(this.routeSpecs());
  }

  /** The connection information as JSON (connection-info.json, see _connection-info.ts). */
  public connectionInfo(): string {
    return this.memo('connectionInfo', () => {
      const s = this.settings;
      return renderConnectionInfo(buildConnectionInfo({
        gateway: s.path,
        endpoint: s.endpoint,
        listenPort: s.listenPort,
        mtu: s.mtu,
        publicKey: this.publicKey,
        serviceNetwork: s.network.cidr,
        clientAllowedIps: s.clientAllowedIps,
        routes: this.routeSpecs(),
        peers: this.peerList.map((p) => ({
          name: p.node.id,
          address: p.address,
          publicKey: p.publicKey,
          persistentKeepalive: p.persistentKeepaliveSeconds,
          presharedKey: p._presharedKey !== undefined,
          expires: p._expiresAt === undefined ? null : rfc3339(p._expiresAt),
          enabled: p.enabled,
          groups: this.groupsOf(p),
        })),
      }));
    });
  }

  /** Every peer's spec, in definition order. */
  private peerSpecs(): PeerSpec[] {
    return this.memo('peerSpecs', () => this.peerList.map((p) => ({
      name: p.node.id,
      path: p.node.path,
      publicKey: p.publicKey,
      address: p.address,
      presharedKeyVolume: p._presharedKey !== undefined ? presharedKeyMount(p.publicKey).name : undefined,
      expiresAt: p._expiresAt,
    })));
  }

  private memo<T>(key: string, compute: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, compute());
    return this.cache.get(key) as T;
  }
}

