/**
 * Route addresses. A route without an explicit address gets one derived from
 * a hash of its name (case-insensitive) into the service network's usable
 * addresses: it depends on nothing but the name and the network, so adding,
 * removing or reordering other routes never moves it. Two routes can land on
 * one address; that is never resolved silently (resolving it would move one of
 * them): synth fails, naming both routes and a free address to give one of
 * them. Pure functions: the same input always gives the same result.
 */
import { createHash } from 'crypto';
import { invalidMessage } from './_errors';
import { Ipv4Network, intToIpv4, ipv4ToInt, usableRange } from './_net';

/** The automatic address of a route named `name` in `network`. */
export function automaticAddress(network: Ipv4Network, name: string): string {
  const { first, last } = usableRange(network);
  const hash = createHash('sha256').update(name.toLowerCase()).digest().readUInt32BE(0);
  return intToIpv4(first + (hash % (last - first + 1)));
}

export interface RouteAddress {
  /** Construct path, for messages. */
  readonly path: string;
  /** The route's name (its construct id), for the order of messages. */
  readonly name: string;
  readonly address: string;
  /** True when the address was given explicitly. */
  readonly explicit: boolean;
}

/**
 * One message per route whose automatic address another route also holds.
 * Explicit addresses may be shared (on different ports: the listen-port check
 * covers that); an automatic address belongs to its route alone. In each
 * group, explicit holders come first, then automatic ones by name; every
 * automatic route after the first holder gets a message naming every other
 * holder and suggesting a free address for it, distinct from every other
 * suggestion.
 */
export function addressCollisions(network: Ipv4Network, routes: RouteAddress[]): string[] {
  const byAddress = new Map<string, RouteAddress[]>();
  for (const r of routes) byAddress.set(r.address, [...byAddress.get(r.address) ?? [], r]);
  const taken = new Set(routes.map((r) => ipv4ToInt(r.address)));
  const free = freeAddresses(network, taken);
  const messages: string[] = [];
  const groups = [...byAddress.entries()].sort(([a], [b]) => ipv4ToInt(a) - ipv4ToInt(b));
  for (const [address, group] of groups) {
    if (group.length < 2 || group.every((r) => r.explicit)) continue;
    const ordered = [...group].sort(holderOrder);
    const holder = ordered[0];
    // Two routes of one name (case-insensitive) are reported as such by the name check.
    const others = ordered.slice(1).filter((x) => !x.explicit && x.name.toLowerCase() !== holder.name.toLowerCase());
    for (const r of others) {
      const rest = group.filter((x) => x !== r).sort(holderOrder)
        .map((x) => `${x.path} (${x.explicit ? 'given explicitly' : 'derived from its name'})`);
      const allowed = `it is the automatic address of this route (derived from its name), and ${rest.length === 1 ? 'route' : 'routes'} `
        + `${rest.join(', ')} ${rest.length === 1 ? 'has' : 'have'} it too`;
      messages.push(invalidMessage(r.path, 'address', address, allowed, fixFor(network, r, holder, free(address))));
    }
  }
  return messages;
}

/** Explicit addresses first (path order), then automatic ones by name. */
function holderOrder(a: RouteAddress, b: RouteAddress): number {
  if (a.explicit !== b.explicit) return a.explicit ? -1 : 1;
  const [x, y] = a.explicit ? [a.path, b.path] : [a.name.toLowerCase(), b.name.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}

function fixFor(network: Ipv4Network, r: RouteAddress, holder: RouteAddress, suggestion: string | undefined): string {
  if (suggestion === undefined) {
    const { first, last } = usableRange(network);
    return `give the gateway a larger serviceNetwork (${network.cidr} has no free address left, ${last - first + 1} usable), `
      + 'or let routes share an explicit address on different ports';
  }
  if (holder.explicit) {
    return `give ${r.path} an explicit address that no route uses, for example address: "${suggestion}"`;
  }
  // Only one of the two can be in use already (the collision would have failed an earlier synth): move the other one.
  return `give one of them an explicit address that no route uses, for example address: "${suggestion}" on ${r.path}; `
    + `if peers already reach ${r.path} at ${r.address}, give it to ${holder.path} instead`;
}

/**
 * Hands out free addresses: for a collision at `near`, the first free address
 * after it (wrapping around the network), never the same one twice.
 */
function freeAddresses(network: Ipv4Network, taken: Set<number>): (near: string) => string | undefined {
  const { first, last } = usableRange(network);
  const size = last - first + 1;
  const used = new Set(taken);
  return (near) => {
    const start = ipv4ToInt(near) - first;
    for (let k = 1; k < size; k++) {
      const candidate = first + ((start + k) % size);
      if (!used.has(candidate)) {
        used.add(candidate);
        return intToIpv4(candidate);
      }
    }
    return undefined;
  };
}
