/**
 * Pure address, port and name checks. Parsing is ipaddr.js's; these functions
 * only add the library's error messages and the /32 arithmetic it needs.
 */
import * as ipaddr from 'ipaddr.js';
import { invalid } from './_errors';

/** An IPv4 network in dotted-quad form, normalized. */
export interface Ipv4Network {
  /** The network address as a 32-bit unsigned integer. */
  readonly base: number;
  /** The prefix length. */
  readonly prefix: number;
  /** Normalized CIDR text, e.g. "10.99.0.0/24". */
  readonly cidr: string;
}

export function ipv4ToInt(address: string): number {
  const b = ipaddr.IPv4.parse(address).toByteArray();
  return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(value: string): boolean {
  return typeof value === 'string' && ipaddr.IPv4.isValidFourPartDecimal(value);
}

export function isIpv6(value: string): boolean {
  // No zone index ("fe80::1%eth0"): it names an interface of some other host.
  return typeof value === 'string' && value.includes(':') && !value.includes('%') && ipaddr.IPv6.isValid(value);
}

/**
 * Parses an IPv4 CIDR. Host bits must be zero, so a typo like "10.0.0.1/24"
 * is an error rather than a silently different network.
 */
export function parseIpv4Cidr(path: string, prop: string, value: string): Ipv4Network {
  if (typeof value !== 'string' || !value.includes('/')) {
    const hint = typeof value === 'string' && isIpv4(value) ? `did you mean "${value}/32"` : 'write it as "a.b.c.d/n", for example "10.99.0.0/24"';
    throw invalid(path, prop, value, 'an IPv4 CIDR needs a /prefix', hint);
  }
  const [addr, prefixText] = value.split('/');
  const prefix = Number(prefixText);
  if (!isIpv4(addr) || !/^\d{1,2}$/.test(prefixText) || prefix > 32) {
    throw invalid(path, prop, value, 'must be an IPv4 CIDR "a.b.c.d/n" with n from 0 to 32', 'write it as "a.b.c.d/n", for example "10.99.0.0/24"');
  }
  const base = ipv4ToInt(addr);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if (((base & mask) >>> 0) !== base) {
    const net = `${intToIpv4((base & mask) >>> 0)}/${prefix}`;
    throw invalid(path, prop, value, 'the address has host bits set for its prefix', `did you mean "${net}"`);
  }
  return { base, prefix, cidr: `${addr}/${prefix}` };
}

/** Parses a CIDR that may be IPv4 or IPv6 (used for egress and source ranges). */
export function parseAnyCidr(path: string, prop: string, value: string): string {
  if (typeof value === 'string' && value.includes(':')) {
    try {
      const [addr, prefix] = ipaddr.IPv6.parseCIDR(value);
      const normalized = `${addr.toString()}/${prefix}`;
      const network = ipaddr.IPv6.networkAddressFromCIDR(value).toString();
      if (network !== addr.toString()) {
        throw invalid(path, prop, value, 'the address has host bits set for its prefix', `did you mean "${network}/${prefix}"`);
      }
      return normalized;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(path)) throw e;
      throw invalid(path, prop, value, 'must be an IPv4 or IPv6 CIDR', 'write it as "a.b.c.d/n" or "x:y::/n"');
    }
  }
  return parseIpv4Cidr(path, prop, value).cidr;
}

/**
 * A CIDR the gateway's NetworkPolicy allows egress to. A /0 would let the pod
 * reach every address on the port, so it is refused.
 */
export function parseEgressCidr(path: string, prop: string, value: string): string {
  const cidr = parseAnyCidr(path, prop, value);
  if (cidr.endsWith('/0')) {
    throw invalid(path, prop, value, 'a /0 opens the gateway\'s egress to every address on that port',
      'list the subnets where the target lives, for example "10.20.0.0/16"');
  }
  return cidr;
}

/** The IPv4 ranges no tunnel or service address may come from. */
const SPECIAL_RANGES = new Set(['unspecified', 'loopback', 'linkLocal', 'multicast', 'broadcast', 'reserved']);

