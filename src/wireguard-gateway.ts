import { ApiObject, ApiObjectMetadata } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { gatewayScripts } from './_assets';
import { buildCodeConfigMap, buildConfigMap, configChecksum, configMapBytes } from './_build-config-map';
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
import { checkImage } from './_images';
import { objectLabels, selectorLabels } from './_names';
import { Ipv4Network, networkContains } from './_net';
import { ConfigUpdates, RouteAccess } from './gateway-options';
import { GatewayRoute } from './gateway-route';
import { IGatewayScheduling } from './gateway-scheduling';
import { ManagedDbRoute, ManagedDbRouteOptions } from './managed-db-route';
import { IPodSelection, IPolicyPeer, PodSelectionConfig, PolicyPeerConfig } from './policy-peer';
import { ProxiedService, ProxiedServiceOptions } from './proxied-service';
import { WireguardGatewayProps } from './wireguard-gateway-props';
import { ClientConfigOptions, WireguardPeer, WireguardPeerOptions } from './wireguard-peer';
import { WireguardPeerGroup, WireguardPeerGroupOptions } from './wireguard-peer-group';

/**
 * A WireGuard gateway: a Deployment (two replicas by default) whose pods each
 * bring up a WireGuard interface with one /32 per exposed route (the init
 * container), proxy each address:port with nginx (stream) to a target resolved
 * by DNS per connection, and apply configuration changes live (the agent).
 *
 * It defines a ConfigMap (data), the Deployment, a PodDisruptionBudget (two or more
 * replicas), a UDP Service and a NetworkPolicy, all named `name`; the code
 * ConfigMap `<name>-code-<hash>` (the scripts the pod runs, immutable); a Secret only
 * with `WireguardKey.unsafeFromBase64`; a Namespace with `defineNamespace`; and,
 * with `metrics`, a PodMonitor, a PrometheusRule and a dashboard ConfigMap. It is
 * also a network-policy peer and a pod selection: `db.connections.allowFrom(gateway)`.
 */
export class WireguardGateway extends Construct implements IPolicyPeer, IPodSelection {
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
  /** Who may use a route without `allowPeers`: everyone (`OPEN`), or no such route is allowed (`CLOSED`). */
  public readonly routeAccess: RouteAccess;
  /** The labels the gateway selects its pods by (its pods carry more). */
  public readonly podLabels: { [key: string]: string };

  /** The ConfigMap with nginx.conf, the WireGuard peer configuration and the data the scripts read (no code). */
  public readonly configMap: kplus.ConfigMap;
  /**
   * The code ConfigMap: the scripts the pod runs, immutable, named after their
   * hash (`<name>-code-<hash>`); each container checks them against the SHA-256
   * sums in its command.
   */
  public readonly codeConfigMap: kplus.ConfigMap;
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
    this.routeAccess = settings.routeAccess;
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
    this.configMap = buildConfigMap(this, metadata, () => this.contents.rendered());
    const scripts = gatewayScripts(metrics !== undefined);
    this.codeConfigMap = buildCodeConfigMap(this, metadata, scripts);
    this.pod = new GatewayPod(this, props, {
      metadata,
      podLabels: this.podLabels,
      initImage: checkImage(this.node.path, 'initImage', props.initImage ?? WireguardGateway.DEFAULT_INIT_IMAGE),
      nginxImage: checkImage(this.node.path, 'nginxImage', props.nginxImage ?? WireguardGateway.DEFAULT_NGINX_IMAGE),
      privilegedInit: settings.privilegedInit,
      listenPort: this.listenPort,
      configMap: this.configMap,
      codeConfigMap: this.codeConfigMap,
      scripts,
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

  /** Add a team of peers, usable in a route's `allowPeers` like a peer. Returns the group it defines. */
  public addPeerGroup(id: string, options: WireguardPeerGroupOptions = {}): WireguardPeerGroup {
    return new WireguardPeerGroup(this, id, { ...options, gateway: this });
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

  /** The peer groups of this gateway, in definition order. */
  public get peerGroups(): WireguardPeerGroup[] {
    return this.contents.groups;
  }

  /** The gateway's pods as a network-policy peer of any cdk8s-plus major: `db.connections.allowFrom(gateway)`. */
  public toNetworkPolicyPeerConfig(): PolicyPeerConfig {
    return this.deployment.toNetworkPolicyPeerConfig();
  }

  /** The gateway's pods as a pod selection (the gateway Deployment). */
  public toPodSelector(): IPodSelection | undefined {
    return this.deployment;
  }

  /** The gateway's pods as a pod selection of any cdk8s-plus major: `app.scheduling.separate(gateway)`. */
  public toPodSelectorConfig(): PodSelectionConfig {
    return this.deployment.toPodSelectorConfig();
  }

  /**
   * Where the gateway's pods may run: cdk8s-plus's scheduling API of the
   * Deployment (`attract` for node selection and affinity, `tolerate` for
   * taints, `colocate`/`separate`), for node and pod selections of any
   * cdk8s-plus major. The rest of it is `gateway.deployment.scheduling`.
   */
  public get scheduling(): IGatewayScheduling {
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
  public _registerPeerGroup(group: WireguardPeerGroup) {
    this.contents.addGroup(group);
  }

  /** @internal */
  public _peerGroupChanged() {
    this.contents.groupChanged();
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
