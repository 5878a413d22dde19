/**
 * The logic of the `cdk8s-wireguard-gateway` command: functions from argv,
 * stdin and env to `{ stdout, stderr, code }`. `cli.ts` only wires them to the
 * process. Never exported from index.ts (not part of the jsii API).
 *
 * Exit codes: 0 success, 1 failure (bad key, app failed, no gateway...),
 * 2 usage error (unknown command or option, missing option).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as qrcode from 'qrcode-terminal';
import { parseAllDocuments } from 'yaml';
import { generateKeyPair, isWireguardKey, publicKeyOf } from './_keys';
import { FILES } from './_model';
import { isIpv4 } from './_net';
import { ConnectionEntry, reachableAddresses, renderClientConfig, renderHostsFile } from './_render-client';

export const BIN = 'cdk8s-wireguard-gateway';

/**
 * The ConfigMap key the gateway writes its connection information under.
 * Same value as WireguardGateway.CONNECTION_INFO (a test checks it),
 * kept here so the CLI does not load cdk8s and cdk8s-plus at start.
 */
export const CONNECTION_INFO_KEY = FILES.connectionInfo;

export const DEFAULT_NAMESPACE = 'wireguard';
export const DEFAULT_SECRET_NAME = 'wireguard-gateway-key';
/** The key inside the Secret: WireguardKey.fromSecretName's default. */
export const SECRET_KEY = 'private-key';

export interface CliIo {
  /** Reads all of stdin. Only `pubkey` calls it. */
  readonly readStdin: () => string;
  readonly env: { [name: string]: string | undefined };
  /** Relative paths (--out, --key-file, ...) and the app command resolve from here. */
  readonly cwd: string;
}

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** An error the CLI reports as one clear message, with an exit code. */
export class CliError extends Error {
  constructor(message: string, public readonly code: number = 1) {
    super(message);
  }
}

function usageError(message: string, command?: string): CliError {
  const help = command ? `${BIN} ${command} --help` : `${BIN} --help`;
  return new CliError(`${message}. Run "${help}" for usage.`, 2);
}

// --- Help texts -------------------------------------------------------------

export const HELP: { [command: string]: string } = {
  '': `Usage: ${BIN} <command> [options]

WireGuard keys and client configurations for cdk8s-wireguard-gateway.

Commands:
  keygen          Print a new key pair and the kubectl line for the gateway's Secret
  pubkey          Read a private key on stdin and print its public key (like "wg pubkey")
  client-config   Synthesize a cdk8s app and write one wg-quick file per peer

Options:
  -h, --help      Show this help ("${BIN} <command> --help" for a command's)

Exit codes: 0 success, 1 failure, 2 usage error.
`,
  'keygen': `Usage: ${BIN} keygen [--namespace <ns>] [--secret-name <name>] [--key-file <path>]

Generate a WireGuard key pair (Curve25519, the same format as "wg genkey" and
"wg pubkey"), and print the kubectl command that stores the private key in the
Secret the gateway reads with WireguardKey.fromSecretName (Secret key "${SECRET_KEY}").

The private key is printed on stdout unless --key-file is given: run it in a
private terminal, not in CI logs, and run "umask 077" before redirecting the
output to a file.

Options:
  --namespace <ns>        Namespace in the kubectl line (default: "${DEFAULT_NAMESPACE}")
  --secret-name <name>    Secret name in the kubectl line (default: "${DEFAULT_SECRET_NAME}")
  --key-file <path>       Write the private key to this new file (mode 0600) instead of
                          printing it; refuses to overwrite an existing file
  -h, --help              Show this help

Examples:
  umask 077; ${BIN} keygen > server.keypair
  ${BIN} keygen --key-file server.key --namespace vpn
`,
  'pubkey': `Usage: ${BIN} pubkey < private.key

Read a base64 private key on stdin and print its public key, like "wg pubkey".
Input that is not a WireGuard private key (44 characters of base64) is
rejected with exit code 1; the input is never echoed.

Options:
  -h, --help    Show this help

Example:
  ${BIN} pubkey < server.key
`,
  'client-config': `Usage: ${BIN} client-config --app "<command>" --out <dir> [--qr] [--private-key-dir <dir>]

Run the command that synthesizes your cdk8s app (with CDK8S_OUTDIR set to a
fresh temporary directory), find every WireguardGateway in its manifests (the
ConfigMap key "${CONNECTION_INFO_KEY}") and write, for each peer:

  <peer>.conf          the wg-quick file (mode 0600)
  <peer>.hosts         hosts-file lines for the routes this peer may reach
  <peer>.routes.json   the same routes as JSON: name, kind, address, port, target

With several gateways, each gets a subdirectory named after its construct path.
Each .conf has a placeholder instead of the peer's private key (the gateway
never knows it) unless --private-key-dir has the key.

Options:
  --app <command>           Shell command that synthesizes the app, e.g. the "app" line of
                            cdk8s.yaml: "npx ts-node main.ts" (required)
  --out <dir>               Directory to write to; created if missing (required)
  --qr                      Also print each configuration as a QR code for mobile clients
  --private-key-dir <dir>   Fill in private keys from <dir>/<peer>.key (same layout as --out);
                            each key must match the public key the gateway has for the peer
  -h, --help                Show this help

Example:
  ${BIN} client-config --app "npx ts-node main.ts" --out peers
`,
};

