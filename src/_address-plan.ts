/**
 * Gives every route an address in the service network: explicit addresses are
 * kept, the others get the next free address in definition order. A pure
 * function: the same requests always give the same plan.
 */
import { invalidMessage } from './_errors';
import { Ipv4Network, intToIpv4, ipv4ToInt, usableRange } from './_net';

export interface AddressRequest {
  /** Construct path, for messages. */
  readonly path: string;
  /** An explicit address, already checked to be inside the network. */
  readonly address?: string;
}

export interface AddressPlan {
  /** The address of each request, in request order. */
  readonly addresses: string[];
  /** Problems found, as messages; empty when the plan is complete. */
  readonly errors: string[];
}

export function planAddresses(network: Ipv4Network, requests: AddressRequest[]): AddressPlan {
  const { first, last } = usableRange(network);
  const taken = new Set<number>();
  for (const r of requests) {
    if (r.address !== undefined) taken.add(ipv4ToInt(r.address));
  }
  const addresses: string[] = [];
  const errors: string[] = [];
  let next = first;
  let exhausted = false;
  for (const r of requests) {
    if (r.address !== undefined) {
      addresses.push(r.address);
      continue;
    }
    while (next <= last && taken.has(next)) next++;
    if (next > last) {
      exhausted = true;
      addresses.push('');
      errors.push(invalidMessage(r.path, 'address', undefined,
        `the service network ${network.cidr} has no free address left (${last - first + 1} usable, all taken)`,
        'give the gateway a larger serviceNetwork, or let routes share an address with an explicit "address" on different ports'));
      continue;
    }
    taken.add(next);
    addresses.push(intToIpv4(next));
    next++;
  }
  return { addresses, errors: exhausted ? errors : [] };
}
