/**
 * The validation matrix: every class of bad input the library rejects, with
 * the input that shows it and the exact message. docs/validation.md lists the
 * same classes; test/validation.test.ts runs each one and checks that the
 * document and this table agree.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ClientAllowedIps, ConfigUpdates, DatabaseEngine, GatewayMetricsOptions, GatewayServiceType, RouteAccess, WireguardGateway, WireguardKey, WireguardPeerGroup } from '../src';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY, TEST_SERVER_PUBLIC_KEY, synth, testChart, testGateway } from './util';

export interface ValidationCase {
  /** Stable id, also in docs/validation.md. */
  readonly id: string;
  /** The class of bad input. */
  readonly title: string;
  /** The group it belongs to in the document. */
  readonly group: string;
  /** 'construct' errors throw at once; 'synth' errors come from node.addValidation at synth. */
  readonly when: 'construct' | 'synth';
  /** Does the bad thing; throws. */
  readonly run: () => unknown;
  /** The exact message (for 'synth', one line of the aggregated report, with cdk8s's "[path] " prefix). */
  readonly message: string;
}

/** A gateway with one route, so whole-app checks get past "exposes nothing". */
function gatewayWithRoute(props: Parameters<typeof testGateway>[0] = {}, scope?: Construct): WireguardGateway {
  const gw = testGateway(props, scope);
  gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
  return gw;
}

const peer = (gw: WireguardGateway, id = 'laptop', address = '10.98.0.2', publicKey = PEER_KEYS[0]) => gw.addPeer(id, { publicKey, address });

/** Who scrapes the metrics: any network-policy peer (here an IP block, which needs no chart). */
const prometheus = () => kplus.NetworkPolicyIpBlock.ipv4(testChart('monitoring'), 'Prometheus', '10.0.9.0/24');

const C = (id: string, group: string, title: string, when: 'construct' | 'synth', run: () => unknown, message: string): ValidationCase =>
  ({ id, group, title, when, run, message });

const NET = 'CIDRs, addresses and ports';
const NAMES = 'Keys and DNS names';
const DUP = 'Duplicates, collisions and an exhausted network';
const CONTRA = 'Contradictory and missing options';
const RANGE = 'Numbers and durations';
const APP = 'Whole-app conditions (reported together at synth)';
const ACCESS = 'Peer state, peer groups and closed routes';