// --- Argument parsing ---------------------------------------------------------

type OptionKind = 'flag' | 'value';

interface ParsedOptions {
  readonly values: { [name: string]: string };
  readonly flags: Set<string>;
  readonly help: boolean;
}

/**
 * Parses `--name value`, `--name=value`, `--flag` and `-h`/`--help` with
 * Node's `util.parseArgs` (its tokens), and rejects anything else with the
 * CLI's own messages: unknown options, stray arguments, a value missing or
 * given to a flag, an option given twice.
 */
export function parseOptions(command: string, args: string[], spec: { [name: string]: OptionKind }): ParsedOptions {
  const options = Object.fromEntries(Object.entries(spec).map(([name, kind]) =>
    [name, { type: kind === 'flag' ? 'boolean' as const : 'string' as const }]));
  // Not strict: parseArgs only splits the words; every rule below is the CLI's.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: { [name: string]: string } = {};
  const flags = new Set<string>();
  let help = false;
  for (const token of tokens) {
    const arg = args[token.index];
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (token.kind === 'positional' || (token.kind === 'option' && !token.rawName.startsWith('--'))) {
      throw usageError(`${command}: unexpected argument ${JSON.stringify(arg)}`, command);
    }
    if (token.kind === 'option-terminator' || !Object.prototype.hasOwnProperty.call(spec, token.name)) {
      const name = token.kind === 'option' ? token.name : '';
      throw usageError(`${command}: unknown option ${JSON.stringify(`--${name}`)}`, command);
    }
    const name = token.name;
    if (values[name] !== undefined || flags.has(name)) {
      throw usageError(`${command}: option --${name} given twice`, command);
    }
    if (spec[name] === 'flag') {
      if (token.inlineValue) throw usageError(`${command}: option --${name} takes no value`, command);
      flags.add(name);
      continue;
    }
    // parseArgs takes the next word as the value even when it is the next option.
    const value = token.inlineValue === false && token.value?.startsWith('--') ? undefined : token.value;
    if (value === undefined || value === '') {
      throw usageError(`${command}: option --${name} needs a value`, command);
    }
    values[name] = value;
  }
  return { values, flags, help };
}

// --- Entry point ----------------------------------------------------------------

/** Runs one command line. Never throws: errors become stderr and a non-zero code. */
export function runCli(argv: string[], io: CliIo): CliResult {
  try {
    return dispatch(argv, io);
  } catch (e) {
    if (e instanceof CliError) {
      return { stdout: '', stderr: `${BIN}: ${e.message}\n`, code: e.code };
    }
    // An unexpected failure is a bug: show it whole.
    return { stdout: '', stderr: `${BIN}: internal error: ${(e as Error).stack ?? e}\n`, code: 1 };
  }
}

