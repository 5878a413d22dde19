/**
 * client-config's planning, as pure functions: from the gateways (and the
 * private keys the user supplied) to the files to write, with their contents
 * and modes, and to what the command prints. No file system, no process.
 */
import * as path from 'path';
import * as qrcode from 'qrcode-terminal';
import { publicKeyOf } from '../_keys';
import { parseRfc3339 } from '../_peer-access';
import { renderClientConfig, renderHostsFile } from '../_render-client';
import { CliError } from './command';
import { GatewayInfo, PeerInfo } from './gateways';

/** A file name part: what wg-quick accepts in an interface name, never a path. */
export function fileBase(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_=+.-]/g, '_').replace(/^\./, '_');
  return s === '' ? '_' : s;
}

/** Where one peer's files go. */
export interface PeerLayout {
  readonly peer: PeerInfo;
  /** The file name without extension. */
  readonly base: string;
  /** The .conf's path relative to --out; the .hosts, .routes.json (and the --private-key-dir .key) sit next to it. */
  readonly confPath: string;
}

/** Where one gateway's peers' files go: --out itself, or a subdirectory with several gateways. */
export interface GatewayLayout {
  readonly gateway: GatewayInfo;
  readonly endpoint: string;
  readonly peers: PeerLayout[];
}

/**
 * Where every peer's files go. Throws when a gateway has no endpoint, or when
 * two gateways or two peers would write to the same place.
 */
export function layoutClientFiles(gateways: GatewayInfo[]): GatewayLayout[] {
  const several = gateways.length > 1;
  const dirs = new Map<string, string>();
  return gateways.map((g) => {
    if (g.endpoint === null) {
      throw new CliError(`${g.source}: gateway ${g.gateway} has no endpoint, and a client configuration needs the address peers connect to. Fix: set endpoint on the WireguardGateway to the load balancer's hostname or IP`);
    }
    const dir = several ? fileBase(g.gateway.replace(/\//g, '-')) : '';
    if (dirs.has(dir)) {
      throw new CliError(`gateways ${dirs.get(dir)} and ${g.gateway} would both write to ${dir}/: give one of them another construct id`);
    }
    dirs.set(dir, g.gateway);
    const bases = new Map<string, string>();
    const peers = g.peers.map((p) => {
      const base = fileBase(p.name);
      if (bases.has(base)) {
        throw new CliError(`gateway ${g.gateway}: peers ${JSON.stringify(bases.get(base))} and ${JSON.stringify(p.name)} would both be written to ${base}.conf: give one of them another name`);
      }
      bases.set(base, p.name);
      return { peer: p, base, confPath: dir ? path.join(dir, `${base}.conf`) : `${base}.conf` };
    });
    return { gateway: g, endpoint: g.endpoint, peers };
  });
}

/** The key file for a .conf in --private-key-dir: the same path, `.key` instead of `.conf`. */
export function keyPathOf(confPath: string): string {
  return confPath.replace(/\.conf$/, '.key');
}

export interface PlannedFile {
  /** Relative to --out. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface PlannedConfig {
  /** Relative to --out. */
  readonly path: string;
  readonly content: string;
  /** It has the private key placeholder (no key was supplied). */
  readonly placeholder: boolean;
}

export interface ClientPlan {
  readonly files: PlannedFile[];
  /** Human summary for stdout. */
  readonly summary: string[];
  /** Warnings for stderr. */
  readonly notes: string[];
  /** The .conf files, for --qr. */
  readonly configs: PlannedConfig[];
}

/**
 * The files to write for these gateways. `privateKeys` holds the peers'
 * private keys the user supplied, by the .conf's relative path; each must
 * belong to its peer.
 */
export function planClientFiles(gateways: GatewayInfo[], privateKeys: ReadonlyMap<string, string> = new Map()): ClientPlan {
  const plan: ClientPlan = { files: [], summary: [], notes: [], configs: [] };
  for (const { gateway: g, endpoint, peers } of layoutClientFiles(gateways)) {
    if (peers.length === 0) {
      plan.notes.push(`gateway ${g.gateway} has no peers: nothing to write for it`);
      continue;
    }
    plan.summary.push(`Gateway ${g.gateway} (endpoint ${endpoint}, port ${g.listenPort}):`);
    for (const { peer: p, base, confPath } of peers) {
      const privateKey = privateKeys.get(confPath);
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
        endpoint,
        listenPort: g.listenPort,
        mtu: g.mtu,
        allowedIps: p.allowedIps,
        persistentKeepaliveSeconds: p.persistentKeepalive,
        enabled: p.enabled,
        expiresAt: p.expires === null ? undefined : parseRfc3339(p.expires),
      });
      // A peer's files say nothing about other peers: no route's allow list, no group.
      const reachable = g.routes.filter((r) => p.allowedAddresses.includes(r.address))
        .map((r) => ({ name: r.name, kind: r.kind, address: r.address, port: r.port, target: r.target }));
      const sibling = (ext: string) => confPath.replace(/\.conf$/, ext);
      plan.files.push(
        { path: confPath, content: conf, mode: 0o600 },
        { path: sibling('.hosts'), content: renderHostsFile(reachable.map((r) => ({ name: r.name, address: r.address, listenPort: r.port }))), mode: 0o644 },
        {
          path: sibling('.routes.json'),
          content: JSON.stringify({ gateway: g.gateway, peer: p.name, address: p.address, routes: reachable }, null, 2) + '\n',
          mode: 0o644,
        },
      );
      plan.configs.push({ path: confPath, content: conf, placeholder: privateKey === undefined });
      const routesText = reachable.map((r) => `${r.name} ${r.address}:${r.port}`).join(', ') || 'no routes';
      plan.summary.push(`  ${confPath}  peer ${p.name} (${p.address}): ${routesText}`);
      if (base.length > 15) {
        plan.notes.push(`${confPath}: wg-quick names the interface after the file, and "${base}" is longer than 15 characters; rename the file (e.g. wg-${base.slice(0, 12)}.conf) before "wg-quick up"`);
      }
      if (p.presharedKey) {
        plan.notes.push(`${confPath}: peer ${p.name} has a preshared key on the gateway; replace the PresharedKey placeholder with it, or the handshake fails`);
      }
    }
  }
  return plan;
}

