/**
 * The gateway's UDP Service for WireGuard: a LoadBalancer (or NodePort) with
 * ClientIP session affinity, selecting the gateway's pods by its own labels,
 * and the Service props' validation.
 */
import { ApiObject, ApiObjectMetadata, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { invalid } from './_errors';
import { checkAnnotations, checkLabels, checkQualifiedName, refuseOwnLabels } from './_names';
import { parseAnyCidr } from './_net';
import { ExternalTrafficPolicy, GatewayServiceType } from './gateway-options';
import type { WireguardGatewayProps } from './wireguard-gateway-props';

/** The API server's default --service-node-port-range. */
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

/** The gateway props the Service reads (a subset of WireguardGatewayProps). */
export type ServiceProps = Pick<WireguardGatewayProps, 'serviceType' | 'nodePort' | 'serviceNodePortRange' | 'loadBalancerClass' | 'loadBalancerSourceRanges' | 'externalTrafficPolicy' | 'serviceAnnotations' | 'serviceLabels'>;

export interface ServiceInputs {
  readonly metadata: ApiObjectMetadata;
  /** The labels of the pods the Service sends to. */
  readonly selector: { [key: string]: string };
  readonly listenPort: number;
}

export function buildService(scope: Construct, props: ServiceProps, inputs: ServiceInputs): kplus.Service {
  const path = scope.node.path;
  const serviceType = props.serviceType ?? GatewayServiceType.LOAD_BALANCER;
  for (const [prop, value] of [['loadBalancerSourceRanges', props.loadBalancerSourceRanges], ['loadBalancerClass', props.loadBalancerClass]] as const) {
    if (value !== undefined && serviceType !== GatewayServiceType.LOAD_BALANCER) {
      throw invalid(path, prop, value, `${prop === 'loadBalancerClass' ? 'it only applies' : 'they only apply'} to serviceType LOAD_BALANCER, not ${serviceType}`,
        `drop ${prop}, or use GatewayServiceType.LOAD_BALANCER`);
    }
  }
  const sourceRanges = props.loadBalancerSourceRanges?.map((c, i) => parseAnyCidr(path, `loadBalancerSourceRanges[${i}]`, c));
  if (props.loadBalancerClass !== undefined) {
    checkQualifiedName(path, 'loadBalancerClass', props.loadBalancerClass,
      'use your load balancer controller\'s class, for example "service.k8s.aws/nlb" (AWS Load Balancer Controller)');
  }
  checkNodePort(path, props);
  checkLabels(path, 'serviceLabels', props.serviceLabels);
  refuseOwnLabels(path, 'serviceLabels', props.serviceLabels, inputs.metadata.labels ?? {}, 'its Service');
  checkAnnotations(path, 'serviceAnnotations', props.serviceAnnotations);
  const port = inputs.listenPort;
  const service = new kplus.Service(scope, 'Service', {
    metadata: {
      ...inputs.metadata,
      labels: { ...props.serviceLabels, ...inputs.metadata.labels },
      annotations: props.serviceAnnotations,
    },
    type: serviceType === GatewayServiceType.NODE_PORT ? kplus.ServiceType.NODE_PORT : kplus.ServiceType.LOAD_BALANCER,
    ports: [{ name: 'wireguard', port, targetPort: port, protocol: kplus.Protocol.UDP, nodePort: props.nodePort }],
    loadBalancerSourceRanges: sourceRanges,
  });
  // The gateway's own labels, never cdk8s-plus's path-derived one: moving the gateway keeps the selector.
  for (const [key, value] of Object.entries(inputs.selector)) service.selectLabel(key, value);
  ApiObject.of(service).addJsonPatch(
    JsonPatch.add('/spec/externalTrafficPolicy', props.externalTrafficPolicy ?? ExternalTrafficPolicy.CLUSTER),
    // A peer's WireGuard session lives in one pod: keep each client on it.
    JsonPatch.add('/spec/sessionAffinity', 'ClientIP'),
  );
  if (props.loadBalancerClass !== undefined) {
    ApiObject.of(service).addJsonPatch(JsonPatch.add('/spec/loadBalancerClass', props.loadBalancerClass));
  }
  return service;
}

/** A fixed nodePort lies inside the cluster's node port range (the API server's --service-node-port-range). */
function checkNodePort(path: string, props: ServiceProps): void {
  const rangeText = props.serviceNodePortRange ?? DEFAULT_NODE_PORT_RANGE;
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(rangeText);
  const [low, high] = m === null ? [NaN, NaN] : [Number(m[1]), Number(m[2])];
  if (!(low >= 1 && low <= high && high <= 65535)) {
    throw invalid(path, 'serviceNodePortRange', props.serviceNodePortRange, 'must be "<first>-<last>", two ports from 1 to 65535 in order, as the API server\'s --service-node-port-range',
      `copy your API server's --service-node-port-range, or omit it for the default "${DEFAULT_NODE_PORT_RANGE}"`);
  }
  if (props.nodePort === undefined) {
    if (props.serviceNodePortRange !== undefined) {
      throw invalid(path, 'serviceNodePortRange', props.serviceNodePortRange, 'it only checks nodePort, which is not set',
        'set nodePort too, or drop serviceNodePortRange');
    }
    return;
  }
  if (!Number.isInteger(props.nodePort) || props.nodePort < low || props.nodePort > high) {
    const example = low <= 31820 && 31820 <= high ? 31820 : low;
    throw invalid(path, 'nodePort', props.nodePort, `must be an integer inside the cluster's node port range ${low}-${high}`,
      `pick a free node port such as ${example}, or omit nodePort to let Kubernetes pick one; if your API server's --service-node-port-range differs, set serviceNodePortRange`);
  }
}
