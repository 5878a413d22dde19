/**
 * The NetworkPolicy around the gateway pod, both ways: ingress on WireGuard's
 * UDP port (and, with metrics, on the metrics port from `metrics.scrapeFrom`
 * only); egress to the cluster DNS and to each route's target on its port,
 * nothing else. The route rules are rendered at synth, so routes added
 * later are in it.
 */
import { ApiObject, ApiObjectMetadata, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { MetricsSettings, metricsIngressRule } from './_build-monitoring';
import type { KnownNetwork } from './_gateway-checks';
import { checkDnsLabel, parseEgressCidr, parseIpv4Cidr } from './_net';
import type { GatewayRoute } from './gateway-route';
import type { WireguardGatewayProps } from './wireguard-gateway-props';

/** The gateway props the policy reads (a subset of WireguardGatewayProps). */
export type NetworkPolicyProps = Pick<WireguardGatewayProps, 'dnsNamespace' | 'dnsPodLabels' | 'dnsCidrs'>;

export interface NetworkPolicyInputs {
  readonly metadata: ApiObjectMetadata;
  readonly podLabels: { [key: string]: string };
  readonly listenPort: number;
  /** The gateway's routes, read at synth. */
  readonly routes: () => GatewayRoute[];
  /** With metrics: who may scrape, and on which port. */
  readonly metrics?: MetricsSettings;
}

export class GatewayNetworkPolicy {
  public readonly apiObject: ApiObject;
  private readonly dnsCidrs: string[];
  private readonly dnsRule: k8s.NetworkPolicyEgressRule;

  constructor(scope: Construct, props: NetworkPolicyProps, private readonly inputs: NetworkPolicyInputs) {
    const path = scope.node.path;
    this.dnsCidrs = (props.dnsCidrs ?? []).map((c, i) => parseEgressCidr(path, `dnsCidrs[${i}]`, c));
    this.dnsRule = dnsRule(path, props, this.dnsCidrs);
    this.apiObject = new ApiObject(scope, 'NetworkPolicy', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: inputs.metadata,
      spec: Lazy.any({ produce: () => k8s.toJson_NetworkPolicySpec(this.spec()) }),
    });
  }

  /**
   * The IPv4 CIDRs the policy lets the pod reach (dnsCidrs and the routes'
   * CIDRs), each once, with where it first comes from. No peer and no
   * service address may lie inside them.
   */
  public knownNetworks(): KnownNetwork[] {
    const sources = new Map<string, () => string>();
    const add = (cidr: string, source: () => string) => {
      if (!cidr.includes(':') && !sources.has(cidr)) sources.set(cidr, source);
    };
    for (const cidr of this.dnsCidrs) add(cidr, () => 'the gateway\'s dnsCidrs');
    for (const route of this.inputs.routes()) {
      const { prop, cidrs } = route._egressCidrs();
      for (const cidr of cidrs) add(cidr, () => `the ${prop} of route ${route.node.path}`);
    }
    return [...sources].map(([cidr, source]) => ({ network: parseIpv4Cidr('', '', cidr), source: source() }));
  }

  private spec(): k8s.NetworkPolicySpec {
    // One rule per distinct destination; sorted so the output never depends on definition order.
    const seen = new Map<string, k8s.NetworkPolicyEgressRule>();
    for (const route of this.inputs.routes()) {
      const rule = route._egressRule();
      seen.set(JSON.stringify(rule), rule);
    }
    const routeRules = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    return {
      podSelector: { matchLabels: this.inputs.podLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(this.inputs.listenPort) }] },
        ...(this.inputs.metrics === undefined ? [] : [metricsIngressRule(this.inputs.metrics)]),
      ],
      egress: [this.dnsRule, ...routeRules],
    };
  }
}

/** The egress rule to the cluster DNS (and `dnsCidrs`) on port 53, UDP and TCP. */
function dnsRule(path: string, props: NetworkPolicyProps, cidrs: string[]): k8s.NetworkPolicyEgressRule {
  const ns = checkDnsLabel(path, 'dnsNamespace', props.dnsNamespace ?? 'kube-system', 'use the namespace of your cluster DNS, usually "kube-system"');
  const labels = props.dnsPodLabels ?? { 'k8s-app': 'kube-dns' };
  return {
    to: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } }, podSelector: { matchLabels: labels } },
      ...cidrs.map((cidr) => ({ ipBlock: { cidr } })),
    ],
    ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) }],
  };
}
