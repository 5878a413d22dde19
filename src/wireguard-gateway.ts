import { ApiObject, Duration, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { buildConfigMap, configChecksum, configMapBytes } from './_build-config-map';
import { buildMonitoring, metricsSettings } from './_build-monitoring';
import { buildNamespace } from './_build-namespace';
import { GatewayNetworkPolicy } from './_build-network-policy';
import { GatewayPod } from './_build-pod';
import { buildService } from './_build-service';
import { invalid } from './_errors';
import { checkGateway } from './_gateway-checks';
import { GatewayContents, gatewaySettings } from './_gateway-spec';
import { checkChildId } from './_ids';
import { checkKey } from './_keys';
import { FILES, START_FILES } from './_model';
import { Ipv4Network, networkContains } from './_net';
import { renderClientConfig } from './_render-client';
import { GatewayMetricsOptions } from './gateway-metrics';
import { ClientAllowedIps, ConfigUpdates } from './gateway-options';
import { GatewayRoute } from './gateway-route';
import { ExternalTrafficPolicy, GatewayServiceType } from './gateway-service-options';
import { ManagedDbRoute, ManagedDbRouteOptions } from './managed-db-route';
import { ProxiedService, ProxiedServiceOptions } from './proxied-service';
import { WireguardKey } from './wireguard-key';
import { ClientConfigOptions, WireguardGatewayPeer, WireguardPeer, WireguardPeerOptions } from './wireguard-peer';

/** The default init image: Alpine-based, with iproute2 and wireguard-tools, pinned. */
export const DEFAULT_INIT_IMAGE = 'docker.io/linuxserver/wireguard:1.0.20250521-r1-ls116';
/** The default nginx image: non-root (uid 101), stream module built in, pinned. */
export const DEFAULT_NGINX_IMAGE = 'docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine';

/** The ConfigMap key of the connection information (JSON). */
export const CONNECTION_INFO = FILES.connectionInfo;

/** Props for `WireguardGateway`. */
export interface WireguardGatewayProps {
  /** The server's private key: `WireguardKey.fromSecret(...)` (recommended) or `fromBase64(...)`. */
  readonly privateKey: WireguardKey;

  /**
   * The namespace of the gateway's objects.
   *
   * @default - the chart's namespace, or "default"
   */
  readonly namespace?: string;

  /**
   * Define the namespace too, labelled for Pod Security ("privileged", which
   * the WireGuard init container needs).
   *
   * @default false
   */
  readonly defineNamespace?: boolean;

  /**
   * The small network the service addresses come from. Peers reach each
   * route at one /32 of it; pick one that does not overlap the peers' own
   * networks. The cluster's networks do not matter.
   *
   * @default "10.99.0.0/24"
   */
  readonly serviceNetwork?: string;

  /**
   * The UDP port WireGuard listens on (pod and Service).
   *
   * @default 51820
   */
  readonly listenPort?: number;

  /**
   * The WireGuard interface MTU, also written into client configurations.
   *
   * @default 1420
   */
  readonly mtu?: number;

  /**
   * The address peers connect to: the load balancer's hostname or IP. Used in
   * client configurations.
   *
   * @default - none; `clientConfig()` then fails with a clear message
   */
  readonly endpoint?: string;

  /**
   * Peers, as sugar for `addPeer`.
   *
   * @default - none; add them with `addPeer`
   */
  readonly peers?: WireguardGatewayPeer[];

  /**
   * How the WireGuard Service is exposed.
   *
   * @default GatewayServiceType.LOAD_BALANCER
   */
  readonly serviceType?: GatewayServiceType;

  /**
   * A fixed node port for the WireGuard Service.
   *
   * @default - Kubernetes picks one
   */
  readonly nodePort?: number;

  /**
   * Client CIDRs allowed to reach the load balancer.
   *
   * @default - any source
   */
  readonly loadBalancerSourceRanges?: string[];

  /**
   * The Service's externalTrafficPolicy.
   *
   * @default ExternalTrafficPolicy.CLUSTER
   */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;

  /**
   * Annotations for the WireGuard Service, e.g. your cloud's load balancer settings.
   *
   * @default - none
   */
  readonly serviceAnnotations?: { [key: string]: string };

  /**
   * The init container's image. It must contain `ip` (iproute2) and `wg`
   * (wireguard-tools); nothing is installed at boot.
   *
   * @default DEFAULT_INIT_IMAGE
   */
  readonly initImage?: string;

  /**
   * The nginx image. It must run as uid 101 with the stream module built in
   * (as the official and nginx-unprivileged images do) and have `/bin/sh` and `awk`.
   *
   * @default DEFAULT_NGINX_IMAGE
   */
  readonly nginxImage?: string;

  /**
   * Run the init container privileged. Privileged lets it switch forwarding off
   * in the pod (`net.ipv4.ip_forward=0`). With `false` it gets NET_ADMIN only,
   * and forwarding is switched off through the pod's sysctls instead, which
   * needs the kubelet to allow the unsafe sysctl `net.ipv4.ip_forward`
   * (`--allowed-unsafe-sysctls`); the init script still refuses to start a
   * gateway that forwards.
   *
   * @default true
   */
  readonly privilegedInit?: boolean;

  /**
   * The cluster's DNS domain.
   *
   * @default "cluster.local"
   */
  readonly clusterDomain?: string;

  /**
   * The DNS servers nginx asks.
   *
   * @default - the pod's nameservers, read from /etc/resolv.conf when nginx starts
   */
  readonly resolverAddresses?: string[];

  /**
   * How long nginx caches a DNS answer. New connections follow a changed
   * answer within this time plus one second.
   *
   * @default Duration.seconds(5)
   */
  readonly dnsCacheValidity?: Duration;

  /**
   * How long nginx waits for DNS before failing a new connection.
   *
   * @default Duration.seconds(2)
   */
  readonly resolverTimeout?: Duration;

  /**
   * Let nginx resolve and connect over IPv6 (dual-stack clusters).
   *
   * @default false
   */
  readonly ipv6?: boolean;

  /**
   * The namespace of the cluster DNS pods, for the egress rule on port 53.
   *
   * @default "kube-system"
   */
  readonly dnsNamespace?: string;

  /**
   * The labels of the cluster DNS pods, for the egress rule on port 53.
   *
   * @default { "k8s-app": "kube-dns" }
   */
  readonly dnsPodLabels?: { [key: string]: string };

  /**
   * Extra DNS destinations for the egress rule on port 53, e.g. a node-local
   * DNS cache ("169.254.20.10/32") or resolvers outside the cluster.
   *
   * @default - none
   */
  readonly dnsCidrs?: string[];

  /**
   * nginx worker processes. Each keeps its own DNS cache.
   *
   * @default 2
   */
  readonly workerProcesses?: number;

  /**
   * Simultaneous proxied sessions one worker can hold. Each session costs two
   * worker connections; worker_connections is sized from this.
   *
   * @default 4096
   */
  readonly maxSessionsPerWorker?: number;

  /**
   * The nginx container's resources.
   *
   * @default - requests 100m CPU / 64Mi, limits 1 CPU / 256Mi
   */
  readonly nginxResources?: kplus.ContainerResources;

  /**
   * The init container's resources. It runs a short script once per pod start.
   *
   * @default - requests 10m CPU / 16Mi, limits 200m CPU / 64Mi
   */
  readonly initResources?: kplus.ContainerResources;

  /**
   * The agent container's resources. It polls the mounted configuration once
   * a second and applies a change in well under a second.
   *
   * @default - requests 10m CPU / 16Mi, limits 200m CPU / 64Mi
   */
  readonly agentResources?: kplus.ContainerResources;

  /**
   * How a change to peers, routes or `allowPeers` reaches the running gateway.
   * `LIVE` applies it in the running pod (the agent syncs wg0, nginx reloads
   * gracefully) without replacing the pod; `RESTART` puts a checksum of the
   * whole configuration on the pod template, so every change replaces the pod.
   * See the README's "Changing a running gateway" for what still rolls the pod.
   *
   * @default ConfigUpdates.LIVE
   */
  readonly configUpdates?: ConfigUpdates;

  /**
   * What each peer's client configuration routes into the tunnel
   * (`AllowedIPs`). The whole service network means routes added later need
   * no new client file; the gateway still enforces each route's `allowPeers`.
   *
   * @default ClientAllowedIps.SERVICE_NETWORK
   */
  readonly clientAllowedIps?: ClientAllowedIps;

  /**
   * Also define, in each ProxiedService's namespace, a NetworkPolicy that
   * allows ingress from the gateway to the target pods. A namespace's first
   * policy makes its selected pods deny-by-default: see the README.
   *
   * @default false
   */
  readonly targetNamespacePolicies?: boolean;

  /**
   * Gateway pods. Every pod has the same key and configuration; the Service
   * uses ClientIP session affinity so that a peer keeps talking to one pod.
   * More than one needs a load balancer that preserves client addresses
   * (often `externalTrafficPolicy: LOCAL`), or a peer's handshakes may land on
   * different pods.
   *
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Prometheus metrics: per peer (prometheus_wireguard_exporter's names), per
   * route (sessions, sessions ended, whether the target resolves) and of the
   * gateway (version, configuration changes), served on the pod's own address
   * at `/metrics`; and, opt-in, a PodMonitor, a PrometheusRule and a Grafana
   * dashboard. See the README's "Monitoring".
   *
   * @default - no metrics
   */
  readonly metrics?: GatewayMetricsOptions;
}


/**
 * A WireGuard gateway: one pod whose init container brings up a WireGuard
 * interface with one /32 per exposed service, and whose nginx (stream) proxies
 * each address:port to a target resolved by DNS per connection.
 *
 * It defines a Secret (with `WireguardKey.fromBase64`), a ConfigMap, a
 * Deployment, a UDP Service and a NetworkPolicy. It is also a network-policy
 * peer: `db.connections.allowFrom(gateway)`.
 */
export class WireguardGateway extends Construct implements kplus.INetworkPolicyPeer {
  /** The namespace of the gateway's objects. */
  public readonly namespace: string;
  /** The service network, normalized. */
  public readonly serviceNetwork: string;
  /** The UDP port WireGuard listens on. */
  public readonly listenPort: number;
  /** The WireGuard MTU. */
  public readonly mtu: number;
  /** The server's public key, for peers. */
  public readonly publicKey: string;
  /** The endpoint peers connect to, if given. */
  public readonly endpoint?: string;
  /** The cluster's DNS domain. */
  public readonly clusterDomain: string;
  /** Whether allow-from-gateway policies are defined in target namespaces. */
  public readonly targetNamespacePolicies: boolean;
  /** The labels of the gateway pod. */
  public readonly podLabels: { [key: string]: string };

  /** The ConfigMap with nginx.conf, the scripts and the WireGuard peer configuration. */
  public readonly configMap: kplus.ConfigMap;
  /** The gateway Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The UDP Service for WireGuard. */
  public readonly service: kplus.Service;
  /** The NetworkPolicy around the gateway pod (ingress and egress). */
  public readonly networkPolicy: ApiObject;
  /** The Secret the private key is mounted from. */
  public readonly privateKeySecret: kplus.ISecret;
  /** The namespace object, when `defineNamespace` is set. */
  public readonly namespaceObject?: kplus.Namespace;
  /** The PodMonitor, with `metrics.podMonitor`. */
  public readonly podMonitor?: ApiObject;
  /** The PrometheusRule with the gateway's alerts, with `metrics.prometheusRule`. */
  public readonly prometheusRule?: ApiObject;
  /** The Grafana dashboard ConfigMap, with `metrics.grafanaDashboard`. */
  public readonly dashboard?: kplus.ConfigMap;
  /** The TCP port of `/metrics` on the pod's own address, with `metrics`. */
  public readonly metricsPort?: number;

  /** @internal */
  public readonly _network: Ipv4Network;

  /** The routes and peers, and everything rendered from them. */
  private readonly contents: GatewayContents;
  private readonly pod: GatewayPod;

  constructor(scope: Construct, id: string, props: WireguardGatewayProps) {
    checkChildId(scope, id, 'gateway');
    super(scope, id);

    // Props that reach the rendered files, validated.
    const settings = gatewaySettings(this, props);
    this.namespace = settings.namespace;
    this._network = settings.network;
    this.serviceNetwork = settings.network.cidr;
    this.listenPort = settings.listenPort;
    this.mtu = settings.mtu;
    this.endpoint = settings.endpoint;
    this.clusterDomain = settings.clusterDomain;
    this.targetNamespacePolicies = props.targetNamespacePolicies ?? false;
    this.podLabels = {
      'app.kubernetes.io/name': 'wireguard-gateway',
      'app.kubernetes.io/instance': Names.toLabelValue(this),
    };
    const metadata = { namespace: this.namespace, labels: { ...this.podLabels } };
    const metrics = metricsSettings(this.node.path, props.metrics, this.podLabels);
    this.metricsPort = metrics?.port;

    // The objects: Namespace, key Secret, ConfigMap, Deployment, Service, NetworkPolicy, monitoring.
    this.namespaceObject = props.defineNamespace ? buildNamespace(this, this.namespace) : undefined;
    const key = props.privateKey._bind(this, this.node.path, this.namespace);
    this.privateKeySecret = key.secret;
    this.publicKey = props.privateKey.publicKey;
    this.contents = new GatewayContents(settings, this.publicKey, metrics?.spec);
    this.configMap = buildConfigMap(this, metadata, () => this.contents.rendered(), metrics !== undefined);
    this.pod = new GatewayPod(this, props, {
      metadata,
      podLabels: this.podLabels,
      initImage: props.initImage ?? DEFAULT_INIT_IMAGE,
      nginxImage: props.nginxImage ?? DEFAULT_NGINX_IMAGE,
      privilegedInit: settings.privilegedInit,
      listenPort: this.listenPort,
      configMap: this.configMap,
      privateKey: key,
      liveUpdates: settings.configUpdates === ConfigUpdates.LIVE,
      metricsPort: metrics?.port,
      restartChecksum: () => configChecksum(this.contents.rendered(),
        settings.configUpdates === ConfigUpdates.LIVE ? START_FILES : undefined),
    });
    this.deployment = this.pod.deployment;
    this.service = buildService(this, props, { metadata, selector: this.deployment, listenPort: this.listenPort });
    const policy = new GatewayNetworkPolicy(this, props, {
      metadata, podLabels: this.podLabels, listenPort: this.listenPort, routes: () => this.contents.routes, metrics,
    });
    this.networkPolicy = policy.apiObject;
    ({ podMonitor: this.podMonitor, prometheusRule: this.prometheusRule, dashboard: this.dashboard } = buildMonitoring(this, metrics, {
      metadata, namespace: this.namespace, podLabels: this.podLabels, deployment: this.deployment,
    }));

    for (const p of props.peers ?? []) {
      this.addPeer(p.name, p);
    }

    this.node.addValidation({
      validate: () => checkGateway({
        settings,
        contents: this.contents,
        publicKey: this.publicKey,
        egressIpv4Cidrs: () => policy.egressIpv4Cidrs(),
        configMapBytes: () => configMapBytes(this.contents.rendered()),
      }),
    });
  }

  // --- Public API ------------------------------------------------------------

  /** Expose an in-cluster Service. Returns the route it defines. */
  public addProxiedService(id: string, options: ProxiedServiceOptions): ProxiedService {
    return new ProxiedService(this, id, { ...options, gateway: this });
  }

  /** Expose a database outside the cluster. Returns the route it defines. */
  public addManagedDbRoute(id: string, options: ManagedDbRouteOptions): ManagedDbRoute {
    return new ManagedDbRoute(this, id, { ...options, gateway: this });
  }

  /** Add a remote peer. Returns the peer it defines. */
  public addPeer(id: string, options: WireguardPeerOptions): WireguardPeer {
    return new WireguardPeer(this, id, { ...options, gateway: this });
  }

  /**
   * The wg-quick file for a peer: its address and MTU, the server's public key
   * and endpoint, AllowedIPs (the service network, or the addresses of the
   * routes this peer may use: `clientAllowedIps`), and PersistentKeepalive.
   * The private key is a placeholder unless given.
   */
  public clientConfig(peer: WireguardPeer, options: ClientConfigOptions = {}): string {
    const path = this.node.path;
    if (!this.contents.hasPeer(peer)) {
      throw invalid(path, 'peer', peer.node.path, 'it is not a peer of this gateway', 'pass a peer returned by this gateway\'s addPeer');
    }
    if (this.endpoint === undefined) {
      throw invalid(path, 'endpoint', undefined, 'a client configuration needs the address peers connect to',
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
      gatewayPath: path,
      peerName: peer.node.id,
      peerAddress: peer.address,
      peerPrivateKey: options.privateKey,
      presharedKey: options.presharedKey,
      hasPresharedKey: peer._presharedKey !== undefined,
      serverPublicKey: this.publicKey,
      endpoint: this.endpoint,
      listenPort: this.listenPort,
      mtu: this.mtu,
      allowedIps: this.contents.clientAllowedIps(peer),
      persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
    });
  }

  /** The routes as hosts-file lines: `<address> <route name>`. */
  public hostsFile(): string {
    return this.contents.hostsFile();
  }

  /**
   * The connection information as JSON: the endpoint, the server's public key,
   * every route (name, address, port, target) and every peer with the
   * addresses it may reach. Also in the ConfigMap as `connection-info.json`.
   */
  public connectionInfo(): string {
    return this.contents.connectionInfo();
  }

  /** The routes of this gateway, in definition order. */
  public get routes(): GatewayRoute[] {
    return this.contents.routes;
  }

  /** The peers of this gateway, in definition order. */
  public get peers(): WireguardPeer[] {
    return this.contents.peers;
  }

  /** @see kplus.INetworkPolicyPeer */
  public toNetworkPolicyPeerConfig(): kplus.NetworkPolicyPeerConfig {
    return this.deployment.toNetworkPolicyPeerConfig();
  }

  /** @see kplus.INetworkPolicyPeer */
  public toPodSelector(): kplus.IPodSelector | undefined {
    return this.deployment.toPodSelector();
  }

  // --- Internal: called by routes and peers as they are defined ----------------

  /** @internal */
  public _registerRoute(route: GatewayRoute) {
    this.contents.addRoute(route);
    this.pod.addListenPort(route.listenPort);
  }

  /** @internal */
  public _registerPeer(peer: WireguardPeer) {
    this.contents.addPeer(peer);
    if (peer._presharedKey !== undefined) {
      this.pod.addPresharedKey(peer.publicKey, peer._presharedKey);
    }
  }

  /** @internal */
  public _inServiceNetwork(address: number): boolean {
    return networkContains(this._network, address);
  }

  /** @internal */
  public _addressOf(route: GatewayRoute): string {
    return this.contents.addressOf(route);
  }
}
