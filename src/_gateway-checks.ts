/**
 * The whole-gateway checks that can only run once every route and peer is
 * known: they run at synth (node.addValidation) and report every problem at
 * once, each with its construct path.
 */
import { invalidMessage } from './_errors';
import { GatewaySettings, GatewayContents } from './_gateway-spec';
import { Ipv4Network, ipv4ToInt, isIpv4, networkContains, parseIpv4Cidr } from './_net';
import type { GatewayRoute } from './gateway-route';
import type { WireguardPeer } from './wireguard-peer';
import { WireguardPeerGroup } from './wireguard-peer-group';

/** Kubernetes rejects a ConfigMap whose data is larger than 1 MiB. */
export const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** An IPv4 network the gateway's pod talks to, and where the gateway got it from. */
export interface KnownNetwork {
  readonly network: Ipv4Network;
  /** For messages: "the cidrs of route test/gw/rds", "the gateway's dnsCidrs". */
  readonly source: string;
  /** True for a resolverAddresses entry (as a /32). */
  readonly resolver?: boolean;
}

/** What a gateway names in the app: its own objects and the policies its routes define elsewhere. */
export interface GatewayIdentity {
  readonly path: string;
  readonly namespace: string;
  readonly name: string;
  readonly policies: Array<{ readonly path: string; readonly namespace: string; readonly name: string }>;
}

export interface CheckInputs {
  readonly settings: GatewaySettings;
  readonly contents: GatewayContents;
  /** The gateway's own public key. */
  readonly publicKey: string;
  /** The IPv4 networks the NetworkPolicy lets the pod reach (dnsCidrs, route CIDRs). */
  readonly knownNetworks: () => KnownNetwork[];
  /** Every gateway of the app, this one included. */
  readonly appGateways: () => GatewayIdentity[];
  /** The size of the ConfigMap's data, in bytes. */
  readonly configMapBytes: () => number;
}

