import { ApiObject, Chart, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { invalid } from './_errors';
import { checkChildId } from './_ids';
import { objectLabels, targetPolicyName } from './_names';
import { checkDnsLabel, checkDnsName, checkPort, parseEgressCidr } from './_net';
import { GatewayRoute, GatewayRouteOptions } from './gateway-route';
import type { WireguardGateway } from './wireguard-gateway';

/** A port of a `ITargetService`, as cdk8s-plus's `ServicePort` of any major. */
export interface TargetServicePort {
  /** The Service port. */
  readonly port: number;

  /**
   * The port the Service's pods listen on.
   *
   * @default - `port`
   */
  readonly targetPort?: number;

  /**
   * The protocol: "TCP", "UDP" or "SCTP" (a cdk8s-plus `Protocol` of any major).
   *
   * @default "TCP"
   */
  readonly protocol?: string;
}

/**
 * A Service your app defines: a `kplus.Service` of any cdk8s-plus major from
 * 27 to 33. The route reads its name and ports, and its namespace and pod
 * selector from its Kubernetes object (`ApiObject.of(service)`).
 */
export interface ITargetService extends IConstruct {
  /** The Service's name. */
  readonly name: string;

  /** The Service's ports. */
  readonly ports: TargetServicePort[];
}

/**
 * How to reach an in-cluster Service. Give either `service` (a cdk8s-plus
 * Service, from which everything is derived), or `serviceName` and `port`.
 */
export interface ProxiedServiceOptions extends GatewayRouteOptions {
  /**
   * The Service to expose: a `kplus.Service` of any cdk8s-plus major. Its name,
   * namespace, port, pod selector and targetPort are read from it.
   *
   * @default - use serviceName, serviceNamespace and port
   */
  readonly service?: ITargetService;

  /**
   * The Service's name, when you don't have a `kplus.Service` object.
   *
   * @default - from `service`
   */
  readonly serviceName?: string;

  /**
   * The Service's namespace.
   *
   * @default - the namespace of `service`, or else the gateway's namespace
   */
  readonly serviceNamespace?: string;

  /**
   * The Service port to connect to. With `service`, picks one of its ports.
   *
   * @default - the first port of `service`; required with `serviceName`
   */
  readonly port?: number;

  /**
   * Labels of the Service's pods, for the gateway's NetworkPolicy egress rule.
   *
   * @default - the selector of `service`; with `serviceName`, every pod of the namespace on targetPort
   */
  readonly podSelector?: { [key: string]: string };

  /**
   * The port the Service's pods listen on. NetworkPolicies apply after the
   * Service translates the port, so the egress rule allows this port.
   *
   * @default - the targetPort of `service`'s port, or else `port`
   */
  readonly targetPort?: number;

  /**
   * Allow egress to these CIDRs instead of to pods: for Services whose
   * endpoints are not pods, such as the `kubernetes` Service in `default`
   * (the API servers' addresses, usually on targetPort 6443). No peer address
   * and no part of the gateway's serviceNetwork may lie inside them (checked
   * at synth).
   *
   * @default - egress to the Service's pods
   */
  readonly egressCidrs?: string[];
}

/** Props for `ProxiedService`. */
export interface ProxiedServiceProps extends ProxiedServiceOptions {
  /** The gateway that exposes the Service. */
  readonly gateway: WireguardGateway;
}

/**
 * Exposes an in-cluster Service to the gateway's peers. nginx resolves
 * `<name>.<namespace>.svc.<clusterDomain>` for every new connection.
 */
export class ProxiedService extends GatewayRoute {
  /** The Service's name. */
  public readonly serviceName: string;
  /** The Service's namespace. */
  public readonly serviceNamespace: string;
  /** The port the egress rule allows (the Service's targetPort). */
  public readonly targetPodPort: number;

  private readonly service?: ITargetService;
  private readonly podSelector?: { [key: string]: string };
  private readonly egressCidrs?: string[];

  constructor(scope: Construct, id: string, props: ProxiedServiceProps) {
    checkChildId(scope, id, 'route');
    const path = `${scope.node.path}/${id}`;
    const t = resolveTarget(path, props);
    checkReachable(path, props, t);
    const targetHost = checkDnsName(path, 'serviceName', `${t.name}.${t.namespace}.svc.${props.gateway.clusterDomain}`,
      'shorten the Service name, its namespace or the gateway\'s clusterDomain: together they form the DNS name nginx resolves');
    super(scope, id, props.gateway, props, {
      kind: 'ProxiedService',
      targetHost,
      targetPort: t.port,
    });
    this.serviceName = t.name;
    this.serviceNamespace = t.namespace;
    this.targetPodPort = t.targetPort;
    this.service = props.service;
    this.podSelector = props.podSelector;
    this.egressCidrs = props.egressCidrs?.map((c, i) => parseEgressCidr(path, `egressCidrs[${i}]`, c));
    if (this.egressCidrs !== undefined && this.egressCidrs.length === 0) {
      throw invalid(path, 'egressCidrs', [], 'must name at least one CIDR when given', 'list the CIDRs of the endpoints, or omit egressCidrs to allow the Service\'s pods');
    }
    if (this.egressCidrs !== undefined && props.podSelector !== undefined) {
      throw invalid(path, 'podSelector', props.podSelector, 'podSelector and egressCidrs contradict each other: egress goes either to pods or to CIDRs',
        'keep podSelector for Services backed by pods, or egressCidrs for endpoints that are not pods, not both');
    }

    this.node.addValidation({
      validate: () => {
        if (this.egressCidrs === undefined && this.service !== undefined && Object.keys(this.selectorLabels()).length === 0) {
          return [`${this.node.path}: the Service ${this.serviceNamespace}/${this.serviceName} has no pod selector, so the gateway's NetworkPolicy cannot name its endpoints. Fix: pass egressCidrs with the endpoints' CIDRs, or podSelector with their pods' labels`];
        }
        return [];
      },
    });

    if (props.gateway.targetNamespacePolicies && this.egressCidrs === undefined) {
      this.defineTargetPolicy();
    }
  }

  /** The labels of the target pods, or empty for "every pod of the namespace". */
  private selectorLabels(): { [key: string]: string } {
    if (this.podSelector !== undefined) return this.podSelector;
    if (this.service === undefined) return {};
    const spec: { readonly selector?: { [key: string]: string } } = ApiObject.of(this.service).toJson().spec ?? {};
    return spec.selector ?? {};
  }

  /** @internal */
  public _egressRule(): kplus.k8s.NetworkPolicyEgressRule {
    const port = [{ protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(this.targetPodPort) }];
    if (this.egressCidrs !== undefined) {
      return { to: this.egressCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: port };
    }
    const labels = this.selectorLabels();
    return {
      to: [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.serviceNamespace } },
        podSelector: Object.keys(labels).length > 0 ? { matchLabels: sorted(labels) } : {},
      }],
      ports: port,
    };
  }

  /** @internal */
  public _egressCidrs() {
    return { prop: 'egressCidrs', cidrs: this.egressCidrs ?? [] };
  }

  /**
   * The optional allow-from-gateway policy in the target's namespace (off by
   * default: a namespace's first policy makes it deny-by-default).
   */
  private defineTargetPolicy() {
    const gw = this.gateway;
    // Named after the gateway and the route, never the construct path: moving either renames nothing.
    const metadata = { name: targetPolicyName(gw.name, this.node.id), namespace: this.serviceNamespace, labels: objectLabels(gw.name) };
    this._targetPolicy = { namespace: metadata.namespace, name: metadata.name };
    const spec = (): kplus.k8s.NetworkPolicySpec => {
      const labels = this.selectorLabels();
      return {
        podSelector: Object.keys(labels).length > 0 ? { matchLabels: sorted(labels) } : {},
        policyTypes: ['Ingress'],
        ingress: [{
          from: [{
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': gw.namespace } },
            podSelector: { matchLabels: gw.podLabels },
          }],
          ports: [{ protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(this.targetPodPort) }],
        }],
      };
    };
    new ApiObject(this, 'AllowFromGateway', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata,
      spec: Lazy.any({ produce: () => kplus.k8s.toJson_NetworkPolicySpec(spec()) }),
    });
  }
}

