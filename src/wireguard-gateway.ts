import { createHash } from 'crypto';
import { ApiObject, Chart, Duration, JsonPatch, Lazy, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AddressRequest, planAddresses } from './_address-plan';
import { invalid } from './_errors';
import { checkChildId } from './_ids';
import { checkKey } from './_keys';
import { FILES, GatewaySpec, PATHS, PeerSpec, RouteSpec } from './_model';
import { Ipv4Network, checkDnsLabel, checkDnsName, checkPort, checkUnicastIpv4, intToIpv4, ipv4ToInt, isIpv4, isIpv6, networkContains, parseAnyCidr, parseEgressCidr, parseIpv4Cidr } from './_net';
import { connectionEntries, reachableAddresses, renderClientConfig, renderHostsFile } from './_render-client';
import { renderNginxConf, renderStartNginx } from './_render-nginx';
import { renderInitScript, renderWgConf } from './_render-wireguard';
import { GatewayRoute, wholeSeconds } from './gateway-route';
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

/** Kubernetes rejects a ConfigMap whose data is larger than 1 MiB. */
const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** The user id nginx-unprivileged runs as. */
const NGINX_UID = 101;

/** How the WireGuard Service is exposed. */
export enum GatewayServiceType {
  /** A cloud load balancer on UDP (the default). */
  LOAD_BALANCER = 'LoadBalancer',
  /** A port on every node. */
  NODE_PORT = 'NodePort',
}

/** Where external traffic for the WireGuard Service goes. */
export enum ExternalTrafficPolicy {
  /** Any node may take traffic and forward it (source address is lost). */
  CLUSTER = 'Cluster',
  /** Only the node that runs the gateway takes traffic (source address kept). */
  LOCAL = 'Local',
}

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
}

