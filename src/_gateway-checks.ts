/**
 * The whole-gateway checks that can only run once every route and peer is
 * known: they run at synth (node.addValidation) and report every problem at
 * once, each with its construct path.
 */
import { GatewaySettings, GatewayContents } from './_gateway-spec';
import type { GatewayRoute } from './gateway-route';
import type { WireguardPeer } from './wireguard-peer';

/** Kubernetes rejects a ConfigMap whose data is larger than 1 MiB. */
export const MAX_CONFIGMAP_BYTES = 1024 * 1024;

export interface CheckInputs {
  readonly settings: GatewaySettings;
  readonly contents: GatewayContents;
  /** The gateway's own public key. */
  readonly publicKey: string;
  /** The IPv4 CIDRs the pod may reach (the NetworkPolicy's egress). */
  readonly egressIpv4Cidrs: () => Set<string>;
  /** The size of the ConfigMap's data, in bytes. */
  readonly configMapBytes: () => number;
}

export function checkGateway(inputs: CheckInputs): string[] {
  const path = inputs.settings.path;
  const routes = inputs.contents.routes;
  if (routes.length === 0) {
    return [`${path}: the gateway exposes nothing. Fix: add a route with addProxiedService or addManagedDbRoute (or new ProxiedService / new ManagedDbRoute)`];
  }
  const plan = inputs.contents.plan();
  if (plan.errors.length > 0) return [...plan.errors];
  const errors = [
    ...checkRoutes(inputs, plan.addresses),
    ...checkPeers(inputs),
  ];
  if (errors.length === 0) {
    const bytes = inputs.configMapBytes();
    if (bytes > MAX_CONFIGMAP_BYTES) {
      errors.push(`${path}: the rendered configuration is ${bytes} bytes (${routes.length} routes, ${inputs.contents.peers.length} peers), `
        + `but a ConfigMap holds at most ${MAX_CONFIGMAP_BYTES} bytes (1 MiB), so the API server would reject it. `
        + 'Fix: split the routes and peers over several gateways (one gateway holds roughly 1,000 routes and 1,000 peers)');
    }
  }
  return errors;
}

/** Listen addresses are unique, allowPeers are this gateway's peers, names are unique. */
function checkRoutes(inputs: CheckInputs, addresses: string[]): string[] {
  const errors: string[] = [];
  const path = inputs.settings.path;
  const routes = inputs.contents.routes;
  const used = new Map<string, GatewayRoute>();
  routes.forEach((route, i) => {
    const key = `${addresses[i]}:${route.listenPort}`;
    const other = used.get(key);
    if (other !== undefined) {
      errors.push(`${route.node.path}: invalid listenPort ${route.listenPort}: ${key} is already used by ${other.node.path}. Fix: give one of them another listenPort, or another address`);
    } else {
      used.set(key, route);
    }
    for (const peer of route._allowPeers() ?? []) {
      if (!inputs.contents.hasPeer(peer)) {
        errors.push(`${route.node.path}: invalid allowPeers entry ${JSON.stringify(peer.node.path)}: it is not a peer of ${path}. Fix: add the peer with this gateway's addPeer, or remove it from allowPeers`);
      }
    }
  });
  // A route's name is its key in the connection map and its host name in the
  // hosts file (case-insensitive): two routes may not share one.
  const byName = new Map<string, GatewayRoute>();
  for (const route of routes) {
    const other = byName.get(route.node.id.toLowerCase());
    if (other !== undefined) {
      errors.push(`${route.node.path}: invalid route name ${JSON.stringify(route.node.id)}: route ${other.node.path} has the same name (names are case-insensitive). Fix: give every route of the gateway its own id`);
    } else {
      byName.set(route.node.id.toLowerCase(), route);
    }
  }
  return errors;
}

/** Peer addresses and keys are unique and take over none of the pod's own traffic. */
function checkPeers(inputs: CheckInputs): string[] {
  const errors: string[] = [];
  // The pod routes each peer's /32 into the tunnel: a peer address that is
  // also a resolver or a /32 egress destination would hand that traffic to the peer.
  // A Set: one lookup per peer, not a scan of every route's CIDRs (O(peers × routes)).
  const egressCidrs = inputs.egressIpv4Cidrs();
  const resolvers = inputs.settings.resolver.addresses;
  const byAddress = new Map<string, WireguardPeer>();
  const byKey = new Map<string, WireguardPeer>();
  for (const p of inputs.contents.peers) {
    if (resolvers.includes(p.address)) {
      errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is one of the gateway's resolverAddresses, so the pod would send its DNS queries to this peer. Fix: give the peer an address outside every network the gateway talks to`);
    }
    if (egressCidrs.has(`${p.address}/32`)) {
      errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is the egress destination ${p.address}/32, so the pod would send that traffic to this peer. Fix: give the peer an address outside every network the gateway talks to`);
    }
    const a = byAddress.get(p.address);
    if (a !== undefined) {
      errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is already the address of peer ${a.node.path}. Fix: give every peer its own tunnel address`);
    } else {
      byAddress.set(p.address, p);
    }
    const k = byKey.get(p.publicKey);
    if (k !== undefined) {
      errors.push(`${p.node.path}: invalid publicKey ${JSON.stringify(p.publicKey)}: it is already the key of peer ${k.node.path}. Fix: every peer needs its own key pair (wg genkey)`);
    } else {
      byKey.set(p.publicKey, p);
    }
    if (p.publicKey === inputs.publicKey) {
      errors.push(`${p.node.path}: invalid publicKey ${JSON.stringify(p.publicKey)}: it is the gateway's own public key. Fix: give the peer its own key pair (wg genkey)`);
    }
  }
  return errors;
}