/** Where --qr would print: whether it was asked, standard output is a terminal, --qr-to-non-terminal. */
export interface QrOptions {
  readonly qr: boolean;
  readonly stdoutIsTerminal: boolean;
  readonly toNonTerminal: boolean;
}

/**
 * Why --qr must not print here, or undefined: a QR code of a file with a real
 * private key is the key itself, and standard output that is no terminal (a
 * pipe, a file, a CI log) keeps it. Allowed there only with --qr-to-non-terminal.
 */
export function qrRefusal(plan: ClientPlan, options: QrOptions): string | undefined {
  const withKeys = plan.configs.filter((c) => !c.placeholder).length;
  if (!options.qr || withKeys === 0 || options.stdoutIsTerminal || options.toNonTerminal) return undefined;
  return `client-config: --qr would print ${withKeys} private key(s) as QR codes on standard output, which is not a terminal (a pipe, a file or a CI log keeps what it gets). `
    + 'Fix: run it in a terminal, or leave out --qr (the .conf files have the keys), or add --qr-to-non-terminal if that output is safe';
}

export interface ClientReportOptions {
  /** --out as the user gave it. */
  readonly out: string;
  /** --qr was given. */
  readonly qr: boolean;
  /** --private-key-dir was given. */
  readonly privateKeyDir: boolean;
}

/** What client-config prints once the files are written: stdout, and the notes for stderr. */
export function clientReport(plan: ClientPlan, options: ClientReportOptions): { stdout: string; notes: string[] } {
  const notes = [...plan.notes];
  if (options.privateKeyDir) {
    for (const c of plan.configs.filter((x) => x.placeholder)) {
      notes.push(`${c.path}: no ${keyPathOf(c.path)} in --private-key-dir, so it keeps the placeholder`);
    }
  }
  const stdout: string[] = [...plan.summary];
  stdout.push(
    `Wrote ${plan.configs.length} wg-quick file(s) (mode 0600) to ${options.out}, each with <peer>.hosts and <peer>.routes.json next to it.`,
  );
  if (plan.configs.some((c) => c.placeholder)) {
    stdout.push('Replace the PrivateKey placeholder in each .conf with the peer\'s own private key, then: sudo wg-quick up ./<peer>.conf');
  }
  if (options.qr) {
    for (const c of plan.configs) {
      stdout.push('', `# QR code of ${c.path}`, qrCode(c.content));
      if (c.placeholder) {
        notes.push(`${c.path}: the QR code carries the private key placeholder, which mobile apps reject; use --private-key-dir to fill in the key`);
      }
    }
  }
  return { stdout: stdout.join('\n') + '\n', notes };
}

/** The text as a terminal QR code (qrcode-terminal calls back at once). */
function qrCode(text: string): string {
  let code = '';
  qrcode.generate(text, { small: true }, (q) => { code = q; });
  return code;
}
