/**
 * From an app's manifests to the gateways a client configuration is made for:
 * each ConfigMap with a connection-info.json, read by the library's own
 * reader, and what each peer may reach. Pure: text in, data out.
 */
import { parseAllDocuments } from 'yaml';
import { ConnectionInfo, ConnectionInfoError, ConnectionInfoPeer, parseConnectionInfo } from '../_connection-info';
import { FILES } from '../_contract';
import { reachableAddresses } from '../_render-client';
import { ClientAllowedIps } from '../gateway-options';
import { CliError } from './command';

/**
 * The ConfigMap key the gateway writes its connection information under.
 * Same value as WireguardGateway.CONNECTION_INFO (a test checks it), taken
 * from _model.ts so the CLI does not load cdk8s and cdk8s-plus at start.
 */
export const CONNECTION_INFO_KEY = FILES.connectionInfo;

export interface PeerInfo extends ConnectionInfoPeer {
  /** The service addresses this peer may reach, derived from the routes' allow lists. */
  readonly allowedAddresses: string[];
  /** The client file's AllowedIPs: the service network, or the /32s of allowedAddresses. */
  readonly allowedIps: string[];
}

/** One gateway's connection-info.json, validated, with what each peer may reach. */
export interface GatewayInfo extends Omit<ConnectionInfo, 'peers'> {
  /** Where it was found: file and ConfigMap, for messages. */
  readonly source: string;
  readonly peers: PeerInfo[];
}

/** A gateway's document, with each peer's reachable addresses and AllowedIPs (as the library derives them for its own client files). */
export function gatewayInfo(info: ConnectionInfo, source: string): GatewayInfo {
  const reachable = reachableAddresses(info.routes);
  const allowedIps = (addresses: string[]) => (info.clientAllowedIps === ClientAllowedIps.SERVICE_NETWORK
    ? [info.serviceNetwork]
    : addresses.map((a) => `${a}/32`));
  return {
    ...info,
    source,
    peers: info.peers.map((p) => ({ ...p, allowedAddresses: reachable(p.address), allowedIps: allowedIps(reachable(p.address)) })),
  };
}

/** Reads one connection-info.json; a bad one is the user's to fix (a CliError). */
export function readGateway(text: string, source: string): GatewayInfo {
  try {
    return gatewayInfo(parseConnectionInfo(text, source), source);
  } catch (e) {
    if (e instanceof ConnectionInfoError) throw new CliError(e.message);
    throw e;
  }
}

/** Every gateway in a set of YAML files (path -> text), in file order. */
export function findGateways(files: ReadonlyArray<{ readonly file: string; readonly text: string }>): GatewayInfo[] {
  const found: GatewayInfo[] = [];
  for (const { file, text } of files) {
    for (const doc of parseAllDocuments(text, { prettyErrors: false })) {
      if (doc.errors.length > 0) {
        throw new CliError(`${file}: not valid YAML: ${doc.errors[0].message}`);
      }
      const o = doc.toJS();
      const info = o?.kind === 'ConfigMap' ? o.data?.[CONNECTION_INFO_KEY] : undefined;
      if (typeof info !== 'string') continue;
      const name = `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? '?'}`;
      found.push(readGateway(info, `${file}: ConfigMap ${name}`));
    }
  }
  return found;
}

/** Every gateway in an app's manifests; none is an error (`command` starts the message). */
export function requireGateways(command: string, manifests: ReadonlyArray<{ readonly file: string; readonly text: string }>): GatewayInfo[] {
  const gateways = findGateways(manifests);
  if (gateways.length === 0) {
    throw new CliError(`${command}: no WireguardGateway found in the app's manifests (no ConfigMap with the key "${CONNECTION_INFO_KEY}" in ${manifests.length} YAML file(s)). Fix: check that --app synthesizes the app that defines the gateway`);
  }
  return gateways;
}
