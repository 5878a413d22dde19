import { ApiObject, ApiObjectMetadata, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { buildConfigMap, configChecksum, configMapBytes } from './_build-config-map';
import { buildDisruptionBudget } from './_build-disruption-budget';
import { buildMonitoring, metricsSettings } from './_build-monitoring';
import { buildNamespace } from './_build-namespace';
import { GatewayNetworkPolicy } from './_build-network-policy';
import { GatewayPod } from './_build-pod';
import { buildService } from './_build-service';
import { START_FILES } from './_contract';
import { GatewayIdentity, checkGateway, gatewayIdentity } from './_gateway-checks';
import { GatewayContents, GatewaySettings, gatewaySettings } from './_gateway-spec';
import { checkChildId } from './_ids';
import { objectLabels, selectorLabels } from './_names';
import { Ipv4Network, networkContains } from './_net';
import { GatewayMetricsOptions } from './gateway-metrics';
import { ClientAllowedIps, ConfigUpdates, ExternalTrafficPolicy, GatewayServiceType, ReplicaSpread } from './gateway-options';
import { GatewayRoute } from './gateway-route';
import { ManagedDbRoute, ManagedDbRouteOptions } from './managed-db-route';
import { ProxiedService, ProxiedServiceOptions } from './proxied-service';
import { WireguardKey } from './wireguard-key';
import { ClientConfigOptions, WireguardGatewayPeer, WireguardPeer, WireguardPeerOptions } from './wireguard-peer';

/** Props for `WireguardGateway`. */
export interface WireguardGatewayProps {
  /** The server's private key: `WireguardKey.fromSecretName(...)` (recommended) or `unsafeFromBase64(...)`. */
  readonly privateKey: WireguardKey;

  /**
   * The name of every object the gateway defines and its `app.kubernetes.io/instance`
   * label: a DNS-1035 label. Moving the gateway in the construct tree renames nothing.
   *
   * @default - the construct id in lower case, if that is a DNS-1035 label (otherwise pass name)
   */
  readonly name?: string;

  /**
   * The namespace of the gateway's objects.
   *
   * @default - the chart's namespace, or "default"
   */
  readonly namespace?: string;

  /**
   * Define the namespace too, labelled for Pod Security ("privileged", which
   * the WireGuard init container needs). Refused for "default", "kube-system",
   * "kube-public" and "kube-node-lease": the label would lower Pod Security for
   * every workload there.
   *
   * @default false
   */
  readonly defineNamespace?: boolean;

  /**
   * The network of the routes' addresses (/16 to /32; the larger, the rarer two route names
   * collide). It may not overlap the routes' `cidrs` and `egressCidrs`, `dnsCidrs` or
   * `resolverAddresses` (checked at synth), nor, unchecked, the cluster's networks or the peers'.
   *
   * @default "10.99.0.0/20"
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
   * A fixed node port for the WireGuard Service, inside `serviceNodePortRange`.
   *
   * @default - Kubernetes picks one
   */
  readonly nodePort?: number;

  /**
   * The cluster's node port range (the API server's `--service-node-port-range`), for `nodePort`.
   *
   * @default "30000-32767"
   */
  readonly serviceNodePortRange?: string;

  /**
   * The Service's `loadBalancerClass`, e.g. "service.k8s.aws/nlb" (the AWS Load Balancer
   * Controller's NLB, which carries UDP). See the README for each cloud.
   *
   * @default - the cluster's default load balancer implementation
   */
  readonly loadBalancerClass?: string;

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
   * More labels for the WireGuard Service, none that the gateway sets itself.
   *
   * @default - only the gateway's labels
   */
  readonly serviceLabels?: { [key: string]: string };

  /**
   * Labels and annotations for the pod template (nothing else applies), none that the gateway sets itself.
   *
   * @default - only the gateway's labels and its configuration checksum
   */
  readonly podMetadata?: ApiObjectMetadata;

  /**
   * A `kubernetes.io/dockerconfigjson` Secret to pull the images with (docker.io rate-limits anonymous pulls).
   *
   * @default - no image pull secret
   */
  readonly dockerRegistryAuth?: kplus.ISecret;

  /**
   * The pod's service account, e.g. one your cluster allows privileged pods. Its token stays unmounted.
   *
   * @default - the namespace's default service account
   */
  readonly serviceAccount?: kplus.IServiceAccount;

  /**
   * The pod's priority class.
   *
   * @default - the cluster's default priority
   */
  readonly priorityClassName?: string;

  /**
   * The init container's image. It must contain `ip` (iproute2) and `wg`
   * (wireguard-tools); nothing is installed at boot.
   *
   * @default "docker.io/linuxserver/wireguard:1.0.20250521-r1-ls116" (WireguardGateway.DEFAULT_INIT_IMAGE)
   */
  readonly initImage?: string;

  /**
   * The nginx image. It must run as uid 101 with the stream module built in
   * (as the official and nginx-unprivileged images do) and have `/bin/sh` and `awk`.
   *
   * @default "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine" (WireguardGateway.DEFAULT_NGINX_IMAGE)
   */
  readonly nginxImage?: string;

  /**
   * Run the init container privileged, so that it can switch forwarding off in the pod.
   * With `false` it gets NET_ADMIN only, and the pod's sysctl `net.ipv4.ip_forward=0` does
   * it, which the kubelet must allow (`--allowed-unsafe-sysctls`); init.sh still refuses
   * to start a gateway that forwards.
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
   * The DNS servers nginx asks. No peer address and no part of the
   * serviceNetwork may be one of them (checked at synth).
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
   * DNS cache ("169.254.20.10/32") or resolvers outside the cluster. No peer
   * address and no part of the serviceNetwork may lie inside them (checked at synth).
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
   * The agent container's resources. It polls the configuration once a second.
   *
   * @default - requests 10m CPU / 16Mi, limits 200m CPU / 64Mi
   */
  readonly agentResources?: kplus.ContainerResources;

  /**
   * How a change to peers, routes or `allowPeers` reaches the running gateway: `LIVE`
   * applies it in the running pod; `RESTART` replaces the pod on every change. See the
   * README's "Changing a running gateway" for what rolls the pod even with `LIVE`.
   *
   * @default ConfigUpdates.LIVE
   */
  readonly configUpdates?: ConfigUpdates;

  /**
   * What a peer's client file routes into the tunnel (`AllowedIPs`). With the whole service
   * network, routes added later need no new file; the gateway still enforces `allowPeers`.
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
   * Gateway pods, all with the same key and configuration. With two or more, they spread
   * over nodes and a PodDisruptionBudget lets a drain evict one at a time; a peer whose
   * pod goes away reconnects to another by itself (see the README's "Availability").
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * How strictly replicas spread over nodes (zones are always preferred only).
   *
   * @default ReplicaSpread.PREFERRED
   */
  readonly replicaSpread?: ReplicaSpread;

  /**
   * How long a pod being removed keeps serving its peers before its containers stop (a
   * preStop wait) while new peers go to other pods. The grace period is this plus 10 s.
   *
   * @default Duration.seconds(15)
   */
  readonly drainTime?: Duration;

  /**
   * Prometheus metrics per peer, per route and of the gateway on the pod's own address at
   * `/metrics`; opt-in, a PodMonitor, a PrometheusRule and a Grafana dashboard (README: Monitoring).
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
 * It defines a Secret (with `WireguardKey.unsafeFromBase64`), a ConfigMap, a
 * Deployment, a UDP Service and a NetworkPolicy, all named `name`. It is also
 * a network-policy peer: `db.connections.allowFrom(gateway)`.
 */
export class WireguardGateway extends Construct implements kplus.INetworkPolicyPeer {
  /** The default init image: Alpine-based, with iproute2 and wireguard-tools, pinned. */
  public static readonly DEFAULT_INIT_IMAGE = 'docker.io/linuxserver/wireguard:1.0.20250521-r1-ls116';
  /** The default nginx image: non-root (uid 101), stream module built in, pinned. */
  public static readonly DEFAULT_NGINX_IMAGE = 'docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine';
  /** The ConfigMap key of the connection information (JSON): "connection-info.json". */
  public static readonly CONNECTION_INFO = 'connection-info.json';

  /** The name of every object of the gateway, and its `app.kubernetes.io/instance` label. */
  public readonly name: string;
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
  /** The labels the gateway selects its pods by (its pods carry more). */
  public readonly podLabels: { [key: string]: string };

  /** The ConfigMap with nginx.conf, the scripts and the WireGuard peer configuration. */
  public readonly configMap: kplus.ConfigMap;
  /** The gateway Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The UDP Service for WireGuard. */
  public readonly service: kplus.Service;
  /** The NetworkPolicy around the pod, rendered at synth. Policies add up: `gateway.deployment.connections.allowTo(...)`. */
  public readonly networkPolicy: ApiObject;
  /** The Secret the private key is mounted from. */
  public readonly privateKeySecret: kplus.ISecret;
  /** The namespace object, when `defineNamespace` is set. */
  public readonly namespaceObject?: kplus.Namespace;
  /** The PodDisruptionBudget (maxUnavailable 1), with two or more replicas. */
  public readonly podDisruptionBudget?: ApiObject;
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
  private readonly settings: GatewaySettings;
  private readonly pod: GatewayPod;

  constructor(scope: Construct, id: string, props: WireguardGatewayProps) {
    checkChildId(scope, id, 'gateway');
    super(scope, id);

    // Props that reach the rendered files, validated.
    const settings = gatewaySettings(this, props);
    this.name = settings.name;
    this.namespace = settings.namespace;
    this._network = settings.network;
    this.serviceNetwork = settings.network.cidr;
    this.listenPort = settings.listenPort;
    this.mtu = settings.mtu;
    this.endpoint = settings.endpoint;
    this.clusterDomain = settings.clusterDomain;
    this.targetNamespacePolicies = props.targetNamespacePolicies ?? false;
    // Names and labels come from the gateway's name, never from its construct path.
    this.podLabels = selectorLabels(this.name);
    const metadata: ApiObjectMetadata = { name: this.name, namespace: this.namespace, labels: objectLabels(this.name) };
    const metrics = metricsSettings(this.node.path, props.metrics, this.podLabels);
    this.metricsPort = metrics?.port;

    // The objects: Namespace, key Secret, ConfigMap, Deployment, Service, NetworkPolicy, monitoring.
    this.namespaceObject = props.defineNamespace ? buildNamespace(this, this.namespace) : undefined;
    const key = props.privateKey._bind(this, this.node.path, metadata);
    this.privateKeySecret = key.secret;
    this.publicKey = props.privateKey.publicKey;
    this.contents = new GatewayContents(settings, this.publicKey, metrics?.spec);
    this.configMap = buildConfigMap(this, metadata, () => this.contents.rendered(), metrics !== undefined);
    this.pod = new GatewayPod(this, props, {
      metadata,
      podLabels: this.podLabels,
      initImage: props.initImage ?? WireguardGateway.DEFAULT_INIT_IMAGE,
      nginxImage: props.nginxImage ?? WireguardGateway.DEFAULT_NGINX_IMAGE,
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
    this.node.defaultChild = this.deployment;
    this.podDisruptionBudget = this.pod.replicas > 1 ? buildDisruptionBudget(this, metadata, this.podLabels) : undefined;
    this.service = buildService(this, props, { metadata, selector: this.podLabels, listenPort: this.listenPort });
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

    this.settings = settings;
    this.node.addValidation({
      validate: () => checkGateway({
        settings,
        contents: this.contents,
        publicKey: this.publicKey,
        knownNetworks: () => policy.knownNetworks(),
        appGateways: () => this.node.root.node.findAll()
          .filter((c): c is WireguardGateway => c instanceof WireguardGateway).map((g) => g._identity()),
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
    return this.contents.clientConfig(peer, options);
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

  /**
   * Where the gateway's pod may run: cdk8s-plus's scheduling API of the
   * Deployment (`attract` for node selection and affinity, `tolerate` for
   * taints, `colocate`/`separate`). Same as `gateway.deployment.scheduling`.
   */
  public get scheduling(): kplus.WorkloadScheduling {
    return this.deployment.scheduling;
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

  /** The names this gateway takes in the app, for the check that no two gateways share one. @internal */
  public _identity(): GatewayIdentity {
    return gatewayIdentity(this.settings, this.contents);
  }
}