function dispatch(argv: string[], io: CliIo): CliResult {
  const [command, ...rest] = argv;
  if (command === undefined) {
    return { stdout: '', stderr: HELP[''], code: 2 };
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] ?? '' : '';
    if (HELP[topic] === undefined) throw usageError(`unknown command ${JSON.stringify(topic)}`);
    return ok(HELP[topic]);
  }
  switch (command) {
    case 'keygen': return keygen(rest, io);
    case 'pubkey': return pubkey(rest, io);
    case 'client-config': return clientConfig(rest, io);
    default:
      throw usageError(`unknown command ${JSON.stringify(command)}: use keygen, pubkey or client-config`);
  }
}

function ok(stdout: string, stderr = ''): CliResult {
  return { stdout, stderr, code: 0 };
}

// --- keygen -----------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, '\'\\\'\'')}'`;
}

function keygen(args: string[], io: CliIo): CliResult {
  const opts = parseOptions('keygen', args, { 'namespace': 'value', 'secret-name': 'value', 'key-file': 'value' });
  if (opts.help) return ok(HELP.keygen);
  const namespace = opts.values.namespace ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace)) {
    throw usageError(`keygen: invalid --namespace ${JSON.stringify(namespace)}: a namespace is a DNS label (lower-case letters, digits and "-", at most 63)`, 'keygen');
  }
  const secretName = opts.values['secret-name'] ?? DEFAULT_SECRET_NAME;
  if (!DNS_SUBDOMAIN.test(secretName)) {
    throw usageError(`keygen: invalid --secret-name ${JSON.stringify(secretName)}: a Secret name is a DNS subdomain (lower-case letters, digits, "-" and ".")`, 'keygen');
  }
  const keyFile = opts.values['key-file'];
  const { privateKey, publicKey } = generateKeyPair();

  const out: string[] = ['# WireGuard key pair from cdk8s-wireguard-gateway keygen.'];
  if (keyFile !== undefined) {
    const target = path.resolve(io.cwd, keyFile);
    try {
      // "wx": never overwrite (an existing key may be in use); 0600 from the first byte.
      fs.writeFileSync(target, privateKey + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'EEXIST' ? 'the file exists, and keygen never overwrites a key' : err.message;
      throw new CliError(`keygen: cannot write --key-file ${JSON.stringify(keyFile)}: ${why}. Fix: pick a new path`);
    }
    out.push(`# The private key is in ${keyFile} (mode 0600); it is not printed.`);
  } else {
    out.push('# The private key is SECRET: keep it out of chat, tickets, logs and git.');
    out.push(`PrivateKey = ${privateKey}`);
  }
  out.push(`PublicKey = ${publicKey}`);
  const file = keyFile ?? 'server.key';
  out.push(
    '#',
    keyFile !== undefined
      ? '# For a gateway, store it in the Secret that WireguardKey.fromSecretName reads:'
      : '# For a gateway, save the private key alone in server.key (umask 077 first, or run keygen',
    ...(keyFile !== undefined ? [] : ['# with --key-file server.key), then store it in the Secret that WireguardKey.fromSecretName reads:']),
    `#   kubectl -n ${namespace} create secret generic ${secretName} --from-file=${SECRET_KEY}=${shellQuote(file)}`,
    `#   WireguardKey.fromSecretName('${secretName}', { publicKey: '${publicKey}' })`,
    '# For a peer, pass the public key to gateway.addPeer(...) and keep the private key on the peer.',
  );
  return ok(out.join('\n') + '\n');
}

// --- pubkey -----------------------------------------------------------------------

/** The public key of a private key given as text; throws a CliError that never shows the input. */
export function publicKeyFromText(text: string): string {
  const key = text.trim();
  if (key === '') {
    throw new CliError('pubkey: stdin is empty: pipe a private key in, for example "pubkey < server.key"');
  }
  if (!isWireguardKey(key)) {
    const lineCount = key.split('\n').length;
    const shape = lineCount > 1 ? `${key.length} characters on ${lineCount} lines` : `${key.length} characters`;
    throw new CliError(`pubkey: stdin is not a WireGuard private key (got ${shape}; not shown): expected one key of 44 characters of base64 ending in "=", as printed by "wg genkey" or "${BIN} keygen"`);
  }
  return publicKeyOf(key);
}