/**
 * Targets whose NetworkPolicies could never work, refused before anything is
 * defined: the Kubernetes API by name without CIDRs (its endpoints are not
 * pods), and an allow-from-gateway policy that would select every pod of the
 * target's namespace.
 */
function checkReachable(path: string, props: ProxiedServiceProps, t: Target): void {
  if (t.name === 'kubernetes' && t.namespace === 'default' && props.egressCidrs === undefined) {
    throw invalid(path, 'egressCidrs', undefined,
      'the Service default/kubernetes is the Kubernetes API, whose endpoints are the API servers\' addresses, not pods, so an egress rule to pods would never let the gateway reach it',
      'pass egressCidrs with the API servers\' addresses (kubectl -n default get endpointslices -l kubernetes.io/service-name=kubernetes) and targetPort with their port (usually 6443)');
  }
  if (props.gateway.targetNamespacePolicies && props.service === undefined && props.podSelector === undefined && props.egressCidrs === undefined) {
    throw invalid(path, 'podSelector', undefined,
      `with targetNamespacePolicies the route defines a NetworkPolicy in namespace "${t.namespace}" for the Service's pods, and without podSelector it would select every pod of that namespace, which would then refuse all ingress but the gateway's`,
      'pass podSelector with the labels of the Service\'s pods (its spec.selector), or service (a kplus.Service), or drop targetNamespacePolicies and allow the gateway in that namespace yourself');
  }
}

