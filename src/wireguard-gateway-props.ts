import { ApiObjectMetadata, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GatewayMetricsOptions } from './gateway-metrics';
import { ClientAllowedIps, ConfigUpdates, ExternalTrafficPolicy, GatewayServiceType, ReplicaSpread, RouteAccess } from './gateway-options';
import { WireguardKey } from './wireguard-key';
import { WireguardGatewayPeer } from './wireguard-peer';

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
   * A `kubernetes.io/dockerconfigjson` Secret (any cdk8s-plus major's) to pull the images with (docker.io rate-limits anonymous pulls).
   *
   * @default - no image pull secret
   */
  readonly dockerRegistryAuth?: kplus.ISecret;

  /**
   * The pod's service account (any cdk8s-plus major's), e.g. one your cluster allows privileged pods. Its token stays unmounted.
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
   * The init container's image (the agent runs it too). It must contain `ip`
   * (iproute2), `wg` (wireguard-tools), `iptables-nft` and
   * `iptables-nft-restore` (iptables 1.8 or later), and `sha256sum`; nothing is
   * installed at boot. Pin it by digest for production
   * (`name:tag@sha256:<digest>`): it runs privileged, and a tag can be moved.
   *
   * @default "docker.io/linuxserver/wireguard:1.0.20250521-r1-ls116" (WireguardGateway.DEFAULT_INIT_IMAGE)
   */
  readonly initImage?: string;

  /**
   * The nginx image. It must run as uid 101 with the stream module built in
   * (as the official and nginx-unprivileged images do) and have `/bin/sh`,
   * `awk` and `sha256sum`. Pin it by digest for production (`name:tag@sha256:<digest>`).
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
   * How many sessions one peer may hold at once, over all routes (nginx
   * `limit_conn`, keyed by the peer's tunnel address), so that no peer can
   * take every worker connection. A peer at its limit has its next connection
   * accepted and closed at once (the client sees the connection end before any
   * data; nginx logs status 503); its open sessions go on. The default leaves
   * room for a connection pool of a few hundred, while one peer takes at most
   * 1/32 of a default gateway's 8,192 sessions.
   *
   * @default 256
   */
  readonly maxSessionsPerPeer?: number;

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
   * Who may use a route that names nobody: with `OPEN`, a route without `allowPeers` is
   * open to every peer; with `CLOSED`, every route must name its peers or peer groups
   * (`allowPeers`), and synth refuses one that does not.
   *
   * @default RouteAccess.OPEN
   */
  readonly routeAccess?: RouteAccess;

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