function pubkey(args: string[], io: CliIo): CliResult {
  const opts = parseOptions('pubkey', args, {});
  if (opts.help) return ok(HELP.pubkey);
  let text: string;
  try {
    text = io.readStdin();
  } catch (e) {
    throw new CliError(`pubkey: cannot read stdin: ${(e as Error).message}`);
  }
  return ok(publicKeyFromText(text) + '\n');
}

// --- client-config: reading the manifests -----------------------------------------

export interface PeerInfo {
  readonly name: string;
  readonly address: string;
  readonly publicKey: string;
  /** The service addresses this peer may reach, derived from the routes' allow lists. */
  readonly allowedAddresses: string[];
  /** The client file's AllowedIPs: the service network, or the /32s of allowedAddresses. */
  readonly allowedIps: string[];
  readonly persistentKeepalive: number;
  readonly presharedKey: boolean;
}

/** One gateway's connection-info.json, validated. */
export interface GatewayInfo {
  readonly gateway: string;
  /** Where it was found: file and ConfigMap, for messages. */
  readonly source: string;
  readonly endpoint: string | null;
  readonly listenPort: number;
  readonly mtu: number;
  readonly publicKey: string;
  readonly routes: ConnectionEntry[];
  readonly peers: PeerInfo[];
}

/** Checks connection-info.json field by field: its values reach a config file. */
export function parseConnectionInfo(text: string, source: string): GatewayInfo {
  const fail = (field: string, value: unknown, allowed: string): never => {
    throw new CliError(`${source}: invalid ${field} ${JSON.stringify(value)} in ${CONNECTION_INFO_KEY}: ${allowed}. Fix: synthesize the app with this version of cdk8s-wireguard-gateway`);
  };
  let j: any;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${source}: ${CONNECTION_INFO_KEY} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail('document', typeof j, 'must be a JSON object');
  const str = (field: string, v: unknown) => (typeof v === 'string' && v !== '' && !/[\r\n]/.test(v) ? v : fail(field, v, 'must be a one-line string'));
  const int = (field: string, v: unknown, min: number, max: number) =>
    (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? v as number : fail(field, v, `must be an integer from ${min} to ${max}`));
  const ipv4 = (field: string, v: unknown) => (typeof v === 'string' && isIpv4(v) ? v : fail(field, v, 'must be an IPv4 address'));
  const key = (field: string, v: unknown) => (typeof v === 'string' && isWireguardKey(v) ? v : fail(field, v, 'must be a WireGuard public key'));
  const arr = (field: string, v: unknown) => (Array.isArray(v) ? v : fail(field, v, 'must be a list'));
  const cidr = (field: string, v: unknown) => (typeof v === 'string' && isIpv4(v.split('/')[0]) && /^\d{1,2}$/.test(v.split('/')[1] ?? '')
    && Number(v.split('/')[1]) <= 32 ? v : fail(field, v, 'must be an IPv4 CIDR'));

  const endpoint = j.endpoint === null ? null : str('endpoint', j.endpoint);
  if (endpoint !== null && !/^[A-Za-z0-9.:-]+$/.test(endpoint)) fail('endpoint', endpoint, 'must be a hostname or an IP address');
  const routes: ConnectionEntry[] = arr('routes', j.routes).map((r: any, i: number) => ({
    name: str(`routes[${i}].name`, r?.name),
    kind: str(`routes[${i}].kind`, r?.kind),
    address: ipv4(`routes[${i}].address`, r?.address),
    port: int(`routes[${i}].port`, r?.port, 1, 65535),
    target: str(`routes[${i}].target`, r?.target),
    ...(r?.allowPeers === undefined ? {} : {
      allowPeers: arr(`routes[${i}].allowPeers`, r.allowPeers).map((a: unknown, k: number) => ipv4(`routes[${i}].allowPeers[${k}]`, a)),
    }),
  }));
  // The same derivation the library uses for its own client files.
  const reachable = reachableAddresses(routes);
  // Files written before clientAllowedIps existed listed the routes' addresses.
  const mode = j.clientAllowedIps ?? 'route-addresses';
  if (mode !== 'service-network' && mode !== 'route-addresses') fail('clientAllowedIps', mode, 'must be "service-network" or "route-addresses"');
  const serviceNetwork = mode === 'service-network' ? cidr('serviceNetwork', j.serviceNetwork) : undefined;
  const allowedIps = (addresses: string[]) => (serviceNetwork !== undefined ? [serviceNetwork] : addresses.map((a) => `${a}/32`));
  return {
    gateway: str('gateway', j.gateway),
    source,
    endpoint,
    listenPort: int('listenPort', j.listenPort, 1, 65535),
    mtu: int('mtu', j.mtu, 1280, 9000),
    publicKey: key('publicKey', j.publicKey),
    routes,
    peers: arr('peers', j.peers).map((p: any, i: number) => ({
      name: str(`peers[${i}].name`, p?.name),
      address: ipv4(`peers[${i}].address`, p?.address),
      publicKey: key(`peers[${i}].publicKey`, p?.publicKey),
      allowedAddresses: reachable(ipv4(`peers[${i}].address`, p?.address)),
      allowedIps: allowedIps(reachable(ipv4(`peers[${i}].address`, p?.address))),
      persistentKeepalive: int(`peers[${i}].persistentKeepalive`, p?.persistentKeepalive, 0, 65535),
      presharedKey: p?.presharedKey === true,
    })),
  };
}

