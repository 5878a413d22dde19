/**
 * The gateway's PodDisruptionBudget (policy/v1; cdk8s-plus-27 has no
 * construct for it): a node drain or a cluster upgrade evicts at most one
 * gateway pod at a time. Only with two or more replicas: with one, a budget
 * would either block every drain or allow the outage anyway.
 */
import { ApiObject, ApiObjectMetadata } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';

export function buildDisruptionBudget(scope: Construct, metadata: ApiObjectMetadata, podLabels: { [key: string]: string }): ApiObject {
  const spec: k8s.PodDisruptionBudgetSpec = {
    maxUnavailable: k8s.IntOrString.fromNumber(1),
    selector: { matchLabels: podLabels },
    // A pod that is not ready serves nobody: a drain may always evict it, so a broken
    // pod never blocks a node upgrade.
    unhealthyPodEvictionPolicy: 'AlwaysAllow',
  };
  return new ApiObject(scope, 'DisruptionBudget', {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata,
    spec: k8s.toJson_PodDisruptionBudgetSpec(spec),
  });
}
