/**
 * connection-info.json: the document a gateway writes into its ConfigMap for
 * programs outside the cluster (the CLI), and the one place that writes and
 * reads it. docs/connection-info.md documents the schema and the version rule.
 *
 * Versions: a reader reads every version up to CONNECTION_INFO_VERSION and
 * refuses a newer one. The version goes up when an older reader would misread
 * the new document (a field removed, renamed or with a new meaning, or a new
 * field it must not ignore); a field an older reader may ignore is added
 * without a new version. Documents without `version` were written before
 * version 1: they read as version 1, with `clientAllowedIps` "route-addresses"
 * when it is absent (the releases before that field listed the routes'
 * addresses).
 *
 * No cdk8s import here: the CLI loads this module at start.
 */
import { isWireguardKey } from './_keys';
import { RouteSpec } from './_model';
import { ipv4ToInt, isDnsName, isIpv4, isIpv6, parseIpv4Cidr } from './_net';
import { parseRfc3339, rfc3339 } from './_peer-access';
import { ConnectionEntry, connectionEntries } from './_render-client';
import { ClientAllowedIps } from './gateway-options';

/** The version this library writes, and the newest its reader knows. */
export const CONNECTION_INFO_VERSION = 1;

/** A peer of the gateway, as connection-info.json lists it. */
export interface ConnectionInfoPeer {
  /** The peer's construct id. */
  readonly name: string;
  /** Its tunnel address (IPv4). */
  readonly address: string;
  readonly publicKey: string;
  /** Seconds; 0 is off. */
  readonly persistentKeepalive: number;
  /** The gateway expects a preshared key from this peer. */
  readonly presharedKey: boolean;
  /** When its access ends, RFC 3339 in UTC ("2027-03-31T00:00:00Z"), or null when it never does. */
  readonly expires: string | null;
  /** Whether the gateway admits it (a disabled peer is on no interface). */
  readonly enabled: boolean;
  /** The names of the peer groups it is in, sorted. */
  readonly groups: string[];
}

/** connection-info.json, version CONNECTION_INFO_VERSION. */
export interface ConnectionInfo {
  readonly version: number;
  /** The gateway's construct path. */
  readonly gateway: string;
  /** Where peers connect (hostname or IP), or null when the gateway has none. */
  readonly endpoint: string | null;
  /** The WireGuard UDP port. */
  readonly listenPort: number;
  readonly mtu: number;
  /** The gateway's public key. */
  readonly publicKey: string;
  /** The service network (IPv4 CIDR). */
  readonly serviceNetwork: string;
  /** What a client file routes into the tunnel. */
  readonly clientAllowedIps: ClientAllowedIps;
  /** Sorted by address and port. */
  readonly routes: ConnectionEntry[];
  /** Sorted by address. */
  readonly peers: ConnectionInfoPeer[];
}

/** What a gateway knows, to build its connection-info.json from. */
export interface ConnectionInfoInput {
  readonly gateway: string;
  readonly endpoint?: string;
  readonly listenPort: number;
  readonly mtu: number;
  readonly publicKey: string;
  readonly serviceNetwork: string;
  readonly clientAllowedIps: ClientAllowedIps;
  readonly routes: RouteSpec[];
  readonly peers: ConnectionInfoPeer[];
}

/** The document of a gateway: routes and peers in address order, so synth output never depends on definition order. */
export function buildConnectionInfo(input: ConnectionInfoInput): ConnectionInfo {
  return {
    version: CONNECTION_INFO_VERSION,
    gateway: input.gateway,
    endpoint: input.endpoint ?? null,
    listenPort: input.listenPort,
    mtu: input.mtu,
    publicKey: input.publicKey,
    serviceNetwork: input.serviceNetwork,
    clientAllowedIps: input.clientAllowedIps,
    routes: connectionEntries(input.routes),
    peers: [...input.peers]
      .sort((a, b) => ipv4ToInt(a.address) - ipv4ToInt(b.address))
      .map((p) => ({
        name: p.name,
        address: p.address,
        publicKey: p.publicKey,
        persistentKeepalive: p.persistentKeepalive,
        presharedKey: p.presharedKey,
        expires: p.expires,
        enabled: p.enabled,
        groups: [...p.groups],
      })),
  };
}

/** The document as the ConfigMap carries it: JSON, two-space indent, one final newline. */
export function renderConnectionInfo(info: ConnectionInfo): string {
  return JSON.stringify(info, null, 2) + '\n';
}

/** A connection-info.json that cannot be read; the message names the source, the field and the fix. */
export class ConnectionInfoError extends Error {}

const FILE = 'connection-info.json';
const CLIENT_ALLOWED_IPS = Object.values(ClientAllowedIps) as string[];

/**
 * Reads a connection-info.json field by field (its values reach config files)
 * into the current version's shape. `source` says where it was found, for
 * messages. Fields it does not know are ignored.
 */
