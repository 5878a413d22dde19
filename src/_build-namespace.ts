/**
 * The optional Namespace of a gateway (`defineNamespace: true`), labelled for
 * Pod Security so that the WireGuard init container is admitted.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { invalid } from './_errors';

/** Namespaces every cluster has, shared with other workloads: labelling one privileged lowers Pod Security for all of them. */
const SHARED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function buildNamespace(scope: Construct, name: string): kplus.Namespace {
  if (SHARED_NAMESPACES.includes(name)) {
    throw invalid(scope.node.path, 'namespace', name,
      `defineNamespace labels the namespace "pod-security.kubernetes.io/enforce: privileged", which would lower Pod Security for every workload in it; ${SHARED_NAMESPACES.map((n) => `"${n}"`).join(', ')} are refused`,
      'give the gateway a namespace of its own (the namespace prop or the chart\'s, for example "wireguard"), or drop defineNamespace');
  }
  const namespace = new kplus.Namespace(scope, 'Namespace', {
    metadata: {
      name,
      labels: {
        // The init container is privileged (or has NET_ADMIN): outside "baseline".
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
    },
  });
  // A Namespace is cluster-scoped: drop the namespace the chart gives every object.
  ApiObject.of(namespace).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return namespace;
}