export const CASES: ValidationCase[] = [
  // --- CIDRs, addresses and ports -------------------------------------------
  C('V01', NET, 'a CIDR without its /prefix', 'construct', () => testGateway({ serviceNetwork: '10.99.0.0' }),
    'test/gw: invalid serviceNetwork "10.99.0.0": an IPv4 CIDR needs a /prefix. Fix: did you mean "10.99.0.0/32"'),
  C('V02', NET, 'a malformed IPv4 CIDR', 'construct', () => testGateway({ serviceNetwork: '10.99.0/24' }),
    'test/gw: invalid serviceNetwork "10.99.0/24": must be an IPv4 CIDR "a.b.c.d/n" with n from 0 to 32. Fix: write it as "a.b.c.d/n", for example "10.99.0.0/24"'),
  C('V03', NET, 'a CIDR with host bits set', 'construct', () => testGateway({ serviceNetwork: '10.99.0.1/24' }),
    'test/gw: invalid serviceNetwork "10.99.0.1/24": the address has host bits set for its prefix. Fix: did you mean "10.99.0.0/24"'),
  C('V04', NET, 'a service network larger than /16', 'construct', () => testGateway({ serviceNetwork: '10.0.0.0/8' }),
    'test/gw: invalid serviceNetwork "10.0.0.0/8": must be /16 or smaller: it only holds one address per service. Fix: pick a small network such as "10.99.0.0/20"'),
  C('V05', NET, 'a service network in a special range (loopback, link-local, multicast, ...)', 'construct', () => testGateway({ serviceNetwork: '127.0.0.0/24' }),
    'test/gw: invalid serviceNetwork "127.0.0.0/24": it is in the loopback range, which is not for tunnel or service addresses. Fix: pick a private network such as "10.99.0.0/20" (127.0.0.0 is not an ordinary unicast address)'),
  C('V06', NET, 'an IPv6 CIDR with host bits set', 'construct', () => testGateway({ loadBalancerSourceRanges: ['2001:db8::1/32'] }),
    'test/gw: invalid loadBalancerSourceRanges[0] "2001:db8::1/32": the address has host bits set for its prefix. Fix: did you mean "2001:db8::/32"'),
  C('V07', NET, 'text that is no CIDR at all', 'construct', () => testGateway({ loadBalancerSourceRanges: ['any:where'] }),
    'test/gw: invalid loadBalancerSourceRanges[0] "any:where": must be an IPv4 or IPv6 CIDR. Fix: write it as "a.b.c.d/n" or "x:y::/n"'),
  C('V08', NET, 'an egress CIDR of /0 (every address)', 'construct', () => testGateway().addManagedDbRoute('rds', { host: 'db.example.com', port: 5432, cidrs: ['0.0.0.0/0'] }),
    'test/gw/rds: invalid cidrs[0] "0.0.0.0/0": a /0 opens the gateway\'s egress to every address on that port. Fix: list the subnets where the target lives, for example "10.20.0.0/16"'),
  C('V09', NET, 'a port outside 1-65535', 'construct', () => testGateway({ listenPort: 70000 }),
    'test/gw: invalid listenPort 70000: must be an integer from 1 to 65535. Fix: pick a UDP port, usually 51820'),
  C('V10', NET, 'a node port outside the node port range (30000-32767, or serviceNodePortRange)', 'construct', () => testGateway({ serviceType: GatewayServiceType.NODE_PORT, nodePort: 80 }),
    'test/gw: invalid nodePort 80: must be an integer inside the cluster\'s node port range 30000-32767. Fix: pick a free node port such as 31820, or omit nodePort to let Kubernetes pick one; if your API server\'s --service-node-port-range differs, set serviceNodePortRange'),
  C('V66', NET, 'a node port range that is not "<first>-<last>" in order', 'construct', () => testGateway({ nodePort: 31820, serviceNodePortRange: '32767-30000' }),
    'test/gw: invalid serviceNodePortRange "32767-30000": must be "<first>-<last>", two ports from 1 to 65535 in order, as the API server\'s --service-node-port-range. Fix: copy your API server\'s --service-node-port-range, or omit it for the default "30000-32767"'),
  C('V11', NET, 'a route address with a prefix', 'construct', () => testGateway().addProxiedService('pg', { serviceName: 'pg', port: 5432, address: '10.99.0.5/32' }),
    'test/gw/pg: invalid address "10.99.0.5/32": must be a single IPv4 address "a.b.c.d". Fix: give a single address without a prefix, for example "10.99.0.5"'),
  C('V12', NET, 'a route address outside the service network', 'construct', () => testGateway().addProxiedService('pg', { serviceName: 'pg', port: 5432, address: '10.98.0.5' }),
    'test/gw/pg: invalid address "10.98.0.5": it is outside the gateway\'s serviceNetwork 10.99.0.0/20. Fix: give an address inside 10.99.0.0/20, or omit it to derive one from the route\'s name'),
  C('V13', NET, 'a peer address inside the service network', 'construct', () => peer(testGateway(), 'laptop', '10.99.0.7'),
    'test/gw/laptop: invalid address "10.99.0.7": it is inside the gateway\'s serviceNetwork 10.99.0.0/20, which holds the service addresses. Fix: give the peer an address outside 10.99.0.0/20, for example in a separate peer network'),
  C('V14', NET, 'a peer address in a special range (loopback, link-local, multicast, ...)', 'construct', () => peer(testGateway(), 'laptop', '169.254.169.254'),
    'test/gw/laptop: invalid address "169.254.169.254": it is in the linkLocal range, which is not for tunnel or service addresses. Fix: give the peer an ordinary private address, for example "10.98.0.2"'),
  C('V15', NET, 'a resolver address that is no IP address', 'construct', () => testGateway({ resolverAddresses: ['10.96.0.10:53'] }),
    'test/gw: invalid resolverAddresses[0] "10.96.0.10:53": must be an IPv4 or IPv6 address. Fix: give the DNS Service\'s cluster IP, for example "10.96.0.10", or omit resolverAddresses to use the pod\'s resolv.conf'),
  C('V16', NET, 'an IPv6 address with a zone index', 'construct', () => testGateway({ resolverAddresses: ['fe80::1%eth0'] }),
    'test/gw: invalid resolverAddresses[0] "fe80::1%eth0": must be an IPv4 or IPv6 address. Fix: give the DNS Service\'s cluster IP, for example "10.96.0.10", or omit resolverAddresses to use the pod\'s resolv.conf'),
  C('V90', NET, 'a metrics port outside 1-65535', 'construct', () => testGateway({ metrics: { scrapeFrom: prometheus(), port: 0 } }),
    'test/gw: invalid metrics.port 0: must be an integer from 1 to 65535. Fix: use 9586 (the usual WireGuard exporter port) or another free TCP port'),

  // --- Keys and DNS names ----------------------------------------------------
  C('V17', NAMES, 'a private key that is not 32 bytes of base64 (never echoed)', 'construct', () => new WireguardGateway(testChart(), 'gw', { privateKey: WireguardKey.unsafeFromBase64('c2VjcmV0LWJ1dC1zaG9ydA==') }),
    'test/gw: invalid privateKey "<24 characters>": must be 32 bytes of base64 (44 characters ending in "="), as printed by wg genkey / wg pubkey. Fix: generate one with "wg genkey" or "npx cdk8s-wireguard-gateway keygen"; better, keep it in a Secret and use WireguardKey.fromSecretName'),
  C('V18', NAMES, 'a public key that is not a WireGuard key', 'construct', () => peer(testGateway(), 'laptop', '10.98.0.2', 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY'),
    'test/gw/laptop: invalid publicKey "<43 characters>": must be 32 bytes of base64 (44 characters ending in "="), as printed by wg genkey / wg pubkey. Fix: pass the peer\'s public key: wg pubkey < peer.key'),
  C('V19', NAMES, 'a Secret key name with characters Secrets do not allow', 'construct', () => {
    const chart = testChart();
    return new WireguardGateway(chart, 'gw', { privateKey: WireguardKey.fromSecret(kplus.Secret.fromSecretName(chart, 'S', 'wg-key'), { publicKey: TEST_SERVER_PUBLIC_KEY, key: 'private key' }) });
  }, 'test/gw: invalid privateKey key "private key": a Secret key is made of letters, digits, "-", "_" and ".". Fix: pass the key under which the Secret stores the private key, for example "private-key"'),
  C('V20', NAMES, 'a host name with characters that could change a rendered file', 'construct', () => testGateway().addManagedDbRoute('rds', { host: 'db.example.com;\n  allow all', port: 5432, cidrs: ['10.20.0.0/16'] }),
    'test/gw/rds: invalid host "db.example.com;\\n  allow all": must be a DNS name: labels of a-z, 0-9 and "-", 1 to 63 characters each, separated by dots, at most 253 characters. Fix: give the database endpoint\'s DNS name, for example "mydb.abc123.eu-west-1.rds.amazonaws.com"'),
  C('V21', NAMES, 'a host whose last label is all digits but is no IPv4 address', 'construct', () => testGateway().addManagedDbRoute('rds', { host: '10.0.0.256', port: 5432, cidrs: ['10.20.0.0/16'] }),
    'test/gw/rds: invalid host "10.0.0.256": it is neither a DNS name (its last label is all digits) nor an IPv4 address. Fix: give the database endpoint\'s DNS name, for example "mydb.abc123.eu-west-1.rds.amazonaws.com"'),
  C('V22', NAMES, 'an endpoint that is neither an IP address nor a DNS name', 'construct', () => testGateway({ endpoint: 'vpn.example.com:51820' }),
    'test/gw: invalid endpoint "vpn.example.com:51820": must be a DNS name: labels of a-z, 0-9 and "-", 1 to 63 characters each, separated by dots, at most 253 characters. Fix: give the load balancer\'s hostname or IP address, without a port'),
  C('V23', NAMES, 'a cluster domain that is no DNS name', 'construct', () => testGateway({ clusterDomain: 'cluster_local' }),
    'test/gw: invalid clusterDomain "cluster_local": must be a DNS name: labels of a-z, 0-9 and "-", 1 to 63 characters each, separated by dots, at most 253 characters. Fix: use your cluster\'s DNS domain, usually "cluster.local"'),
  C('V24', NAMES, 'a namespace that is no DNS label', 'construct', () => testGateway({ namespace: 'VPN gateways' }),
    'test/gw: invalid namespace "VPN gateways": must be a DNS label: 1 to 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit. Fix: use a Kubernetes namespace name, for example "wireguard"'),
  C('V25', NAMES, 'a Service name that is no DNS label', 'construct', () => testGateway().addProxiedService('pg', { serviceName: 'pg";rm', port: 5432 }),
    'test/gw/pg: invalid serviceName "pg\\";rm": must be a DNS label: 1 to 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit. Fix: use the Service\'s metadata.name'),
  C('V26', NAMES, 'a Service name, namespace and cluster domain longer than a DNS name together', 'construct', () => testGateway({ clusterDomain: `${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}` }).addProxiedService('pg', { serviceName: 'p'.repeat(40), port: 5432 }),
    `test/gw/pg: invalid serviceName "${'p'.repeat(40)}.wireguard.svc.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}": must be a DNS name: labels of a-z, 0-9 and "-", 1 to 63 characters each, separated by dots, at most 253 characters. Fix: shorten the Service name, its namespace or the gateway's clusterDomain: together they form the DNS name nginx resolves`),
  C('V27', NAMES, 'a DNS namespace that is no DNS label', 'construct', () => testGateway({ dnsNamespace: 'kube_system' }),
    'test/gw: invalid dnsNamespace "kube_system": must be a DNS label: 1 to 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit. Fix: use the namespace of your cluster DNS, usually "kube-system"'),
  C('V181', NAMES, 'an image that is no image reference', 'construct', () => testGateway({ nginxImage: 'Nginx:1.28' }),
    'test/gw: invalid nginxImage "Nginx:1.28": must be an image reference: [registry[:port]/]repository[:tag][@sha256:<64 hexadecimal digits>], the repository in lower case. '
    + 'Fix: give a reference such as "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine", or leave the prop out for the default'),
  C('V182', NAMES, 'an image pinned by a malformed digest', 'construct', () => testGateway({ initImage: 'docker.io/linuxserver/wireguard:1.0.20250521-r1-ls116@sha256:0123abc' }),
    'test/gw: invalid initImage "docker.io/linuxserver/wireguard:1.0.20250521-r1-ls116@sha256:0123abc": a sha256 digest is 64 lowercase hexadecimal digits (this one has 7 characters). '
    + 'Fix: copy the digest your registry reports for the image you reviewed (crane digest <image>, or docker buildx imagetools inspect <image>), or drop "@..." to pin by tag only'),
  C('V67', NAMES, 'a gateway name that is no DNS-1035 label', 'construct', () => testGateway({ name: 'VPN_gw' }),
    'test/gw: invalid name "VPN_gw": must be a DNS-1035 label: 1 to 63 characters of a-z, 0-9 and "-", starting with a letter and ending with a letter or digit; it names every object of the gateway. Fix: use a name like "vpn-gw"'),
  C('V68', NAMES, 'a construct id that cannot be the gateway\'s name, without a name', 'construct', () => new WireguardGateway(testChart(), 'VPN_Gateway', { privateKey: WireguardKey.unsafeFromBase64(TEST_SERVER_PRIVATE_KEY) }),
    'test/VPN_Gateway: invalid name undefined: without a name the construct id "VPN_Gateway", in lower case, names every object of the gateway, and it is not a DNS-1035 label: 1 to 63 characters of a-z, 0-9 and "-", starting with a letter and ending with a letter or digit. Fix: pass name, for example name: "vpn-gateway"'),
  C('V69', NAMES, 'a label key that is no qualified name', 'construct', () => testGateway({ serviceLabels: { 'team name': 'payments' } }),
    'test/gw: invalid serviceLabels key "team name": must be a qualified name: an optional DNS subdomain prefix and "/", then 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit. Fix: use a key like "example.com/team" or "team"'),
  C('V70', NAMES, 'a label value that is no label value', 'construct', () => testGateway({ podMetadata: { labels: { team: 'payments team' } } }),
    'test/gw: invalid podMetadata.labels["team"] "payments team": a label value is empty or 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit. Fix: use a short value like "payments"; put free text in an annotation'),
  C('V71', NAMES, 'an annotation key that is no qualified name', 'construct', () => testGateway({ serviceAnnotations: { 'example.com/a/b': 'x' } }),
    'test/gw: invalid serviceAnnotations key "example.com/a/b": must be a qualified name: an optional DNS subdomain prefix and "/", then 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit. Fix: use a key like "example.com/owner"'),
  C('V72', NAMES, 'a loadBalancerClass that is no qualified name', 'construct', () => testGateway({ loadBalancerClass: 'aws nlb' }),
    'test/gw: invalid loadBalancerClass "aws nlb": must be a qualified name: an optional DNS subdomain prefix and "/", then 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit. Fix: use your load balancer controller\'s class, for example "service.k8s.aws/nlb" (AWS Load Balancer Controller)'),
  C('V73', NAMES, 'a priority class name that is no DNS subdomain', 'construct', () => testGateway({ priorityClassName: 'High_Priority' }),
    'test/gw: invalid priorityClassName "High_Priority": must be a DNS subdomain: at most 253 characters of a-z, 0-9, "-" and ".", each dot-separated part starting and ending with a letter or digit. Fix: use the name of a PriorityClass of the cluster, for example "system-cluster-critical"'),
  C('V74', NAMES, 'a Secret name that is no DNS subdomain', 'construct', () => testGateway({ privateKey: WireguardKey.fromSecretName('wg_key', { publicKey: TEST_SERVER_PUBLIC_KEY }) }),
    'test/gw: invalid privateKey secretName "wg_key": must be a DNS subdomain: at most 253 characters of a-z, 0-9, "-" and ".", each dot-separated part starting and ending with a letter or digit. Fix: pass the name of the Secret that holds the private key, for example "wireguard-gateway-key"'),
  C('V94', NAMES, 'a monitoring label that is not a Kubernetes label', 'construct', () => testGateway({ metrics: { scrapeFrom: prometheus(), podMonitor: true, monitorLabels: { release: 'kube prometheus' } } }),
    'test/gw: invalid metrics.monitorLabels["release"] "kube prometheus": a label value is empty or 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit. Fix: use a short value like "payments"; put free text in an annotation'),
  C('V96', NAMES, 'a dashboard namespace that is no DNS label', 'construct', () => testGateway({ metrics: { scrapeFrom: prometheus(), grafanaDashboard: true, dashboardNamespace: 'Monitoring' } }),
    'test/gw: invalid metrics.dashboardNamespace "Monitoring": must be a DNS label: 1 to 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit. Fix: use the namespace the Grafana sidecar watches, for example "monitoring"'),

  // --- Duplicates, collisions -------------------------------------------------
  C('V28', DUP, 'a route or peer id already taken in its scope (a route and a peer of one name, or a gateway part)', 'construct', () => {
    const gw = testGateway();
    peer(gw, 'pg');
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
  }, 'test/gw/pg: invalid route id "pg": test/gw already has a child named "pg" (WireguardPeer). Fix: give the route a name that no other route, peer or part of the same scope uses'),
  C('V29', DUP, 'an id that is the name of a JavaScript object member', 'construct', () => peer(testGateway(), 'constructor'),
    'test/gw/constructor: invalid peer id "constructor": names of JavaScript object members (toString, constructor, __proto__, ...) cannot be construct ids. Fix: pick another name, for example "constructor-1"'),
  C('V95', DUP, 'a monitoring label the gateway sets itself', 'construct', () => testGateway({ metrics: { scrapeFrom: prometheus(), grafanaDashboard: true, dashboardLabels: { 'app.kubernetes.io/name': 'grafana' } } }),
    'test/gw: invalid metrics.dashboardLabels["app.kubernetes.io/name"] "grafana": the gateway sets this label on its objects itself (to "wireguard-gateway"). Fix: drop it from metrics.dashboardLabels; add your own label under another key'),

  // --- Contradictory and missing options -----------------------------------------
  C('V30', CONTRA, 'loadBalancerSourceRanges on a NodePort Service', 'construct', () => testGateway({ serviceType: GatewayServiceType.NODE_PORT, loadBalancerSourceRanges: ['192.0.2.0/24'] }),
    'test/gw: invalid loadBalancerSourceRanges ["192.0.2.0/24"]: they only apply to serviceType LOAD_BALANCER, not NodePort. Fix: drop loadBalancerSourceRanges, or use GatewayServiceType.LOAD_BALANCER'),
  C('V75', CONTRA, 'defineNamespace on a namespace other workloads share (default, kube-system, kube-public, kube-node-lease)', 'construct', () => testGateway({ defineNamespace: true }, testChart('default')),
    'test/gw: invalid namespace "default": defineNamespace labels the namespace "pod-security.kubernetes.io/enforce: privileged", which would lower Pod Security for every workload in it; "default", "kube-system", "kube-public", "kube-node-lease" are refused. Fix: give the gateway a namespace of its own (the namespace prop or the chart\'s, for example "wireguard"), or drop defineNamespace'),
  C('V76', CONTRA, 'loadBalancerClass on a NodePort Service', 'construct', () => testGateway({ serviceType: GatewayServiceType.NODE_PORT, loadBalancerClass: 'service.k8s.aws/nlb' }),
    'test/gw: invalid loadBalancerClass "service.k8s.aws/nlb": it only applies to serviceType LOAD_BALANCER, not NodePort. Fix: drop loadBalancerClass, or use GatewayServiceType.LOAD_BALANCER'),
  C('V77', CONTRA, 'serviceNodePortRange without nodePort', 'construct', () => testGateway({ serviceNodePortRange: '20000-22767' }),
    'test/gw: invalid serviceNodePortRange "20000-22767": it only checks nodePort, which is not set. Fix: set nodePort too, or drop serviceNodePortRange'),
  C('V78', CONTRA, 'a pod label the gateway sets itself, in podMetadata', 'construct', () => testGateway({ podMetadata: { labels: { 'app.kubernetes.io/instance': 'vpn' } } }),
    'test/gw: invalid podMetadata.labels["app.kubernetes.io/instance"] "vpn": the gateway sets this label on its pods itself (to "gw"). Fix: drop it from podMetadata.labels; add your own label under another key'),
  C('V86', CONTRA, 'a Service label the gateway sets itself, in serviceLabels', 'construct', () => testGateway({ serviceLabels: { 'app.kubernetes.io/name': 'vpn' } }),
    'test/gw: invalid serviceLabels["app.kubernetes.io/name"] "vpn": the gateway sets this label on its Service itself (to "wireguard-gateway"). Fix: drop it from serviceLabels; add your own label under another key'),
  C('V79', CONTRA, 'the configuration checksum annotation, in podMetadata', 'construct', () => testGateway({ podMetadata: { annotations: { 'wireguard-gateway.cdk8s.io/config-checksum': 'x' } } }),
    'test/gw: invalid podMetadata.annotations["wireguard-gateway.cdk8s.io/config-checksum"] "x": the gateway sets this annotation to the checksum of its configuration, which rolls the pod when it changes. Fix: drop it from podMetadata'),
  C('V80', CONTRA, 'podMetadata other than labels and annotations', 'construct', () => testGateway({ podMetadata: { name: 'gateway-pod' } }),
    'test/gw: invalid podMetadata.name "gateway-pod": only labels and annotations apply to the gateway\'s pod template. Fix: drop name from podMetadata'),
  C('V31', CONTRA, 'both service and serviceName', 'construct', () => {
    const gw = testGateway();
    const svc = new kplus.Service(testChart(), 'Svc', { ports: [{ port: 5432 }] });
    gw.addProxiedService('pg', { service: svc, serviceName: 'pg' });
  }, 'test/gw/pg: invalid serviceName "pg": service and serviceName contradict each other. Fix: pass either service (a kplus.Service) or serviceName with port, not both'),
  C('V32', CONTRA, 'both podSelector and egressCidrs', 'construct', () => testGateway().addProxiedService('api', { serviceName: 'kubernetes', serviceNamespace: 'default', port: 443, egressCidrs: ['192.0.2.10/32'], podSelector: { app: 'api' } }),
    'test/gw/api: invalid podSelector {"app":"api"}: podSelector and egressCidrs contradict each other: egress goes either to pods or to CIDRs. Fix: keep podSelector for Services backed by pods, or egressCidrs for endpoints that are not pods, not both'),
  C('V33', CONTRA, 'presharedKeySecretKey without presharedKeySecret', 'construct', () => testGateway().addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2', presharedKeySecretKey: 'psk' }),
    'test/gw/laptop: invalid presharedKeySecretKey "psk": it only applies together with presharedKeySecret. Fix: pass presharedKeySecret too, or drop presharedKeySecretKey'),
  C('V34', CONTRA, 'a ProxiedService without a target', 'construct', () => testGateway().addProxiedService('pg', {}),
    'test/gw/pg: invalid service undefined: a ProxiedService needs a target. Fix: pass service (a kplus.Service), or serviceName and port'),
  C('V35', CONTRA, 'serviceName without port', 'construct', () => testGateway().addProxiedService('pg', { serviceName: 'pg' }),
    'test/gw/pg: invalid port undefined: port is required with serviceName. Fix: pass the Service port to connect to, for example port: 5432'),
  C('V36', CONTRA, 'a port the given Service does not have', 'construct', () => {
    const svc = new kplus.Service(testChart(), 'Svc', { ports: [{ port: 5432 }] });
    testGateway().addProxiedService('pg', { service: svc, port: 5433 });
  }, 'test/gw/pg: invalid port 5433: the Service test/Svc has ports 5432. Fix: pick one of those ports, or omit port to use the first'),
  C('V37', CONTRA, 'a UDP Service port (the gateway proxies TCP)', 'construct', () => {
    const svc = new kplus.Service(testChart(), 'Svc', { ports: [{ port: 53, protocol: kplus.Protocol.UDP }] });
    testGateway().addProxiedService('dns', { service: svc });
  }, 'test/gw/dns: invalid port 53: the Service port is UDP; the gateway proxies TCP only. Fix: pick a TCP port of the Service'),
  C('V120', CONTRA, 'a service that defines no Service (plain JavaScript, a construct of your own)', 'construct', () => {
    const notAService = Object.assign(new kplus.ConfigMap(testChart(), 'Db'), { ports: [{ port: 5432 }] });
    testGateway().addProxiedService('pg', { service: notAService });
  }, 'test/gw/pg: invalid service "test/Db": it defines a ConfigMap, not a Service. Fix: pass a kplus.Service (of any cdk8s-plus major), or serviceName and port'),
  C('V38', CONTRA, 'a ManagedDbRoute without port or engine', 'construct', () => testGateway().addManagedDbRoute('rds', { host: 'db.example.com', cidrs: ['10.20.0.0/16'] }),
    'test/gw/rds: invalid port undefined: a ManagedDbRoute needs a port. Fix: pass port, or engine (DatabaseEngine.POSTGRESQL, MYSQL or REDIS) for its default port'),
  C('V39', CONTRA, 'an unknown database engine', 'construct', () => testGateway().addManagedDbRoute('rds', { host: 'db.example.com', cidrs: ['10.20.0.0/16'], engine: 'oracle' as DatabaseEngine }),
    'test/gw/rds: invalid engine "oracle": must be one of postgresql, mysql, redis. Fix: use DatabaseEngine.POSTGRESQL, MYSQL or REDIS, or give port'),
  C('V40', CONTRA, 'a ManagedDbRoute without CIDRs', 'construct', () => testGateway().addManagedDbRoute('rds', { host: 'db.example.com', port: 5432, cidrs: [] }),
    'test/gw/rds: invalid cidrs []: at least one CIDR is required: NetworkPolicies cannot name hosts. Fix: list the CIDRs where the database may live, for example its subnets: ["10.20.0.0/16"]'),
  C('V41', CONTRA, 'an empty egressCidrs list', 'construct', () => testGateway().addProxiedService('api', { serviceName: 'kubernetes', port: 443, egressCidrs: [] }),
    'test/gw/api: invalid egressCidrs []: must name at least one CIDR when given. Fix: list the CIDRs of the endpoints, or omit egressCidrs to allow the Service\'s pods'),
  C('V42', CONTRA, 'an empty allowPeers list (would deny everyone)', 'construct', () => testGateway().addProxiedService('pg', { serviceName: 'pg', port: 5432, allowPeers: [] }),
    'test/gw/pg: invalid allowPeers []: an empty list would deny every peer. Fix: list the peers that may use this route, or omit allowPeers to allow every peer'),
  C('V43', CONTRA, 'a client configuration without an endpoint', 'construct', () => peer(gatewayWithRoute()).clientConfig(),
    'test/gw: invalid endpoint undefined: a client configuration needs the address peers connect to. Fix: set endpoint on the WireguardGateway to the load balancer\'s hostname or IP'),
  C('V44', CONTRA, 'a client configuration for another gateway\'s peer', 'construct', () => {
    const other = peer(testGateway({}, testChart('other')));
    return testGateway({ endpoint: 'vpn.example.com' }).clientConfig(other);
  }, 'test/gw: invalid peer "test/gw/laptop": it is not a peer of this gateway. Fix: pass a peer returned by this gateway\'s addPeer'),
  C('V63', CONTRA, 'an unknown configUpdates value (plain JavaScript, other jsii languages)', 'construct',
    () => testGateway({ configUpdates: 'hot' as ConfigUpdates }),
    'test/gw: invalid configUpdates "hot": must be one of "live", "restart". Fix: use ConfigUpdates.LIVE or ConfigUpdates.RESTART'),
  C('V64', CONTRA, 'an unknown clientAllowedIps value (plain JavaScript, other jsii languages)', 'construct',
    () => testGateway({ clientAllowedIps: 'all' as ClientAllowedIps }),
    'test/gw: invalid clientAllowedIps "all": must be one of "service-network", "route-addresses". Fix: use ClientAllowedIps.SERVICE_NETWORK or ClientAllowedIps.ROUTE_ADDRESSES'),
  C('V45', CONTRA, 'a client private key that is not a key (never echoed)', 'construct', () => peer(gatewayWithRoute({ endpoint: 'vpn.example.com' })).clientConfig({ privateKey: 'hunter2' }),
    'test/gw/laptop: invalid privateKey "<7 characters>": must be 32 bytes of base64 (44 characters ending in "="), as printed by wg genkey / wg pubkey. Fix: pass the peer\'s own private key, or omit it for a placeholder'),
  C('V91', CONTRA, 'metrics without scrapeFrom (plain JavaScript, other jsii languages)', 'construct', () => testGateway({ metrics: {} as GatewayMetricsOptions }),
    'test/gw: invalid metrics.scrapeFrom undefined: the gateway\'s NetworkPolicy admits only this peer on the metrics port, so without it nothing could scrape. Fix: pass your Prometheus pods, for example kplus.Pods.select(chart, "Prometheus", { labels: { "app.kubernetes.io/name": "prometheus" }, namespaces: ... })'),
  C('V93', CONTRA, 'a metrics option without the object it configures', 'construct', () => testGateway({ metrics: { scrapeFrom: prometheus(), scrapeInterval: Duration.seconds(15) } }),
    'test/gw: invalid metrics.scrapeInterval "15s": it only applies with metrics.podMonitor true. Fix: set podMonitor: true, or drop scrapeInterval'),

  C('V148', CONTRA, 'targetNamespacePolicies with a Service by name and no podSelector (the policy would select every pod of the namespace)', 'construct',
    () => testGateway({ targetNamespacePolicies: true }).addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432 }),
    'test/gw/pg: invalid podSelector undefined: with targetNamespacePolicies the route defines a NetworkPolicy in namespace "db" for the Service\'s pods, and without podSelector it would select every pod of that namespace, which would then refuse all ingress but the gateway\'s. '
    + 'Fix: pass podSelector with the labels of the Service\'s pods (its spec.selector), or service (a kplus.Service), or drop targetNamespacePolicies and allow the gateway in that namespace yourself'),
  C('V149', CONTRA, 'the Kubernetes API (default/kubernetes) by name without egressCidrs (a rule to pods never matches it)', 'construct',
    () => testGateway().addProxiedService('kube-api', { serviceName: 'kubernetes', serviceNamespace: 'default', port: 443 }),
    'test/gw/kube-api: invalid egressCidrs undefined: the Service default/kubernetes is the Kubernetes API, whose endpoints are the API servers\' addresses, not pods, so an egress rule to pods would never let the gateway reach it. '
    + 'Fix: pass egressCidrs with the API servers\' addresses (kubectl -n default get endpointslices -l kubernetes.io/service-name=kubernetes) and targetPort with their port (usually 6443)'),
  C('V150', CONTRA, 'a PrometheusRule without a PodMonitor, unless the pods are scraped elsewhere (its alerts would never fire)', 'construct',
    () => testGateway({ metrics: { scrapeFrom: prometheus(), prometheusRule: true } }),
    'test/gw: invalid metrics.prometheusRule true: its alerts read the gateway\'s metrics, which exist only where something scrapes its pods, and without metrics.podMonitor nothing here does, so no alert would ever fire. '
    + 'Fix: set podMonitor: true, or scrapedElsewhere: true if your Prometheus already scrapes the gateway\'s pods (a pod scrape job, or a PodMonitor of your own)'),
  C('V151', CONTRA, 'scrapedElsewhere together with a PodMonitor (two scrapes)', 'construct',
    () => testGateway({ metrics: { scrapeFrom: prometheus(), podMonitor: true, prometheusRule: true, scrapedElsewhere: true } }),
    'test/gw: invalid metrics.scrapedElsewhere true: podMonitor true defines a scrape of the pods, and a second one would duplicate every series. Fix: drop scrapedElsewhere, or set podMonitor: false if your own scrape stays'),

  // --- Peer state, peer groups and closed routes ----------------------------------
  C('V140', ACCESS, 'a peer expiry that is no valid Date', 'construct',
    () => testGateway().addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: new Date('31/03/2027') }),
    'test/gw/laptop: invalid expires "Invalid Date": must be a valid Date. Fix: pass a Date on a whole second, in UTC, for example new Date("2027-03-31T00:00:00Z")'),
  C('V141', ACCESS, 'a peer expiry that is not a whole second', 'construct',
    () => testGateway().addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: new Date('2027-03-31T00:00:00.500Z') }),
    'test/gw/laptop: invalid expires "2027-03-31T00:00:00.500Z": must be a whole second: the gateway and its documents count expiry in seconds. Fix: pass a Date on a whole second, in UTC, for example new Date("2027-03-31T00:00:00Z")'),
  C('V142', ACCESS, 'a peer expiry before 1970 (or after 9999)', 'construct',
    () => testGateway().addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: new Date('1969-12-31T23:59:59Z') }),
    'test/gw/laptop: invalid expires "1969-12-31T23:59:59.000Z": must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z. Fix: pass a Date on a whole second, in UTC, for example new Date("2027-03-31T00:00:00Z")'),
  C('V143', ACCESS, 'an unknown routeAccess value (plain JavaScript, other jsii languages)', 'construct',
    () => testGateway({ routeAccess: 'private' as RouteAccess }),
    'test/gw: invalid routeAccess "private": must be one of "open", "closed". Fix: use RouteAccess.OPEN or RouteAccess.CLOSED'),
  C('V144', ACCESS, 'a route without allowPeers on a gateway whose routes are closed', 'construct',
    () => testGateway({ routeAccess: RouteAccess.CLOSED }).addProxiedService('pg', { serviceName: 'pg', port: 5432 }),
    'test/gw/pg: invalid allowPeers undefined: the gateway\'s routeAccess is RouteAccess.CLOSED, so every route must name the peers or peer groups that may use it. Fix: pass allowPeers with the peers or groups (gateway.addPeerGroup) that need this route'),
  C('V145', ACCESS, 'a peer of another gateway in a peer group', 'construct', () => {
    const chart = testChart();
    const other = peer(testGateway({ namespace: 'other' }, new Construct(chart, 'team')));
    testGateway({}, chart).addPeerGroup('dba', { peers: [other] });
  }, 'test/gw/dba: invalid peers entry "test/team/gw/laptop": it is a peer of gateway test/team/gw, and a group holds only peers of its own gateway test/gw. Fix: add the peer with this gateway\'s addPeer, or put it in a group of its own gateway'),
  C('V146', ACCESS, 'a peer group of another gateway in allowPeers', 'synth', () => {
    const chart = testChart();
    const other = testGateway({ namespace: 'other' }, new Construct(chart, 'team')).addPeerGroup('dba');
    const gw = testGateway({}, chart);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432, allowPeers: [other] });
    return synth(gw);
  }, '[test/gw] test/gw/pg: invalid allowPeers entry "test/team/gw/dba": it is a peer group of gateway test/team/gw, not of test/gw. Fix: use a group of this gateway (gateway.addPeerGroup), or remove it from allowPeers'),
  C('V147', ACCESS, 'two peer groups with one name (case-insensitive)', 'synth', () => {
    const chart = testChart();
    const gw = gatewayWithRoute({}, chart);
    gw.addPeerGroup('dba');
    new WireguardPeerGroup(chart, 'DBA', { gateway: gw });
    return synth(gw);
  }, '[test/gw] test/DBA: invalid peer group name "DBA": group test/gw/dba has the same name (names are case-insensitive), and reports name groups by it. Fix: give every peer group of the gateway its own id'),

  // --- Numbers and durations ---------------------------------------------------------
  C('V46', RANGE, 'an MTU outside 1280-9000', 'construct', () => testGateway({ mtu: 576 }),
    'test/gw: invalid mtu 576: must be an integer from 1280 to 9000. Fix: use 1420 (the WireGuard default), or lower it by 80 below your path MTU'),
  C('V47', RANGE, 'a duration that is not whole seconds', 'construct', () => testGateway({ dnsCacheValidity: Duration.millis(1500) }),
    'test/gw: invalid dnsCacheValidity "1500ms": must be a whole number of seconds, at least 1. Fix: use Duration.seconds(n) with a whole n >= 1'),
  C('V48', RANGE, 'worker processes outside 1-64', 'construct', () => testGateway({ workerProcesses: 0 }),
    'test/gw: invalid workerProcesses 0: must be an integer from 1 to 64. Fix: use 1 or 2; the pod rarely needs more'),
  C('V49', RANGE, 'sessions per worker outside 1-262144', 'construct', () => testGateway({ maxSessionsPerWorker: 1e6 }),
    'test/gw: invalid maxSessionsPerWorker 1000000: must be an integer from 1 to 262144. Fix: use the number of simultaneous sessions you expect, e.g. 4096'),
  C('V180', RANGE, 'sessions per peer outside 1-1000000', 'construct', () => testGateway({ maxSessionsPerPeer: 0 }),
    'test/gw: invalid maxSessionsPerPeer 0: must be an integer from 1 to 1000000. Fix: use the most sessions one peer needs at once (a connection pool, its tools), e.g. 256'),
  C('V65', RANGE, 'a drain time that is not whole seconds from 0 to 3600', 'construct', () => testGateway({ drainTime: Duration.hours(2) }),
    'test/gw: invalid drainTime "7200000ms": must be a whole number of seconds from 0 to 3600. Fix: use the time your load balancer needs to stop sending new clients to a pod, e.g. Duration.seconds(15)'),
  C('V50', RANGE, 'a keepalive over 65535 seconds', 'construct', () => testGateway().addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2', persistentKeepalive: Duration.days(1) }),
    'test/gw/laptop: invalid persistentKeepalive "86400s": must be at most 65535 seconds. Fix: use a value like Duration.seconds(25)'),
  C('V92', RANGE, 'a scrape interval that is not whole seconds', 'construct', () => testGateway({ metrics: { scrapeFrom: prometheus(), podMonitor: true, scrapeInterval: Duration.millis(2500) } }),
    'test/gw: invalid metrics.scrapeInterval "2500ms": must be a whole number of seconds, at least 1. Fix: use Duration.seconds(n) with a whole n >= 1'),

  // --- Whole-app conditions -------------------------------------------------------------
  C('V51', APP, 'an empty gateway', 'synth', () => synth(testGateway()),
    '[test/gw] test/gw: the gateway exposes nothing. Fix: add a route with addProxiedService or addManagedDbRoute (or new ProxiedService / new ManagedDbRoute)'),
  C('V52', APP, 'two routes on one automatic address, in a full service network', 'synth', () => {
    const gw = testGateway({ serviceNetwork: '10.99.0.0/30' });
    for (const id of ['a', 'b', 'c']) gw.addProxiedService(id, { serviceName: id, port: 5432 });
    return synth(gw);
  }, '[test/gw] test/gw/b: invalid address "10.99.0.1": it is the automatic address of this route (derived from its name), and route test/gw/a (derived from its name) has it too. Fix: give the gateway a larger serviceNetwork (10.99.0.0/30 has no free address left, 2 usable), or let routes share an explicit address on different ports'),
  C('V81', APP, 'two routes whose names give one automatic address', 'synth', () => {
    const gw = testGateway();
    gw.addProxiedService('orders-cache', { serviceName: 'orders-cache', port: 6379 });
    gw.addProxiedService('sessions-cache', { serviceName: 'sessions-cache', port: 6379 });
    return synth(gw);
  }, '[test/gw] test/gw/sessions-cache: invalid address "10.99.0.227": it is the automatic address of this route (derived from its name), and route test/gw/orders-cache (derived from its name) has it too. '
    + 'Fix: give one of them an explicit address that no route uses, for example address: "10.99.0.228" on test/gw/sessions-cache; if peers already reach test/gw/sessions-cache at 10.99.0.227, give it to test/gw/orders-cache instead'),
  C('V82', APP, 'an explicit address that is another route\'s automatic address', 'synth', () => {
    const gw = testGateway();
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    gw.addProxiedService('redis', { serviceName: 'redis', port: 6379, address: '10.99.5.187' });
    return synth(gw);
  }, '[test/gw] test/gw/pg: invalid address "10.99.5.187": it is the automatic address of this route (derived from its name), and route test/gw/redis (given explicitly) has it too. Fix: give test/gw/pg an explicit address that no route uses, for example address: "10.99.5.188"'),
  C('V53', APP, 'two routes on one address and port', 'synth', () => {
    const gw = testGateway();
    gw.addProxiedService('a', { serviceName: 'a', port: 5432, address: '10.99.0.9' });
    gw.addProxiedService('b', { serviceName: 'b', port: 5432, address: '10.99.0.9' });
    return synth(gw);
  }, '[test/gw] test/gw/b: invalid listenPort 5432: 10.99.0.9:5432 is already used by test/gw/a. Fix: give one of them another listenPort, or another address'),
  C('V54', APP, 'two routes with one name (case-insensitive)', 'synth', () => {
    const gw = testGateway();
    gw.addProxiedService('db', { serviceName: 'a', port: 5432 });
    gw.addManagedDbRoute('DB', { host: 'db.example.com', port: 5432, cidrs: ['10.20.0.0/16'] });
    return synth(gw);
  }, '[test/gw] test/gw/DB: invalid route name "DB": route test/gw/db has the same name (names are case-insensitive). Fix: give every route of the gateway its own id'),
  C('V55', APP, 'an unknown peer in allowPeers', 'synth', () => {
    const stranger = peer(testGateway({}, testChart('other')), 'stranger');
    const gw = testGateway();
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432, allowPeers: [stranger] });
    return synth(gw);
  }, '[test/gw] test/gw/pg: invalid allowPeers entry "test/gw/stranger": it is not a peer of test/gw. Fix: add the peer with this gateway\'s addPeer, or remove it from allowPeers'),
  C('V56', APP, 'two peers with one address', 'synth', () => {
    const gw = gatewayWithRoute();
    peer(gw, 'a', '10.98.0.2', PEER_KEYS[0]);
    peer(gw, 'b', '10.98.0.2', PEER_KEYS[1]);
    return synth(gw);
  }, '[test/gw] test/gw/b: invalid address "10.98.0.2": it is already the address of peer test/gw/a. Fix: give every peer its own tunnel address'),
  C('V57', APP, 'two peers with one public key', 'synth', () => {
    const gw = gatewayWithRoute();
    peer(gw, 'a', '10.98.0.2', PEER_KEYS[0]);
    peer(gw, 'b', '10.98.0.3', PEER_KEYS[0]);
    return synth(gw);
  }, `[test/gw] test/gw/b: invalid publicKey "${PEER_KEYS[0]}": it is already the key of peer test/gw/a. Fix: every peer needs its own key pair (wg genkey)`),
  C('V58', APP, 'a peer with the gateway\'s own key', 'synth', () => {
    const gw = gatewayWithRoute();
    peer(gw, 'a', '10.98.0.2', TEST_SERVER_PUBLIC_KEY);
    return synth(gw);
  }, `[test/gw] test/gw/a: invalid publicKey "${TEST_SERVER_PUBLIC_KEY}": it is the gateway's own public key. Fix: give the peer its own key pair (wg genkey)`),
  C('V59', APP, 'a peer address that is a resolver address (DNS hijack)', 'synth', () => {
    const gw = gatewayWithRoute({ resolverAddresses: ['10.96.0.10'] });
    peer(gw, 'a', '10.96.0.10');
    return synth(gw);
  }, '[test/gw] test/gw/a: invalid address "10.96.0.10": it is one of the gateway\'s resolverAddresses, so the pod would send its DNS queries to this peer. Fix: give the peer an address outside every network the gateway talks to'),
  C('V60', APP, 'a peer address inside a network the gateway talks to (a route\'s cidrs or egressCidrs, dnsCidrs)', 'synth', () => {
    const gw = testGateway();
    gw.addManagedDbRoute('rds', { host: 'db.example.com', port: 5432, cidrs: ['10.20.0.0/16'] });
    peer(gw, 'a', '10.20.0.7');
    return synth(gw);
  }, '[test/gw] test/gw/a: invalid address "10.20.0.7": it is inside 10.20.0.0/16, the cidrs of route test/gw/rds, and the pod routes every peer\'s address into the tunnel, so its traffic to 10.20.0.7 would go to this peer. '
    + 'Fix: give the peer an address outside every network the gateway talks to (the routes\' cidrs and egressCidrs, dnsCidrs and resolverAddresses)'),
  C('V83', APP, 'a service network that overlaps a network the gateway talks to (cidrs, egressCidrs, dnsCidrs, resolverAddresses)', 'synth', () => {
    const gw = testGateway({ serviceNetwork: '10.20.16.0/20' });
    gw.addManagedDbRoute('rds', { host: 'db.example.com', port: 5432, cidrs: ['10.20.0.0/16'] });
    return synth(gw);
  }, '[test/gw] test/gw: invalid serviceNetwork "10.20.16.0/20": it overlaps 10.20.0.0/16, the cidrs of route test/gw/rds, and the pod holds the service addresses itself, so its traffic to a target at one of them would never leave the pod. '
    + 'Fix: pick a serviceNetwork that overlaps no network the gateway talks to (the routes\' cidrs and egressCidrs, dnsCidrs and resolverAddresses)'),
  C('V84', APP, 'two gateways of one name in one namespace', 'synth', () => {
    const chart = testChart();
    gatewayWithRoute({}, chart);
    const other = gatewayWithRoute({}, new Construct(chart, 'team'));
    return synth(other);
  }, '[test/team/gw] test/team/gw: invalid name "gw": gateway test/gw has the same name in namespace "wireguard", and every object of a gateway is named after it. Fix: give one of them another name (the name prop), or another namespace'),
  C('V85', APP, 'two allow-from-gateway policies of one name in one namespace', 'synth', () => {
    const chart = testChart();
    for (const [scope, namespace] of [[chart, 'vpn-a'], [new Construct(chart, 'team'), 'vpn-b']] as const) {
      testGateway({ namespace, targetNamespacePolicies: true }, scope).addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
    }
    return synth(chart);
  }, '[test/team/gw] test/team/gw/pg: invalid route id "pg": its allow-from-gateway NetworkPolicy db/gw.pg is also defined by test/gw/pg. Fix: give one of the two gateways another name, or one of the routes another id'),
  C('V61', APP, 'a Service without a pod selector (the policy cannot name its endpoints)', 'synth', () => {
    const chart = testChart();
    const svc = new kplus.Service(chart, 'Svc', { metadata: { name: 'ext' }, ports: [{ port: 5432 }] });
    const gw = testGateway({}, chart);
    gw.addProxiedService('ext', { service: svc });
    return synth(gw);
  }, '[test/gw/ext] test/gw/ext: the Service wireguard/ext has no pod selector, so the gateway\'s NetworkPolicy cannot name its endpoints. Fix: pass egressCidrs with the endpoints\' CIDRs, or podSelector with their pods\' labels'),
  C('V62', APP, 'a configuration too large for one ConfigMap (1 MiB)', 'synth', () => {
    const gw = testGateway({ serviceNetwork: '10.99.0.0/16' });
    // Explicit addresses: 3,000 names in a /16 would also collide.
    for (let i = 0; i < 3000; i++) gw.addProxiedService(`svc-${i}`, { serviceName: `service-${i}`, serviceNamespace: 'apps', port: 8080, address: `10.99.${(i + 1) >> 8}.${(i + 1) & 255}` });
    return synth(gw);
  }, '[test/gw] test/gw: the rendered configuration is 1490285 bytes (3000 routes, 0 peers), but a ConfigMap holds at most 1048576 bytes (1 MiB), so the API server would reject it. '
    + 'Fix: split the routes and peers over several gateways (one gateway holds roughly 1,000 routes and 1,000 peers)'),
];

/** The private key never appears in a message: used by the test of V17. */
export const SECRET_INPUTS = [TEST_SERVER_PRIVATE_KEY];