export function parseConnectionInfo(text: string, source: string): ConnectionInfo {
  const fail = (field: string, value: unknown, allowed: string): never => {
    throw new ConnectionInfoError(`${source}: invalid ${field} ${JSON.stringify(value)} in ${FILE}: ${allowed}. Fix: synthesize the app with this version of cdk8s-wireguard-gateway`);
  };
  let j: any;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ConnectionInfoError(`${source}: ${FILE} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail('document', typeof j, 'must be a JSON object');
  if (j.version !== undefined && (!Number.isInteger(j.version) || j.version < 1)) fail('version', j.version, 'must be a whole number, 1 or more');
  if (j.version > CONNECTION_INFO_VERSION) {
    throw new ConnectionInfoError(`${source}: ${FILE} has version ${j.version}, and this cdk8s-wireguard-gateway reads versions up to ${CONNECTION_INFO_VERSION}: the app was synthesized with a newer release. Fix: upgrade cdk8s-wireguard-gateway to the release the app uses, and run the command from the app's project (npx cdk8s-wireguard-gateway)`);
  }

  const str = (field: string, v: unknown) => (typeof v === 'string' && v !== '' && !/[\r\n]/.test(v) ? v : fail(field, v, 'must be a one-line string'));
  const int = (field: string, v: unknown, min: number, max: number) =>
    (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? v as number : fail(field, v, `must be an integer from ${min} to ${max}`));
  const bool = (field: string, v: unknown) => (typeof v === 'boolean' ? v : fail(field, v, 'must be true or false'));
  const ipv4 = (field: string, v: unknown) => (typeof v === 'string' && isIpv4(v) ? v : fail(field, v, 'must be an IPv4 address'));
  const key = (field: string, v: unknown) => (typeof v === 'string' && isWireguardKey(v) ? v : fail(field, v, 'must be a WireGuard public key'));
  const arr = (field: string, v: unknown) => (Array.isArray(v) ? v : fail(field, v, 'must be a list'));
  const cidr = (field: string, v: unknown) => (typeof v === 'string' && isIpv4Cidr(v) ? v : fail(field, v, 'must be an IPv4 CIDR'));
  const expiry = (field: string, v: unknown) => {
    const seconds = typeof v === 'string' ? parseRfc3339(v) : undefined;
    return seconds === undefined ? fail(field, v, 'must be an RFC 3339 time, for example "2027-03-31T00:00:00Z", or null') : rfc3339(seconds);
  };

  const endpoint = j.endpoint === null ? null : str('endpoint', j.endpoint);
  if (endpoint !== null && !isIpv4(endpoint) && !isIpv6(endpoint) && !isDnsName(endpoint)) {
    fail('endpoint', endpoint, 'must be a hostname or an IP address');
  }
  const routes: ConnectionEntry[] = arr('routes', j.routes).map((r: any, i: number) => ({
    name: str(`routes[${i}].name`, r?.name),
    kind: str(`routes[${i}].kind`, r?.kind),
    address: ipv4(`routes[${i}].address`, r?.address),
    port: int(`routes[${i}].port`, r?.port, 1, 65535),
    target: str(`routes[${i}].target`, r?.target),
    ...(r?.allowPeers === undefined ? {} : {
      allowPeers: arr(`routes[${i}].allowPeers`, r.allowPeers).map((a: unknown, k: number) => ipv4(`routes[${i}].allowPeers[${k}]`, a)),
    }),
    ...(r?.allowGroups === undefined ? {} : {
      allowGroups: arr(`routes[${i}].allowGroups`, r.allowGroups).map((g: unknown, k: number) => str(`routes[${i}].allowGroups[${k}]`, g)),
    }),
  }));
  // Documents written before clientAllowedIps existed listed the routes' addresses.
  const clientAllowedIps = j.clientAllowedIps ?? (j.version === undefined ? ClientAllowedIps.ROUTE_ADDRESSES : undefined);
  if (!CLIENT_ALLOWED_IPS.includes(clientAllowedIps)) {
    fail('clientAllowedIps', clientAllowedIps, `must be ${CLIENT_ALLOWED_IPS.map((m) => JSON.stringify(m)).join(' or ')}`);
  }
  return {
    version: CONNECTION_INFO_VERSION,
    gateway: str('gateway', j.gateway),
    endpoint,
    listenPort: int('listenPort', j.listenPort, 1, 65535),
    mtu: int('mtu', j.mtu, 1280, 9000),
    publicKey: key('publicKey', j.publicKey),
    serviceNetwork: cidr('serviceNetwork', j.serviceNetwork),
    clientAllowedIps,
    routes,
    peers: arr('peers', j.peers).map((p: any, i: number) => ({
      name: str(`peers[${i}].name`, p?.name),
      address: ipv4(`peers[${i}].address`, p?.address),
      publicKey: key(`peers[${i}].publicKey`, p?.publicKey),
      persistentKeepalive: int(`peers[${i}].persistentKeepalive`, p?.persistentKeepalive, 0, 65535),
      presharedKey: bool(`peers[${i}].presharedKey`, p?.presharedKey),
      // Written since 0.3.0; documents of earlier releases have peers that are enabled, never expire and are in no group.
      expires: p?.expires === undefined || p.expires === null ? null : expiry(`peers[${i}].expires`, p.expires),
      enabled: p?.enabled === undefined ? true : bool(`peers[${i}].enabled`, p.enabled),
      groups: p?.groups === undefined ? [] : arr(`peers[${i}].groups`, p.groups).map((g: unknown, k: number) => str(`peers[${i}].groups[${k}]`, g)),
    })),
  };
}

/** The library's own CIDR rule (host bits zero), as a yes or no. */
function isIpv4Cidr(value: string): boolean {
  try {
    parseIpv4Cidr('', '', value);
    return true;
  } catch {
    return false;
  }
}