export function checkGateway(inputs: CheckInputs): string[] {
  const path = inputs.settings.path;
  const routes = inputs.contents.routes;
  if (routes.length === 0) {
    return [`${path}: the gateway exposes nothing. Fix: add a route with addProxiedService or addManagedDbRoute (or new ProxiedService / new ManagedDbRoute)`];
  }
  const collisions = inputs.contents.addressCollisions();
  const resolvers = inputs.settings.resolver.addresses.filter(isIpv4)
    .map((a) => ({ network: parseIpv4Cidr('', '', `${a}/32`), source: 'one of the gateway\'s resolverAddresses', resolver: true }));
  const networks = sortNetworks([...resolvers, ...inputs.knownNetworks()]);
  const errors = [
    ...checkNames(gatewayIdentity(inputs.settings, inputs.contents), inputs.appGateways()),
    ...collisions,
    ...checkRoutes(inputs, collisions.length === 0),
    ...checkServiceNetwork(inputs.settings, networks),
    ...checkPeers(inputs, networks),
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

/** What a gateway names in the app: its own objects, and the policies its routes define elsewhere. */
export function gatewayIdentity(settings: GatewaySettings, contents: GatewayContents): GatewayIdentity {
  const policies = contents.routes.flatMap((r) => (r._targetPolicy === undefined ? [] : [{ path: r.node.path, ...r._targetPolicy }]));
  return { path: settings.path, namespace: settings.namespace, name: settings.name, policies };
}

/**
 * Every object of a gateway is named after the gateway, so two gateways of one
 * name in one namespace would overwrite each other's objects; so would two
 * allow-from-gateway policies of one name in one namespace. The later gateway
 * (by path) reports it.
 */
function checkNames(self: GatewayIdentity, all: GatewayIdentity[]): string[] {
  const errors: string[] = [];
  const earlier = all.filter((g) => g.path < self.path);
  const twin = earlier.find((g) => g.namespace === self.namespace && g.name === self.name);
  if (twin !== undefined) {
    errors.push(invalidMessage(self.path, 'name', self.name, `gateway ${twin.path} has the same name in namespace "${self.namespace}", and every object of a gateway is named after it`,
      'give one of them another name (the name prop), or another namespace'));
  }
  for (const policy of self.policies) {
    const other = earlier.flatMap((g) => g.policies).find((p) => p.namespace === policy.namespace && p.name === policy.name);
    if (other !== undefined) {
      errors.push(invalidMessage(policy.path, 'route id', policy.path.split('/').pop(),
        `its allow-from-gateway NetworkPolicy ${policy.namespace}/${policy.name} is also defined by ${other.path}`,
        'give one of the two gateways another name, or one of the routes another id'));
    }
  }
  return errors;
}

/** Listen addresses are unique, allowPeers are this gateway's peers, names are unique. */
function checkRoutes(inputs: CheckInputs, checkListenAddresses: boolean): string[] {
  const errors: string[] = [];
  const path = inputs.settings.path;
  const routes = inputs.contents.routes;
  const used = new Map<string, GatewayRoute>();
  for (const route of routes) {
    const key = `${route.address}:${route.listenPort}`;
    const other = used.get(key);
    if (other !== undefined && checkListenAddresses) {
      errors.push(`${route.node.path}: invalid listenPort ${route.listenPort}: ${key} is already used by ${other.node.path}. Fix: give one of them another listenPort, or another address`);
    } else if (other === undefined) {
      used.set(key, route);
    }
    for (const entry of route._allowPeers() ?? []) {
      if (entry instanceof WireguardPeerGroup) {
        if (!inputs.contents.groups.includes(entry)) {
          errors.push(invalidMessage(route.node.path, 'allowPeers entry', entry.node.path, `it is a peer group of gateway ${entry.gateway.node.path}, not of ${path}`,
            'use a group of this gateway (gateway.addPeerGroup), or remove it from allowPeers'));
        }
        continue;
      }
      for (const peer of entry.selectPeers()) {
        if (!inputs.contents.hasPeer(peer)) {
          errors.push(`${route.node.path}: invalid allowPeers entry ${JSON.stringify(peer.node.path)}: it is not a peer of ${path}. Fix: add the peer with this gateway's addPeer, or remove it from allowPeers`);
        }
      }
    }
  }
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
  return [...errors, ...checkGroupNames(inputs.contents.groups)];
}

/** A group's name is its construct id, as reports show it: two groups of one gateway may not share one. */
function checkGroupNames(groups: WireguardPeerGroup[]): string[] {
  const errors: string[] = [];
  const byName = new Map<string, WireguardPeerGroup>();
  for (const group of groups) {
    const other = byName.get(group.node.id.toLowerCase());
    if (other !== undefined) {
      errors.push(invalidMessage(group.node.path, 'peer group name', group.node.id, `group ${other.node.path} has the same name (names are case-insensitive), and reports name groups by it`,
        'give every peer group of the gateway its own id'));
    } else {
      byName.set(group.node.id.toLowerCase(), group);
    }
  }
  return errors;
}

const TALKS_TO = 'the routes\' cidrs and egressCidrs, dnsCidrs and resolverAddresses';

/**
 * Sorted by address, prefix and source, so messages never depend on definition
 * order; one entry per CIDR (many routes often share one).
 */
function sortNetworks(networks: KnownNetwork[]): KnownNetwork[] {
  return [...networks]
    .sort((a, b) => a.network.base - b.network.base || a.network.prefix - b.network.prefix
      || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))
    .filter((n, i, all) => i === 0 || n.network.cidr !== all[i - 1].network.cidr);
}

function overlaps(a: Ipv4Network, b: Ipv4Network): boolean {
  return a.base < b.base + 2 ** (32 - b.prefix) && b.base < a.base + 2 ** (32 - a.prefix);
}

/**
 * The pod holds every service address itself (on wg0), so a service address
 * that is also a target's, a resolver's or a DNS server's address would keep
 * that traffic in the pod. No known network may overlap the service network.
 */
function checkServiceNetwork(settings: GatewaySettings, networks: KnownNetwork[]): string[] {
  const hit = networks.find((n) => overlaps(n.network, settings.network));
  if (hit === undefined) return [];
  return [invalidMessage(settings.path, 'serviceNetwork', settings.network.cidr,
    `it overlaps ${hit.network.cidr}, ${hit.source}, and the pod holds the service addresses itself, so its traffic to a target at one of them would never leave the pod`,
    `pick a serviceNetwork that overlaps no network the gateway talks to (${TALKS_TO})`)];
}

/** Peer addresses and keys are unique, and no peer takes over any of the pod's own traffic. */
function checkPeers(inputs: CheckInputs, networks: KnownNetwork[]): string[] {
  const errors: string[] = [];
  const byAddress = new Map<string, WireguardPeer>();
  const byKey = new Map<string, WireguardPeer>();
  for (const p of inputs.contents.peers) {
    // The pod routes each peer's /32 into the tunnel: a peer address inside a
    // network the pod talks to would hand that traffic to the peer.
    const address = ipv4ToInt(p.address);
    const hit = networks.find((n) => networkContains(n.network, address));
    if (hit?.resolver) {
      errors.push(`${p.node.path}: invalid address ${JSON.stringify(p.address)}: it is one of the gateway's resolverAddresses, so the pod would send its DNS queries to this peer. Fix: give the peer an address outside every network the gateway talks to`);
    } else if (hit !== undefined) {
      errors.push(invalidMessage(p.node.path, 'address', p.address,
        `it is inside ${hit.network.cidr}, ${hit.source}, and the pod routes every peer's address into the tunnel, so its traffic to ${p.address} would go to this peer`,
        `give the peer an address outside every network the gateway talks to (${TALKS_TO})`));
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
