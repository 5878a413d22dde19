/**
 * The gateway's UDP Service for WireGuard: a LoadBalancer (or NodePort) with
 * ClientIP session affinity, and the Service props' validation.
 */
import { ApiObject, ApiObjectMetadata, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { invalid } from './_errors';
import { parseAnyCidr } from './_net';
import { ExternalTrafficPolicy, GatewayServiceType } from './gateway-service-options';

/** The gateway props the Service reads (a subset of WireguardGatewayProps). */
export interface ServiceProps {
  readonly serviceType?: GatewayServiceType;
  readonly nodePort?: number;
  readonly loadBalancerSourceRanges?: string[];
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
  readonly serviceAnnotations?: { [key: string]: string };
}

export interface ServiceInputs {
  readonly metadata: ApiObjectMetadata;
  /** The pods the Service sends to. */
  readonly selector: kplus.Deployment;
  readonly listenPort: number;
}

export function buildService(scope: Construct, props: ServiceProps, inputs: ServiceInputs): kplus.Service {
  const path = scope.node.path;
  const serviceType = props.serviceType ?? GatewayServiceType.LOAD_BALANCER;
  if (props.loadBalancerSourceRanges !== undefined && serviceType !== GatewayServiceType.LOAD_BALANCER) {
    throw invalid(path, 'loadBalancerSourceRanges', props.loadBalancerSourceRanges, `they only apply to serviceType LOAD_BALANCER, not ${serviceType}`,
      'drop loadBalancerSourceRanges, or use GatewayServiceType.LOAD_BALANCER');
  }
  const sourceRanges = props.loadBalancerSourceRanges?.map((c, i) => parseAnyCidr(path, `loadBalancerSourceRanges[${i}]`, c));
  if (props.nodePort !== undefined && (!Number.isInteger(props.nodePort) || props.nodePort < 1 || props.nodePort > 65535)) {
    throw invalid(path, 'nodePort', props.nodePort, 'must be an integer from 1 to 65535, inside the cluster\'s node port range (usually 30000-32767)', 'pick a free node port such as 31820, or omit it');
  }
  const port = inputs.listenPort;
  const service = new kplus.Service(scope, 'Service', {
    metadata: { ...inputs.metadata, annotations: props.serviceAnnotations },
    type: serviceType === GatewayServiceType.NODE_PORT ? kplus.ServiceType.NODE_PORT : kplus.ServiceType.LOAD_BALANCER,
    selector: inputs.selector,
    ports: [{ name: 'wireguard', port, targetPort: port, protocol: kplus.Protocol.UDP, nodePort: props.nodePort }],
    loadBalancerSourceRanges: sourceRanges,
  });
  ApiObject.of(service).addJsonPatch(
    JsonPatch.add('/spec/externalTrafficPolicy', props.externalTrafficPolicy ?? ExternalTrafficPolicy.CLUSTER),
    // A peer's WireGuard session lives in one pod: keep each client on it.
    JsonPatch.add('/spec/sessionAffinity', 'ClientIP'),
  );
  return service;
}
