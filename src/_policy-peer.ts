/**
 * A network-policy peer (a `metrics.scrapeFrom`) as the NetworkPolicyPeer
 * entries of a rule. The peer may come from any cdk8s-plus major: the library
 * only calls the public API of its own cdk8s-plus-27 and of cdk8s core.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { IPolicyPeer } from './policy-peer';

/**
 * The `from` (or `to`) entries that select `peer`. cdk8s-plus keeps the label
 * selectors of a peer private in every major, so the library does not read them:
 * a cdk8s-plus NetworkPolicy renders the peer, in a chart of its own that is never
 * synthesized, and the library reads the policy's JSON back (`ApiObject.toJson`).
 */
export function policyPeers(peer: IPolicyPeer): kplus.k8s.NetworkPolicyPeer[] {
  const scratch = new Chart(new App(), 'peer');
  const policy = new kplus.NetworkPolicy(scratch, 'Render', { ingress: { rules: [{ peer }] } });
  // The JSON of a NetworkPolicyPeer has the typed shape: it has no IntOrString or Quantity field.
  const spec: { readonly ingress?: Array<{ readonly from?: kplus.k8s.NetworkPolicyPeer[] }> } = ApiObject.of(policy).toJson().spec;
  return spec.ingress?.[0]?.from ?? [];
}