/** Every gateway in a set of YAML files (path -> text), in file order. */
export function findGateways(files: Array<{ file: string; text: string }>): GatewayInfo[] {
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
      found.push(parseConnectionInfo(info, `${file}: ConfigMap ${name}`));
    }
  }
  return found;
}

/** YAML files under a directory, recursively, sorted (cdk8s may write one directory per chart). */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFilesUnder(p));
    else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(p);
  }
  return out;
}

// --- client-config: planning the files --------------------------------------------

/** A file name part: what wg-quick accepts in an interface name, never a path. */
export function fileBase(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_=+.-]/g, '_').replace(/^\./, '_');
  return s === '' ? '_' : s;
}

export interface PlannedFile {
  /** Relative to --out. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface ClientPlan {
  readonly files: PlannedFile[];
  /** Human summary for stdout. */
  readonly summary: string[];
  /** Warnings for stderr. */
  readonly notes: string[];
  /** The .conf files, for --qr. */
  readonly configs: Array<{ path: string; content: string; placeholder: boolean }>;
}

/**
 * The files to write for these gateways. `privateKeyOf` returns a peer's
 * private key when the user supplied one (by the .conf's relative path).
 */
export function planClientFiles(gateways: GatewayInfo[], privateKeyOf: (confPath: string) => string | undefined = () => undefined): ClientPlan {
  const files: PlannedFile[] = [];
  const summary: string[] = [];
  const notes: string[] = [];
  const configs: ClientPlan['configs'] = [];
  const several = gateways.length > 1;
  const dirs = new Map<string, string>();
  for (const g of gateways) {
    if (g.endpoint === null) {
      throw new CliError(`${g.source}: gateway ${g.gateway} has no endpoint, and a client configuration needs the address peers connect to. Fix: set endpoint on the WireguardGateway to the load balancer's hostname or IP`);
    }
    const dir = several ? fileBase(g.gateway.replace(/\//g, '-')) : '';
    if (dirs.has(dir)) {
      throw new CliError(`gateways ${dirs.get(dir)} and ${g.gateway} would both write to ${dir}/: give one of them another construct id`);
    }
    dirs.set(dir, g.gateway);
    if (g.peers.length === 0) {
      notes.push(`gateway ${g.gateway} has no peers: nothing to write for it`);
      continue;
    }
    summary.push(`Gateway ${g.gateway} (endpoint ${g.endpoint}, port ${g.listenPort}):`);
    const bases = new Map<string, string>();
    for (const p of g.peers) {
      const base = fileBase(p.name);
      if (bases.has(base)) {
        throw new CliError(`gateway ${g.gateway}: peers ${JSON.stringify(bases.get(base))} and ${JSON.stringify(p.name)} would both be written to ${base}.conf: give one of them another name`);
      }
      bases.set(base, p.name);
      const rel = (ext: string) => (dir ? path.join(dir, base + ext) : base + ext);
      const confPath = rel('.conf');
      const privateKey = privateKeyOf(confPath);
      if (privateKey !== undefined && publicKeyOf(privateKey) !== p.publicKey) {
        throw new CliError(`the private key for ${confPath} does not belong to peer ${p.name} of ${g.gateway}: its public key is ${publicKeyOf(privateKey)}, the gateway has ${p.publicKey}. Fix: use that peer's own key, or register its public key with addPeer`);
      }
      // The library's own renderer, fed exactly as WireguardGateway.clientConfig feeds it.
      const conf = renderClientConfig({
        gatewayPath: g.gateway,
        peerName: p.name,
        peerAddress: p.address,
        peerPrivateKey: privateKey,
        hasPresharedKey: p.presharedKey,
        serverPublicKey: g.publicKey,
        endpoint: g.endpoint,
        listenPort: g.listenPort,
        mtu: g.mtu,
        allowedIps: p.allowedIps,
        persistentKeepaliveSeconds: p.persistentKeepalive,
      });
      const reachable = g.routes.filter((r) => p.allowedAddresses.includes(r.address));
      files.push(
        { path: confPath, content: conf, mode: 0o600 },
        { path: rel('.hosts'), content: renderHostsFile(reachable.map((r) => ({ name: r.name, address: r.address, listenPort: r.port }))), mode: 0o644 },
        {
          path: rel('.routes.json'),
          content: JSON.stringify({ gateway: g.gateway, peer: p.name, address: p.address, routes: reachable }, null, 2) + '\n',
          mode: 0o644,
        },
      );
      configs.push({ path: confPath, content: conf, placeholder: privateKey === undefined });
      const routesText = reachable.map((r) => `${r.name} ${r.address}:${r.port}`).join(', ') || 'no routes';
      summary.push(`  ${confPath}  peer ${p.name} (${p.address}): ${routesText}`);
      if (base.length > 15) {
        notes.push(`${confPath}: wg-quick names the interface after the file, and "${base}" is longer than 15 characters; rename the file (e.g. wg-${base.slice(0, 12)}.conf) before "wg-quick up"`);
      }
      if (p.presharedKey) {
        notes.push(`${confPath}: peer ${p.name} has a preshared key on the gateway; replace the PresharedKey placeholder with it, or the handshake fails`);
      }
    }
  }
  return { files, summary, notes, configs };
}

// --- client-config: the command ---------------------------------------------------

function clientConfig(args: string[], io: CliIo): CliResult {
  const opts = parseOptions('client-config', args, { 'app': 'value', 'out': 'value', 'qr': 'flag', 'private-key-dir': 'value' });
  if (opts.help) return ok(HELP['client-config']);
  const app = opts.values.app;
  if (app === undefined) {
    throw usageError('client-config: missing --app: give the command that synthesizes your cdk8s app, e.g. --app "npx ts-node main.ts" (the "app" line of cdk8s.yaml)', 'client-config');
  }
  if (opts.values.out === undefined) {
    throw usageError('client-config: missing --out: give the directory to write the peers\' files to, e.g. --out peers', 'client-config');
  }
  const outDir = path.resolve(io.cwd, opts.values.out);
  prepareOutDir(opts.values.out, outDir);
  const keyDir = opts.values['private-key-dir'] === undefined ? undefined : path.resolve(io.cwd, opts.values['private-key-dir']);
  if (keyDir !== undefined && !isDirectory(keyDir)) {
    throw new CliError(`client-config: --private-key-dir ${JSON.stringify(opts.values['private-key-dir'])} is not a directory`);
  }

  const { gateways, appStderr } = synthesize(app, io);
  const plan = planClientFiles(gateways, (confPath) => (keyDir === undefined ? undefined : readPrivateKey(keyDir, confPath)));

  for (const f of plan.files) writeFile(path.join(outDir, f.path), f.content, f.mode);

  const notes = [...plan.notes];
  if (keyDir !== undefined) {
    for (const c of plan.configs.filter((x) => x.placeholder)) {
      notes.push(`${c.path}: no ${c.path.replace(/\.conf$/, '.key')} in --private-key-dir, so it keeps the placeholder`);
    }
  }
  const stdout: string[] = [...plan.summary];
  const placeholders = plan.configs.filter((c) => c.placeholder).length;
  stdout.push(
    `Wrote ${plan.configs.length} wg-quick file(s) (mode 0600) to ${opts.values.out}, each with <peer>.hosts and <peer>.routes.json next to it.`,
  );
  if (placeholders > 0) {
    stdout.push('Replace the PrivateKey placeholder in each .conf with the peer\'s own private key, then: sudo wg-quick up ./<peer>.conf');
  }
  if (opts.flags.has('qr')) {
    for (const c of plan.configs) {
      let code = '';
      qrcode.generate(c.content, { small: true }, (q) => { code = q; });
      stdout.push('', `# QR code of ${c.path}`, code);
      if (c.placeholder) {
        notes.push(`${c.path}: the QR code carries the private key placeholder, which mobile apps reject; use --private-key-dir to fill in the key`);
      }
    }
  }
  const stderr = appStderr + notes.map((n) => `${BIN}: note: ${n}\n`).join('');
  return ok(stdout.join('\n') + '\n', stderr);
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function prepareOutDir(given: string, dir: string): void {
  try {
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
      throw new Error('it exists and is not a directory');
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code ? `${err.code}, ${err.message.replace(/^[A-Z]+: /, '')}` : err.message;
    throw new CliError(`client-config: --out ${JSON.stringify(given)} is not a writable directory (${why}). Fix: pick a directory you can write to`);
  }
}

/** Runs the app command with CDK8S_OUTDIR set to a fresh directory and reads the gateways it wrote. */
function synthesize(app: string, io: CliIo): { gateways: GatewayInfo[]; appStderr: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${BIN}-synth-`));
  try {
    const r = spawnSync(app, {
      shell: true,
      cwd: io.cwd,
      env: { ...io.env, CDK8S_OUTDIR: tmp },
      encoding: 'utf-8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
    if (r.error) {
      throw new CliError(`client-config: cannot run --app ${JSON.stringify(app)}: ${r.error.message}`);
    }
    if (r.status !== 0) {
      const how = r.signal ? `was killed by ${r.signal}` : `failed with exit code ${r.status}`;
      const tail = (r.stderr ?? '').trim().split('\n').slice(-20).join('\n');
      throw new CliError(`client-config: the --app command ${how}: ${app}${tail ? `\n--- its stderr (last lines) ---\n${tail}` : ''}`);
    }
    const files = yamlFilesUnder(tmp);
    if (files.length === 0) {
      throw new CliError(`client-config: the --app command wrote no YAML to CDK8S_OUTDIR: ${app}. Fix: make sure it calls app.synth(), and that the App has no outdir of its own (an App with { outdir } ignores CDK8S_OUTDIR)`);
    }
    const gateways = findGateways(files.map((f) => ({ file: path.relative(tmp, f), text: fs.readFileSync(f, 'utf-8') })));
    if (gateways.length === 0) {
      throw new CliError(`client-config: no WireguardGateway found in the app's manifests (no ConfigMap with the key "${CONNECTION_INFO_KEY}" in ${files.length} YAML file(s)). Fix: check that --app synthesizes the app that defines the gateway`);
    }
    return { gateways, appStderr: r.stderr ?? '' };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function readPrivateKey(keyDir: string, confPath: string): string | undefined {
  const file = path.join(keyDir, confPath.replace(/\.conf$/, '.key'));
  if (!fs.existsSync(file)) return undefined;
  const key = fs.readFileSync(file, 'utf-8').trim();
  if (!isWireguardKey(key)) {
    throw new CliError(`client-config: ${file} is not a WireGuard private key (${key.length} characters; not shown): expected 44 characters of base64, as printed by "wg genkey"`);
  }
  return key;
}

/** Replaces a file so that it has `mode` from its first byte, even when it existed with another mode. */
function writeFile(file: string, content: string, mode: number): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, content, { mode, flag: 'wx' });
  } catch (e) {
    throw new CliError(`client-config: cannot write ${file}: ${(e as Error).message}`);
  }
}
