/**
 * The optional Namespace of a gateway (`defineNamespace: true`), labelled for
 * Pod Security so that the WireGuard init container is admitted.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

export function buildNamespace(scope: Construct, name: string): kplus.Namespace {
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
