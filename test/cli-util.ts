/**
 * Shared by the CLI's tests (cli.test.ts, cli.system.test.ts, cli-plan.test.ts,
 * connection-info.test.ts): how to run the command, the apps it runs, and a
 * connection-info.json document.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CliIo } from '../src/_cli/command';
import { runCli } from '../src/_cli/dispatch';

export const ROOT = join(__dirname, '..');
export const EXAMPLE_DIR = join(ROOT, 'examples', 'postgres-redis-rds');
/** The example's app command, run from EXAMPLE_DIR. */
export const EXAMPLE_APP = 'npx ts-node --transpile-only -P ../../test/tsconfig.json main.ts';
/** test/fixtures/cli/app.ts, run from ROOT; CLI_FIXTURE picks what it synthesizes. */
export const FIXTURE_APP = 'node -r ts-node/register test/fixtures/cli/app.ts';
/** The example gateway's public key. */
export const SERVER_PUBLIC_KEY = 'P6zkSB4NVE8G53kjqtOXzWGbjxS+d9stgtw+qEbwqm0=';
/** The public keys of the example's DEV_PEER_PRIVATE_KEYS laptop and ci-runner (wg pubkey). */
export const LAPTOP_PUBLIC_KEY = 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=';
export const CI_RUNNER_PUBLIC_KEY = 'EB5xHzgfEurr+uMtmFI7B9kCSpjGcTn1oIej2pdCdx0=';

/** Inputs that are no WireGuard private key; the real wg pubkey rejects each too (cli.system.test.ts). */
export const NOT_KEYS: Array<[string, string]> = [
  ['a non-canonical last character', 'A'.repeat(42) + 'B='],
  ['a 43-character key', 'A'.repeat(43)],
  ['a 48-byte key', Buffer.alloc(48).toString('base64')],
  ['text', 'this is not a key at all, it is a sentence!'],
];

export interface Run { stdout: string; stderr: string; code: number | null }

/** The environment of the command and of the app commands it runs (TypeScript through ts-node). */
function env(extra: { [k: string]: string } = {}): { [k: string]: string | undefined } {
  return { ...process.env, TS_NODE_PROJECT: join(ROOT, 'test', 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true', CDK8S_CHECK_UPGRADE: 'false', ...extra };
}

/** The CLI as a real process: `node` running src/cli.ts (the file that compiles to the bin lib/cli.js) through ts-node. */
export function cli(args: string[], options: { input?: string; cwd?: string; env?: { [k: string]: string } } = {}): Run {
  const r = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register'), join(ROOT, 'src', 'cli.ts'), ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    encoding: 'utf-8',
    env: env(options.env),
  });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

/** The CLI in-process (runCli), with the same environment; standard output a terminal when `terminal`. */
export function inProcess(args: string[], options: { stdin?: string; cwd?: string; terminal?: boolean } = {}): Run {
  const io: CliIo = { readStdin: () => options.stdin ?? '', env: env(), cwd: options.cwd ?? ROOT, stdoutIsTerminal: options.terminal };
  return runCli(args, io);
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wggw-cli-test-'));
}

/** The key lines of keygen's output. */
export function keygenKeys(stdout: string): { privateKey?: string; publicKey: string } {
  const privateKey = /^PrivateKey = (\S+)$/m.exec(stdout)?.[1];
  const publicKey = /^PublicKey = (\S+)$/m.exec(stdout)?.[1];
  if (publicKey === undefined) throw new Error(`no PublicKey line in:\n${stdout}`);
  return { privateKey, publicKey };
}

/**
 * A version 1 connection-info.json document, as a gateway writes it: two
 * routes (admin only for 10.98.0.3), two peers (ci-runner has a preshared key).
 */
export function connectionInfoDoc(gateway = 'c/gw'): any {
  return {
    version: 1,
    gateway,
    endpoint: 'vpn.example.com',
    listenPort: 51820,
    mtu: 1420,
    publicKey: SERVER_PUBLIC_KEY,
    serviceNetwork: '10.99.0.0/24',
    clientAllowedIps: 'service-network',
    routes: [
      { name: 'db', kind: 'ProxiedService', address: '10.99.0.1', port: 5432, target: 'db.ns.svc.cluster.local:5432' },
      { name: 'admin', kind: 'ProxiedService', address: '10.99.0.2', port: 5432, target: 'admin.ns.svc.cluster.local:5432', allowPeers: ['10.98.0.3'] },
    ],
    peers: [
      { name: 'laptop', address: '10.98.0.2', publicKey: LAPTOP_PUBLIC_KEY, persistentKeepalive: 25, presharedKey: false, expires: null, enabled: true, groups: [] },
      { name: 'ci-runner', address: '10.98.0.3', publicKey: CI_RUNNER_PUBLIC_KEY, persistentKeepalive: 0, presharedKey: true, expires: null, enabled: true, groups: [] },
    ],
  };
}