interface RegisteredRoute { route: GatewayRoute }

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

  /** @internal */
  public readonly _network: Ipv4Network;

  private readonly registeredRoutes: RegisteredRoute[] = [];
  private readonly registeredPeers: WireguardPeer[] = [];
  private readonly resolverAddresses: string[];
  private readonly dnsValidSeconds: number;
  private readonly resolverTimeoutSeconds: number;
  private readonly ipv6: boolean;
  private readonly workerProcesses: number;
  private readonly maxSessionsPerWorker: number;
  private readonly privilegedInit: boolean;
  private readonly dnsRule: any;
  private readonly initContainer: kplus.Container;
  /** The preshared-key volumes live under their own scope, so no peer or route id can collide with them. */
  private readonly pskVolumes = new Construct(this, 'PresharedKeys');
  private lastSysctls?: string;
  /** The lowest listenPort of any route, or 1024 (no sysctl needed) without routes. */
  private lowestListenPort = 1024;
  private readonly cache = new Map<string, unknown>();

  constructor(scope: Construct, id: string, props: WireguardGatewayProps) {
    checkChildId(scope, id, 'gateway');
    super(scope, id);
    const path = this.node.path;

    this.namespace = checkDnsLabel(path, 'namespace', props.namespace ?? Chart.of(this).namespace ?? 'default',
      'use a Kubernetes namespace name, for example "wireguard"');
    this._network = parseIpv4Cidr(path, 'serviceNetwork', props.serviceNetwork ?? '10.99.0.0/24');
    if (this._network.prefix < 16) {
      throw invalid(path, 'serviceNetwork', props.serviceNetwork, 'must be /16 or smaller: it only holds one address per service',
        'pick a small network such as "10.99.0.0/24"');
    }
    for (const end of [this._network.base, this._network.base + 2 ** (32 - this._network.prefix) - 1]) {
      checkUnicastIpv4(path, 'serviceNetwork', props.serviceNetwork ?? this._network.cidr, end,
        `pick a private network such as "10.99.0.0/24" (${intToIpv4(end)} is not an ordinary unicast address)`);
    }
    this.serviceNetwork = this._network.cidr;
    this.listenPort = checkPort(path, 'listenPort', props.listenPort ?? 51820, 'pick a UDP port, usually 51820');
    this.mtu = props.mtu ?? 1420;
    if (!Number.isInteger(this.mtu) || this.mtu < 1280 || this.mtu > 9000) {
      throw invalid(path, 'mtu', props.mtu, 'must be an integer from 1280 to 9000', 'use 1420 (the WireGuard default), or lower it by 80 below your path MTU');
    }
    if (props.endpoint !== undefined && !isIpv4(props.endpoint) && !isIpv6(props.endpoint)) {
      checkDnsName(path, 'endpoint', props.endpoint, 'give the load balancer\'s hostname or IP address, without a port');
    }
    this.endpoint = props.endpoint;
    this.clusterDomain = checkDnsName(path, 'clusterDomain', props.clusterDomain ?? 'cluster.local', 'use your cluster\'s DNS domain, usually "cluster.local"');
    this.targetNamespacePolicies = props.targetNamespacePolicies ?? false;
    this.privilegedInit = props.privilegedInit ?? true;
    this.ipv6 = props.ipv6 ?? false;
    this.resolverAddresses = (props.resolverAddresses ?? []).map((a, i) => {
      if (!isIpv4(a) && !isIpv6(a)) {
        throw invalid(path, `resolverAddresses[${i}]`, a, 'must be an IPv4 or IPv6 address', 'give the DNS Service\'s cluster IP, for example "10.96.0.10", or omit resolverAddresses to use the pod\'s resolv.conf');
      }
      return a;
    });
    this.dnsValidSeconds = wholeSeconds(path, 'dnsCacheValidity', props.dnsCacheValidity, 5);
    this.resolverTimeoutSeconds = wholeSeconds(path, 'resolverTimeout', props.resolverTimeout, 2);
    this.workerProcesses = props.workerProcesses ?? 2;
    if (!Number.isInteger(this.workerProcesses) || this.workerProcesses < 1 || this.workerProcesses > 64) {
      throw invalid(path, 'workerProcesses', props.workerProcesses, 'must be an integer from 1 to 64', 'use 1 or 2; the pod rarely needs more');
    }
    this.maxSessionsPerWorker = props.maxSessionsPerWorker ?? 4096;
    if (!Number.isInteger(this.maxSessionsPerWorker) || this.maxSessionsPerWorker < 1 || this.maxSessionsPerWorker > 262144) {
      throw invalid(path, 'maxSessionsPerWorker', props.maxSessionsPerWorker, 'must be an integer from 1 to 262144', 'use the number of simultaneous sessions you expect, e.g. 4096');
    }
    const serviceType = props.serviceType ?? GatewayServiceType.LOAD_BALANCER;
    if (props.loadBalancerSourceRanges !== undefined && serviceType !== GatewayServiceType.LOAD_BALANCER) {
      throw invalid(path, 'loadBalancerSourceRanges', props.loadBalancerSourceRanges, `they only apply to serviceType LOAD_BALANCER, not ${serviceType}`,
        'drop loadBalancerSourceRanges, or use GatewayServiceType.LOAD_BALANCER');
    }
    const sourceRanges = props.loadBalancerSourceRanges?.map((c, i) => parseAnyCidr(path, `loadBalancerSourceRanges[${i}]`, c));
    if (props.nodePort !== undefined && (!Number.isInteger(props.nodePort) || props.nodePort < 1 || props.nodePort > 65535)) {
      throw invalid(path, 'nodePort', props.nodePort, 'must be an integer from 1 to 65535, inside the cluster\'s node port range (usually 30000-32767)', 'pick a free node port such as 31820, or omit it');
    }

    this.podLabels = {
      'app.kubernetes.io/name': 'wireguard-gateway',
      'app.kubernetes.io/instance': Names.toLabelValue(this),
    };
    const metadata = { namespace: this.namespace, labels: { ...this.podLabels } };
    const replicas = props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 10) {
      throw invalid(path, 'replicas', props.replicas, 'must be an integer from 1 to 10', 'use 1 (the default); more pods only help with a load balancer that keeps each client on one pod');
    }

    if (props.defineNamespace) {
      this.namespaceObject = new kplus.Namespace(this, 'Namespace', {
        metadata: {
          name: this.namespace,
          labels: {
            // The init container is privileged (or has NET_ADMIN): outside "baseline".
            'pod-security.kubernetes.io/enforce': 'privileged',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        },
      });
      // A Namespace is cluster-scoped: drop the namespace the chart gives every object.
      ApiObject.of(this.namespaceObject).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }

    const key = props.privateKey._bind(this, path, this.namespace);
    this.privateKeySecret = key.secret;
    this.publicKey = props.privateKey.publicKey;

    // --- ConfigMap: everything rendered, nothing secret. -------------------
    this.configMap = new kplus.ConfigMap(this, 'Config', { metadata });
    const renders: Array<[string, () => string]> = [
      [FILES.nginxConf, () => this.rendered()[FILES.nginxConf]],
      [FILES.startNginx, () => this.rendered()[FILES.startNginx]],
      [FILES.initScript, () => this.rendered()[FILES.initScript]],
      [FILES.wgConf, () => this.rendered()[FILES.wgConf]],
      [CONNECTION_INFO, () => this.rendered()[CONNECTION_INFO]],
    ];
    for (const [file, render] of renders) {
      this.configMap.addData(file, Lazy.any({ produce: render }) as unknown as string);
    }

    // --- Deployment ----------------------------------------------------------
    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata,
      replicas,
      // One pod holds the interface and the key; never two at once.
      strategy: kplus.DeploymentStrategy.recreate(),
      automountServiceAccountToken: false,
      select: false,
      podMetadata: { labels: { ...this.podLabels } },
      // No fsGroup: it would OR group-read into the key file's 0400 mode, and nothing needs it
      // (the emptyDir is world-writable, ConfigMap files are world-readable).
      securityContext: { ensureNonRoot: true, user: NGINX_UID, group: NGINX_UID },
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: this.podLabels }));
    this.deployment.podMetadata.addAnnotation('wireguard-gateway.cdk8s.io/config-checksum',
      Lazy.any({ produce: () => this.configChecksum() }) as unknown as string);

    const configVolume = kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'config' });
    const keyVolume = kplus.Volume.fromSecret(this, 'KeyVolume', this.privateKeySecret, {
      name: 'private-key',
      defaultMode: 0o400,
      items: { [key.key]: { path: PATHS.keyFile } },
    });
    const tmpVolume = kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp', { sizeLimit: Size.mebibytes(16) });

    // The one place the library relaxes cdk8s-plus's secure defaults: creating
    // a WireGuard interface and setting sysctls in the pod's netns needs root
    // with NET_ADMIN, or privileged. The container is short-lived and exits.
    this.initContainer = this.deployment.addInitContainer({
      name: 'wireguard-init',
      image: props.initImage ?? DEFAULT_INIT_IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['/bin/sh', `${PATHS.configDir}/${FILES.initScript}`],
      securityContext: this.privilegedInit
        ? { ensureNonRoot: false, user: 0, group: 0, privileged: true, allowPrivilegeEscalation: true, readOnlyRootFilesystem: true }
        : {
          ensureNonRoot: false,
          user: 0,
          group: 0,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: [capability('ALL')], add: [capability('NET_ADMIN')] },
        },
      resources: props.initResources ?? {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
      },
      volumeMounts: [
        { path: PATHS.configDir, volume: configVolume, readOnly: true },
        { path: PATHS.keyDir, volume: keyVolume, readOnly: true },
      ],
    });

    this.deployment.addContainer({
      name: 'nginx',
      image: props.nginxImage ?? DEFAULT_NGINX_IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['/bin/sh', `${PATHS.configDir}/${FILES.startNginx}`],
      securityContext: {
        ensureNonRoot: true,
        user: NGINX_UID,
        group: NGINX_UID,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: [capability('ALL')] },
      },
      resources: props.nginxResources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
      },
      ports: [{ number: this.listenPort, protocol: kplus.Protocol.UDP, name: 'wireguard' }],
      volumeMounts: [
        { path: PATHS.configDir, volume: configVolume, readOnly: true },
        { path: PATHS.runDir, volume: tmpVolume },
      ],
    });

    const podPatches = [
      // Pod Security "restricted" for nginx; a privileged container ignores it.
      JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }),
    ];
    ApiObject.of(this.deployment).addJsonPatch(...podPatches);
    this.updateSysctls();

    // --- Service -------------------------------------------------------------
    this.service = new kplus.Service(this, 'Service', {
      metadata: { ...metadata, annotations: props.serviceAnnotations },
      type: serviceType === GatewayServiceType.NODE_PORT ? kplus.ServiceType.NODE_PORT : kplus.ServiceType.LOAD_BALANCER,
      selector: this.deployment,
      ports: [{ name: 'wireguard', port: this.listenPort, targetPort: this.listenPort, protocol: kplus.Protocol.UDP, nodePort: props.nodePort }],
      loadBalancerSourceRanges: sourceRanges,
    });
    ApiObject.of(this.service).addJsonPatch(
      JsonPatch.add('/spec/externalTrafficPolicy', props.externalTrafficPolicy ?? ExternalTrafficPolicy.CLUSTER),
      // A peer's WireGuard session lives in one pod: keep each client on it.
      JsonPatch.add('/spec/sessionAffinity', 'ClientIP'),
    );

    // --- NetworkPolicy -------------------------------------------------------
    this.dnsRule = this.renderDnsRule(path, props);
    this.networkPolicy = new ApiObject(this, 'NetworkPolicy', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata,
      spec: Lazy.any({ produce: () => this.policySpec() }),
    });

    for (const p of props.peers ?? []) {
      this.addPeer(p.name, p);
    }

    this.node.addValidation({ validate: () => this.validateGateway() });
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
   * and endpoint, AllowedIPs = the service addresses this peer may reach, and
   * PersistentKeepalive. The private key is a placeholder unless given.
   */
  public clientConfig(peer: WireguardPeer, options: ClientConfigOptions = {}): string {
    const path = this.node.path;
    if (!this.peerSet().has(peer)) {
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
      allowedAddresses: this.addressesFor(peer),
      persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
    });
  }

  /** The routes as hosts-file lines: `<address> <route name>`. */
  public hostsFile(): string {
    return renderHostsFile(this.routeSpecs());
  }

  /**
   * The connection information as JSON: the endpoint, the server's public key,
   * every route (name, address, port, target) and every peer with the
   * addresses it may reach. Also in the ConfigMap as `connection-info.json`.
   */
  public connectionInfo(): string {
    return this.memo('connectionInfo', () => this.renderConnectionInfo());
  }

  private renderConnectionInfo(): string {
    const routes = this.routeSpecs();
    return JSON.stringify({
      gateway: this.node.path,
      endpoint: this.endpoint ?? null,
      listenPort: this.listenPort,
      mtu: this.mtu,
      publicKey: this.publicKey,
      serviceNetwork: this.serviceNetwork,
      routes: connectionEntries(routes),
      peers: [...this.registeredPeers]
        .sort((a, b) => ipv4ToInt(a.address) - ipv4ToInt(b.address))
        .map((p) => ({
          name: p.node.id,
          address: p.address,
          publicKey: p.publicKey,
          persistentKeepalive: p.persistentKeepaliveSeconds,
          presharedKey: p._presharedKey !== undefined,
        })),
    }, null, 2) + '\n';
  }

  /** The routes of this gateway, in definition order. */
  public get routes(): GatewayRoute[] {
    return this.registeredRoutes.map((r) => r.route);
  }

  /** The peers of this gateway, in definition order. */
  public get peers(): WireguardPeer[] {
    return [...this.registeredPeers];
  }

  /** @see kplus.INetworkPolicyPeer */
  public toNetworkPolicyPeerConfig(): kplus.NetworkPolicyPeerConfig {
    return this.deployment.toNetworkPolicyPeerConfig();
  }

  /** @see kplus.INetworkPolicyPeer */
  public toPodSelector(): kplus.IPodSelector | undefined {
    return this.deployment.toPodSelector();
  }

  // --- Internal ----------------------------------------------------------------

  /** @internal */
  public _registerRoute(route: GatewayRoute) {
    this.registeredRoutes.push({ route });
    // Kept as routes arrive: recomputing it over all routes per route was O(routes²).
    this.lowestListenPort = Math.min(this.lowestListenPort, route.listenPort);
    this.cache.clear();
    this.updateSysctls();
  }

  /** @internal */
  public _registerPeer(peer: WireguardPeer) {
    this.registeredPeers.push(peer);
    this.cache.clear();
    if (peer._presharedKey !== undefined) {
      // Peer i's key file is <pskDir>/<i>/psk, as peerSpecs() tells the init script.
      const i = this.registeredPeers.length - 1;
      const vol = kplus.Volume.fromSecret(this.pskVolumes, `${i}`, peer._presharedKey.secret, {
        name: `psk-${i}`,
        defaultMode: 0o400,
        items: { [peer._presharedKey.key]: { path: 'psk' } },
      });
      this.initContainer.mount(`${PATHS.pskDir}/${i}`, vol, { readOnly: true });
    }
  }

  /** @internal */
  public _inServiceNetwork(address: number): boolean {
    return networkContains(this._network, address);
  }

  /** @internal */
  public _addressOf(route: GatewayRoute): string {
    const index = this.memo('routeIndex', () => new Map(this.registeredRoutes.map(({ route: r }, i) => [r, i])));
    return this.plan().addresses[index.get(route)!];
  }

  /**
   * Everything derived from the routes and peers is computed once per state:
   * routes and peers only grow, and each registration clears the cache.
   */
  private memo<T>(key: string, compute: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, compute());
    return this.cache.get(key) as T;
  }

  private peerSet(): Set<WireguardPeer> {
    return this.memo('peerSet', () => new Set(this.registeredPeers));
  }

  private plan() {
    return this.memo('plan', () => {
      const requests: AddressRequest[] = this.registeredRoutes.map(({ route }) => ({ path: route.node.path, address: route._explicitAddress }));
      return planAddresses(this._network, requests);
    });
  }

  private routeSpecs(): RouteSpec[] {
    return this.memo('routeSpecs', () => {
      const { addresses } = this.plan();
      return this.registeredRoutes.map(({ route }, i) => route._spec(addresses[i]));
    });
  }

  /** The rendered ConfigMap files. */
  private rendered(): Record<string, string> {
    return this.memo('rendered', () => {
      const spec = this.spec();
      return {
        [FILES.nginxConf]: renderNginxConf(spec),
        [FILES.startNginx]: renderStartNginx(spec),
        [FILES.initScript]: renderInitScript(spec),
        [FILES.wgConf]: renderWgConf(spec),
        [CONNECTION_INFO]: this.connectionInfo(),
      };
    });
  }

  private peerSpecs(): PeerSpec[] {
    return this.registeredPeers.map((p, i) => ({
      name: p.node.id,
      path: p.node.path,
      publicKey: p.publicKey,
      address: p.address,
      presharedKeyFile: p._presharedKey !== undefined ? `${PATHS.pskDir}/${i}/psk` : undefined,
    }));
  }

  /** The service addresses a peer may reach: those with a route that allows it. */
  private addressesFor(peer: WireguardPeer): string[] {
    return this.memo('reachable', () => reachableAddresses(connectionEntries(this.routeSpecs())))(peer.address);
  }

  private spec(): GatewaySpec {
    return this.memo('spec', () => this.computeSpec());
  }

  private computeSpec(): GatewaySpec {
    const routes = this.routeSpecs();
    return {
      path: this.node.path,
      interfaceName: 'wg0',
      listenPort: this.listenPort,
      mtu: this.mtu,
      serviceNetwork: this.serviceNetwork,
      resolver: {
        addresses: this.resolverAddresses,
        validSeconds: this.dnsValidSeconds,
        timeoutSeconds: this.resolverTimeoutSeconds,
        ipv6: this.ipv6,
      },
      workerProcesses: this.workerProcesses,
      // Two connections per session, plus one per listener, plus headroom.
      workerConnections: this.maxSessionsPerWorker * 2 + routes.length + 64,
      initSetsSysctls: this.privilegedInit,
      routes,
      peers: this.peerSpecs(),
    };
  }

  private configChecksum(): string {
    const h = createHash('sha256');
    for (const [file, text] of Object.entries(this.rendered()).sort(([a], [b]) => (a < b ? -1 : 1))) {
      h.update(file).update('\0').update(text).update('\0');
    }
    return h.digest('hex');
  }

  /**
   * Sets the pod's sysctls from what is known now. A patch, not a Lazy: the
   * typed Deployment serializer runs after patches and cannot take a Lazy
   * there. A later "add" to the same path replaces the earlier value.
   */
  private updateSysctls() {
    const sysctls = this.podSysctls();
    const key = JSON.stringify(sysctls);
    if (key === this.lastSysctls) return;
    this.lastSysctls = key;
    if (sysctls.length > 0) {
      ApiObject.of(this.deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/sysctls', sysctls));
    }
  }

  private podSysctls(): Array<{ name: string; value: string }> {
    const sysctls: Array<{ name: string; value: string }> = [];
    const lowest = this.lowestListenPort;
    if (lowest < 1024) {
      // nginx runs as non-root; a "safe", namespaced sysctl lets it bind low ports.
      sysctls.push({ name: 'net.ipv4.ip_unprivileged_port_start', value: String(lowest) });
    }
    if (!this.privilegedInit) {
      // Unsafe sysctl: the kubelet must allow it (--allowed-unsafe-sysctls).
      sysctls.push({ name: 'net.ipv4.ip_forward', value: '0' });
    }
    return sysctls;
  }

  private renderDnsRule(path: string, props: WireguardGatewayProps): any {
    const ns = checkDnsLabel(path, 'dnsNamespace', props.dnsNamespace ?? 'kube-system', 'use the namespace of your cluster DNS, usually "kube-system"');
    const labels = props.dnsPodLabels ?? { 'k8s-app': 'kube-dns' };
    const cidrs = (props.dnsCidrs ?? []).map((c, i) => parseEgressCidr(path, `dnsCidrs[${i}]`, c));
    return {
      to: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } }, podSelector: { matchLabels: labels } },
        ...cidrs.map((cidr) => ({ ipBlock: { cidr } })),
      ],
      ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
    };
  }

  private policySpec(): any {
    // One rule per distinct destination; sorted so the output never depends on definition order.
    const seen = new Map<string, any>();
    for (const { route } of this.registeredRoutes) {
      const rule = route._egressRule();
      seen.set(JSON.stringify(rule), rule);
    }
    const routeRules = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    return {
      podSelector: { matchLabels: this.podLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'UDP', port: this.listenPort }] }],
      egress: [this.dnsRule, ...routeRules],
    };
  }

  private validateGateway(): string[] {
    const errors: string[] = [];
    const path = this.node.path;
    if (this.registeredRoutes.length === 0) {
      errors.push(`${path}: the gateway exposes nothing. Fix: add a route with addProxiedService or addManagedDbRoute (or new ProxiedService / new ManagedDbRoute)`);
      return errors;
    }
    const plan = this.plan();
    errors.push(...plan.errors);
    if (plan.errors.length > 0) return errors;
    const used = new Map<string, GatewayRoute>();
    this.registeredRoutes.forEach(({ route }, i) => {
      const key = `${plan.addresses[i]}:${route.listenPort}`;
      const other = used.get(key);
      if (other !== undefined) {
        errors.push(`${route.node.path}: invalid listenPort ${route.listenPort}: ${key} is already used by ${other.node.path}. Fix: give one of them another listenPort, or another address`);
      } else {
        used.set(key, route);
      }
      for (const peer of route._allowPeers() ?? []) {
        if (!this.peerSet().has(peer)) {
          errors.push(`${route.node.path}: invalid allowPeers entry ${JSON.stringify(peer.node.path)}: it is not a peer of ${path}. Fix: add the peer with this gateway's addPeer, or remove it from allowPeers`);
        }
      }
    });
    // A route's name is its key in the connection map and its host name in the
    // hosts file (case-insensitive): two routes may not share one.
    const byName = new Map<string, GatewayRoute>();
    for (const { route } of this.registeredRoutes) {
      const other = byName.get(route.node.id.toLowerCase());
      if (other !== undefined) {
        errors.push(`${route.node.path}: invalid route name ${JSON.stringify(route.node.id)}: route ${other.node.path} has the same name (names are case-insensitive). Fix: give every route of the gateway its own id`);
      } else {
        byName.set(route.node.id.toLowerCase(), route);
      }
    }
    // The pod routes each peer's /32 into the tunnel: a peer address that is
    // also a resolver or a /32 egress destination would hand that traffic to the peer.
    // A Set: one lookup per peer, not a scan of every route's CIDRs (O(peers × routes)).
    const egressCidrs = new Set([this.dnsRule, ...this.registeredRoutes.map(({ route }) => route._egressRule())]
      .flatMap((rule: any) => (rule.to ?? []).map((t: any) => t.ipBlock?.cidr))
      .filter((c: string | undefined): c is string => c !== undefined && !c.includes(':')));
    const byAddress = new Map<string, WireguardPeer>();
    const byKey = new Map<string, WireguardPeer>();
    for (const p of this.registeredPeers) {
      if (this.resolverAddresses.includes(p.address)) {
        errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is one of the gateway's resolverAddresses, so the pod would send its DNS queries to this peer. Fix: give the peer an address outside every network the gateway talks to`);
      }
      if (egressCidrs.has(`${p.address}/32`)) {
        errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is the egress destination ${p.address}/32, so the pod would send that traffic to this peer. Fix: give the peer an address outside every network the gateway talks to`);
      }
      const a = byAddress.get(p.address);
      if (a !== undefined) {
        errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is already the address of peer ${a.node.path}. Fix: give every peer its own tunnel address`);
      } else {
        byAddress.set(p.address, p);
      }
      const k = byKey.get(p.publicKey);
      if (k !== undefined) {
        errors.push(`${p.node.path}: invalid publicKey ${JSON.stringify(p.publicKey)}: it is already the key of peer ${k.node.path}. Fix: every peer needs its own key pair (wg genkey)`);
      } else {
        byKey.set(p.publicKey, p);
      }
      if (p.publicKey === this.publicKey) {
        errors.push(`${p.node.path}: invalid publicKey ${JSON.stringify(p.publicKey)}: it is the gateway's own public key. Fix: give the peer its own key pair (wg genkey)`);
      }
    }
    if (errors.length === 0) {
      const bytes = Object.entries(this.rendered()).reduce((n, [file, text]) => n + Buffer.byteLength(file) + Buffer.byteLength(text), 0);
      if (bytes > MAX_CONFIGMAP_BYTES) {
        errors.push(`${path}: the rendered configuration is ${bytes} bytes (${this.registeredRoutes.length} routes, ${this.registeredPeers.length} peers), `
          + `but a ConfigMap holds at most ${MAX_CONFIGMAP_BYTES} bytes (1 MiB), so the API server would reject it. `
          + 'Fix: split the routes and peers over several gateways (one gateway holds roughly 1,000 routes and 1,000 peers)');
      }
    }
    return errors;
  }
}

/**
 * A capability as Kubernetes spells it. cdk8s-plus-27's enum writes
 * "CAP_NET_ADMIN" and has no "ALL"; the kubelet wants "NET_ADMIN" and "ALL".
 */
function capability(name: 'ALL' | 'NET_ADMIN'): kplus.Capability {
  return name as unknown as kplus.Capability;
}