/** The Kubernetes object of a Service the app defines (cdk8s: its default child). */
function serviceObject(path: string, service: ITargetService): ApiObject {
  const object = ApiObject.of(service);
  if (object.kind !== 'Service') {
    throw invalid(path, 'service', service.node.path, `it defines a ${object.kind}, not a Service`,
      'pass a kplus.Service (of any cdk8s-plus major), or serviceName and port');
  }
  return object;
}

function sorted(labels: { [key: string]: string }): { [key: string]: string } {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface Target { name: string; namespace: string; port: number; targetPort: number }

function resolveTarget(path: string, props: ProxiedServiceProps): Target {
  const gw = props.gateway;
  if (props.service !== undefined) {
    if (props.serviceName !== undefined) {
      throw invalid(path, 'serviceName', props.serviceName, 'service and serviceName contradict each other',
        'pass either service (a kplus.Service) or serviceName with port, not both');
    }
    const svc = props.service;
    const object = serviceObject(path, svc);
    const ports = svc.ports;
    if (ports.length === 0) {
      throw invalid(path, 'service', svc.node.path, 'the Service has no ports', 'bind a port on the Service (service.bind(port)) or pass serviceName and port');
    }
    let sp = ports[0];
    if (props.port !== undefined) {
      const match = ports.find((p) => p.port === props.port);
      if (match === undefined) {
        throw invalid(path, 'port', props.port, `the Service ${svc.node.path} has ports ${ports.map((p) => p.port).join(', ')}`, 'pick one of those ports, or omit port to use the first');
      }
      sp = match;
    }
    if (sp.protocol !== undefined && sp.protocol !== 'TCP') {
      throw invalid(path, 'port', sp.port, `the Service port is ${sp.protocol}; the gateway proxies TCP only`, 'pick a TCP port of the Service');
    }
    const namespace = props.serviceNamespace ?? object.metadata.namespace ?? Chart.of(svc).namespace ?? gw.namespace;
    return {
      name: svc.name,
      namespace: checkDnsLabel(path, 'serviceNamespace', namespace, 'use the namespace the Service lives in'),
      port: sp.port,
      targetPort: checkPort(path, 'targetPort', props.targetPort ?? sp.targetPort ?? sp.port, 'give the numeric port the pods listen on'),
    };
  }
  if (props.serviceName === undefined) {
    throw invalid(path, 'service', undefined, 'a ProxiedService needs a target', 'pass service (a kplus.Service), or serviceName and port');
  }
  const name = checkDnsLabel(path, 'serviceName', props.serviceName, 'use the Service\'s metadata.name');
  if (props.port === undefined) {
    throw invalid(path, 'port', undefined, 'port is required with serviceName', 'pass the Service port to connect to, for example port: 5432');
  }
  const port = checkPort(path, 'port', props.port, 'pass the Service port to connect to');
  const namespace = checkDnsLabel(path, 'serviceNamespace', props.serviceNamespace ?? gw.namespace, 'use the namespace the Service lives in');
  return {
    name,
    namespace,
    port,
    targetPort: checkPort(path, 'targetPort', props.targetPort ?? port, 'give the numeric port the pods listen on'),
  };
}