/**
 * Throws when an address is not an ordinary unicast address: 0.0.0.0/8,
 * loopback, link-local (where cloud metadata lives), multicast or reserved. A
 * route to such an address in the pod would shadow the pod's own traffic.
 */
export function checkUnicastIpv4(path: string, prop: string, value: string, address: number, fix: string): void {
  const range = ipaddr.IPv4.parse(intToIpv4(address)).range();
  if (SPECIAL_RANGES.has(range)) {
    throw invalid(path, prop, value, `it is in the ${range} range, which is not for tunnel or service addresses`, fix);
  }
}

export function networkContains(net: Ipv4Network, address: number): boolean {
  const size = 2 ** (32 - net.prefix);
  return address >= net.base && address < net.base + size;
}

/**
 * The addresses of a network that may be handed out: all of them for /31 and
 * /32, otherwise all but the network and broadcast addresses.
 */
export function usableRange(net: Ipv4Network): { first: number; last: number } {
  const size = 2 ** (32 - net.prefix);
  if (net.prefix >= 31) return { first: net.base, last: net.base + size - 1 };
  return { first: net.base + 1, last: net.base + size - 2 };
}

export function checkPort(path: string, prop: string, value: number, fix: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid(path, prop, value, 'must be an integer from 1 to 65535', fix);
  }
  return value;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS name as resolvers accept it: dot-separated labels of letters, digits
 * and hyphens (RFC 1123), at most 253 characters, optionally one trailing dot.
 * Case is folded. Anything else (spaces, quotes, `;`, `$`, braces, unicode) is
 * rejected, so a host can never change the structure of a rendered file.
 */
export function checkDnsName(path: string, prop: string, value: string, fix: string): string {
  const v = foldDnsName(value);
  if (!hasDnsLabels(v)) {
    throw invalid(path, prop, value,
      'must be a DNS name: labels of a-z, 0-9 and "-", 1 to 63 characters each, separated by dots, at most 253 characters', fix);
  }
  if (hasNumericTopLabel(v)) {
    throw invalid(path, prop, value, 'it is neither a DNS name (its last label is all digits) nor an IPv4 address', fix);
  }
  return v;
}

/** True when checkDnsName accepts `value`: a DNS name, or an IPv4 address. */
export function isDnsName(value: string): boolean {
  const v = foldDnsName(value);
  return hasDnsLabels(v) && !hasNumericTopLabel(v);
}

/** Lower case, without one trailing dot; anything but a string as it is. */
function foldDnsName(value: unknown): unknown {
  return typeof value === 'string' ? value.toLowerCase().replace(/\.$/, '') : value;
}

function hasDnsLabels(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 253 && v.split('.').every((l) => LABEL.test(l));
}

/** "10.0.0.256" or "1.2.3": no resolver answers a name whose top label is all digits. */
function hasNumericTopLabel(v: string): boolean {
  return /^[0-9]+$/.test(v.split('.').pop()!) && !isIpv4(v);
}

/** True when `value` is a DNS label (RFC 1123): a Kubernetes namespace or object name. */
export function isDnsLabel(value: string): boolean {
  return typeof value === 'string' && LABEL.test(value);
}

/** A Kubernetes object name or namespace (RFC 1123 label). */
export function checkDnsLabel(path: string, prop: string, value: string, fix: string): string {
  if (!isDnsLabel(value)) {
    throw invalid(path, prop, value, 'must be a DNS label: 1 to 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit', fix);
  }
  return value;
}

export function checkIpv4Address(path: string, prop: string, value: string, fix: string): number {
  if (!isIpv4(value)) {
    const hint = typeof value === 'string' && value.includes('/') ? `give a single address without a prefix, for example "${value.split('/')[0]}"` : fix;
    throw invalid(path, prop, value, 'must be a single IPv4 address "a.b.c.d"', hint);
  }
  return ipv4ToInt(value);
}
