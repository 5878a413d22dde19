/**
 * Kubernetes object names and labels: the gateway's name (which names every
 * object of the gateway), the labels on its objects and pods, the names of the
 * policies it defines in other namespaces, and the checks of label, annotation
 * and object-name syntax. None of them depends on the construct path, so moving
 * a gateway to another scope renames nothing.
 */
import { createHash } from 'crypto';
import { invalid } from './_errors';

/** The value of `app.kubernetes.io/name` on every gateway object (the e2e suite finds the Deployment by it). */
export const APP_NAME = 'wireguard-gateway';
/**
 * The annotations on the pod template that roll the pod when what it cannot
 * apply while running changes: every file (configUpdates RESTART), or the
 * scripts that run only at container start (LIVE).
 */
export const CHECKSUM_ANNOTATIONS = ['wireguard-gateway.cdk8s.io/config-checksum', 'wireguard-gateway.cdk8s.io/restart-checksum'];
/** cdk8s-plus's own pod label (`kplus.Pod.ADDRESS_LABEL`), which its selectors use. */
export const CDK8S_ADDRESS_LABEL = 'cdk8s.io/metadata.addr';

const DNS_1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN_PART = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${SUBDOMAIN_PART}(\\.${SUBDOMAIN_PART})*$`);
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const NAME_RULE = 'a DNS-1035 label: 1 to 63 characters of a-z, 0-9 and "-", starting with a letter and ending with a letter or digit';
const QUALIFIED_RULE = 'an optional DNS subdomain prefix and "/", then 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit';

/**
 * The gateway's name: `name` when given, else the construct id in lower case
 * ("Gateway" is a common construct id). It is the name of every object the
 * gateway defines and its `app.kubernetes.io/instance` label. A Service name
 * must be a DNS-1035 label, so the name must be one. An id that is not one
 * even in lower case is not guessed at: the message asks for `name`.
 */
export function gatewayName(path: string, id: string, name: string | undefined): string {
  if (name !== undefined) {
    if (typeof name !== 'string' || !DNS_1035.test(name)) {
      throw invalid(path, 'name', name, `must be ${NAME_RULE}; it names every object of the gateway`,
        `use a name like ${JSON.stringify(suggestName(String(name)))}`);
    }
    return name;
  }
  const lower = id.toLowerCase();
  if (!DNS_1035.test(lower)) {
    throw invalid(path, 'name', undefined, `without a name the construct id ${JSON.stringify(id)}, in lower case, names every object of the gateway, and it is not ${NAME_RULE}`,
      `pass name, for example name: ${JSON.stringify(suggestName(id))}`);
  }
  return lower;
}

/** A DNS-1035 label close to `text`, for a message. */
function suggestName(text: string): string {
  let s = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(s)) s = `gw-${s}`;
  return s.slice(0, 63).replace(/-+$/, '');
}

/** The labels the gateway selects its pods by (Deployment, Service, NetworkPolicy). Immutable in a Deployment. */
export function selectorLabels(name: string): { [key: string]: string } {
  return { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/instance': name };
}

/** The labels on every object of the gateway: the selector labels and the other recommended ones. */
export function objectLabels(name: string): { [key: string]: string } {
  return {
    ...selectorLabels(name),
    'app.kubernetes.io/component': 'gateway',
    'app.kubernetes.io/part-of': APP_NAME,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/**
 * A stable value for cdk8s-plus's pod label `cdk8s.io/metadata.addr`. cdk8s-plus
 * derives it from the construct path and selects the pods by it (in
 * `connections.allowTo`, `allowFrom` and Services built from the Deployment);
 * this value depends only on the gateway's namespace and name, which are
 * unique in an app (checked at synth).
 */
export function podAddressLabel(namespace: string, name: string): string {
  const value = `${name}.${namespace}`;
  if (value.length <= 63) return value;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 8);
  return `${name.slice(0, 54)}-${hash}`;
}

/**
 * The name of the allow-from-gateway NetworkPolicy a route defines in its
 * target's namespace: `<gateway name>.<route name>`. Neither part contains a
 * dot, so two (gateway, route) pairs never share a name. A route name that is
 * no DNS label is replaced by a short hash of it.
 */
export function targetPolicyName(gateway: string, route: string): string {
  const lower = route.toLowerCase();
  const part = DNS_1123_LABEL.test(lower) ? lower : `route-${createHash('sha256').update(route).digest('hex').slice(0, 8)}`;
  return `${gateway}.${part}`;
}

/** True when `value` is a DNS subdomain (RFC 1123): the name of a Secret, a PriorityClass, ... */
export function isDnsSubdomain(value: string): boolean {
  return typeof value === 'string' && value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/** Throws unless `value` is a DNS subdomain (the name of a Secret, a PriorityClass, ...). */
export function checkSubdomain(path: string, prop: string, value: string, fix: string): string {
  if (!isDnsSubdomain(value)) {
    throw invalid(path, prop, value, 'must be a DNS subdomain: at most 253 characters of a-z, 0-9, "-" and ".", each dot-separated part starting and ending with a letter or digit', fix);
  }
  return value;
}

/** True when `key` is a qualified name (a label or annotation key, a loadBalancerClass). */
export function isQualifiedName(key: string): boolean {
  if (typeof key !== 'string') return false;
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  return QUALIFIED_NAME_PART.test(name) && (prefix === undefined || isDnsSubdomain(prefix));
}

/** Throws unless `value` is a qualified name. */
export function checkQualifiedName(path: string, prop: string, value: string, fix: string): string {
  if (!isQualifiedName(value)) {
    throw invalid(path, prop, value, `must be a qualified name: ${QUALIFIED_RULE}`, fix);
  }
  return value;
}

/** Checks a map of labels: keys are qualified names, values are empty or label values. */
export function checkLabels(path: string, prop: string, labels: { [key: string]: string } | undefined): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    checkQualifiedName(path, `${prop} key`, key, 'use a key like "example.com/team" or "team"');
    if (typeof value !== 'string' || (value !== '' && !QUALIFIED_NAME_PART.test(value))) {
      throw invalid(path, `${prop}[${JSON.stringify(key)}]`, value,
        'a label value is empty or 1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit',
        'use a short value like "payments"; put free text in an annotation');
    }
  }
}

/**
 * Throws when a user's labels would replace one the gateway sets on `what`
 * ("its pods", "its Service"): the gateway's labels identify its objects.
 */
export function refuseOwnLabels(path: string, prop: string, labels: { [key: string]: string } | undefined,
  own: { [key: string]: string }, what: string): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key in own) {
      throw invalid(path, `${prop}[${JSON.stringify(key)}]`, value, `the gateway sets this label on ${what} itself (to ${JSON.stringify(own[key])})`,
        `drop it from ${prop}; add your own label under another key`);
    }
  }
}

/** Checks a map of annotations: keys are qualified names (values are free text). */
export function checkAnnotations(path: string, prop: string, annotations: { [key: string]: string } | undefined): void {
  for (const key of Object.keys(annotations ?? {})) {
    checkQualifiedName(path, `${prop} key`, key, 'use a key like "example.com/owner"');
  }
}
