/**
 * The cdk8s-wireguard-gateway command, unit tier: nothing here runs wg,
 * wg-quick or any other system program but node and sh (the checks with the
 * real wg and wg-quick are in cli.system.test.ts). Most tests run it as a real
 * process (node + ts-node on src/cli.ts, the file that compiles to the bin
 * lib/cli.js); the parsing tests call runCli in-process.
 */
import { execFileSync, spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { App } from 'cdk8s';
import * as qrcode from 'qrcode-terminal';
import { EXAMPLE_APP, EXAMPLE_DIR, FIXTURE_APP, LAPTOP_PUBLIC_KEY, ROOT, Run, SERVER_PUBLIC_KEY, cli, inProcess, keygenKeys, NOT_KEYS, tempDir } from './cli-util';
import { DEV_PEER_PRIVATE_KEYS } from '../examples/postgres-redis-rds/dev-keys';
import { GatewayChart } from '../examples/postgres-redis-rds/main';
import { parseOptions } from '../src/_cli/args';
import { shellQuote } from '../src/_cli/cmds/keygen';
import { CliCommand, CliIo, ok } from '../src/_cli/command';
import { COMMANDS, runCli } from '../src/_cli/dispatch';
import { CONNECTION_INFO_KEY } from '../src/_cli/gateways';
import { generateKeyPair, publicKeyOf } from '../src/_keys';
import { WireguardGateway } from '../src/wireguard-gateway';
// Synthesized charts get the schema, posture and nginx -t checks (test/posture.ts).
import './posture';

const mode = (file: string) => statSync(file).mode & 0o777;

// --- help ---------------------------------------------------------------------------

describe('--help', () => {
  test('top level: lists the commands, exit 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-wireguard-gateway <command> \[options\]/);
    for (const c of ['keygen', 'pubkey', 'client-config', 'access-report']) expect(r.stdout).toContain(`  ${c} `);
    expect(r.stderr).toBe('');
  });

  test('keygen --help says the private key goes to stdout and suggests umask 077', () => {
    const r = cli(['keygen', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-wireguard-gateway keygen /);
    expect(r.stdout).toContain('The private key is printed on stdout');
    expect(r.stdout).toContain('umask 077');
    expect(r.stdout).toContain('--namespace <ns>');
    expect(r.stdout).toContain('(default: "wireguard")');
    expect(r.stdout).toContain('(default: "wireguard-gateway-key")');
    expect(r.stdout).toContain('Secret key "private-key"');
  });

  test('pubkey --help', () => {
    const r = cli(['pubkey', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-wireguard-gateway pubkey < private.key/);
    expect(r.stdout).toContain('like "wg pubkey"');
  });

  test('client-config --help describes the files it writes and the options', () => {
    const r = cli(['client-config', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-wireguard-gateway client-config --app "<command>" --out <dir>/);
    for (const s of ['<peer>.conf', '(mode 0600)', '<peer>.hosts', '<peer>.routes.json', '--qr', '--private-key-dir', 'CDK8S_OUTDIR']) {
      expect(r.stdout).toContain(s);
    }
  });

  test('-h, "help <command>" and --help after other options work too', () => {
    expect(inProcess(['-h']).stdout).toBe(inProcess(['--help']).stdout);
    expect(inProcess(['help', 'pubkey']).stdout).toBe(inProcess(['pubkey', '--help']).stdout);
    expect(inProcess(['keygen', '--namespace', 'x', '-h'])).toEqual({ stdout: inProcess(['keygen', '--help']).stdout, stderr: '', code: 0 });
  });

  test('no command prints the help on stderr, exit 2', () => {
    const r = cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: cdk8s-wireguard-gateway <command>');
  });
});

// --- usage errors ------------------------------------------------------------------------

describe('usage errors (exit 2)', () => {
  test('fails if the command is unknown', () => {
    const r = cli(['genkey']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: unknown command "genkey": use keygen, pubkey, client-config or access-report. Run "cdk8s-wireguard-gateway --help" for usage.\n');
  });

  test('fails if help is asked for an unknown command', () => {
    expect(inProcess(['help', 'nope'])).toEqual({ stdout: '', code: 2, stderr: 'cdk8s-wireguard-gateway: unknown command "nope". Run "cdk8s-wireguard-gateway --help" for usage.\n' });
  });

  test('fails if an option is unknown', () => {
    expect(inProcess(['keygen', '--force']).stderr).toBe('cdk8s-wireguard-gateway: keygen: unknown option "--force". Run "cdk8s-wireguard-gateway keygen --help" for usage.\n');
    expect(inProcess(['pubkey', '--out=x']).code).toBe(2);
  });

  test('fails if an option has no value', () => {
    const r = inProcess(['client-config', '--app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: client-config: option --app needs a value. Run "cdk8s-wireguard-gateway client-config --help" for usage.\n');
    expect(inProcess(['client-config', '--app', '--out', 'x']).stderr).toContain('option --app needs a value');
    expect(inProcess(['client-config', '--app=']).stderr).toContain('option --app needs a value');
  });

  test('fails if an option is given twice', () => {
    expect(inProcess(['keygen', '--namespace', 'a', '--namespace=b']).stderr).toContain('keygen: option --namespace given twice');
  });

  test('fails if a flag gets a value', () => {
    expect(inProcess(['client-config', '--qr=yes']).stderr).toContain('client-config: option --qr takes no value');
  });

  test('fails if an option is the name of a JavaScript object member', () => {
    expect(inProcess(['keygen', '--constructor', 'x']).stderr).toContain('keygen: unknown option "--constructor"');
  });

  test('fails on a stray argument', () => {
    const r = inProcess(['pubkey', 'server.key']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pubkey: unexpected argument "server.key"');
  });

  test('parseOptions reads --name value, --name=value and flags', () => {
    const o = parseOptions('x', ['--a', 'one', '--b=two=2', '--f'], { a: 'value', b: 'value', f: 'flag' });
    expect(o.values).toEqual({ a: 'one', b: 'two=2' });
    expect([...o.flags]).toEqual(['f']);
    expect(o.help).toBe(false);
  });
});

// --- keygen ------------------------------------------------------------------------------

describe('keygen', () => {
  test('prints a key pair (the public key of the private one) and the kubectl line', () => {
    // WHEN
    const r = cli(['keygen']);
    // THEN
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const { privateKey, publicKey } = keygenKeys(r.stdout);
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // cli.system.test.ts: the real wg pubkey agrees.
    expect(publicKeyOf(privateKey!)).toBe(publicKey);
    // clamped like wg genkey
    const bytes = Buffer.from(privateKey!, 'base64');
    expect(bytes[0] & 7).toBe(0);
    expect(bytes[31] & 0xc0).toBe(0x40);
    expect(r.stdout).toContain('#   kubectl -n wireguard create secret generic wireguard-gateway-key --from-file=private-key=server.key\n');
    expect(r.stdout).toContain(`WireguardKey.fromSecretName('wireguard-gateway-key', { publicKey: '${publicKey}' })`);
    expect(r.stdout).toContain('SECRET');
    expect(r.stdout).toContain('umask 077');
  });

  test('every line but the two keys is a comment', () => {
    const lines = inProcess(['keygen']).stdout.trimEnd().split('\n');
    expect(lines.filter((l) => !l.startsWith('#')).map((l) => l.split(' = ')[0])).toEqual(['PrivateKey', 'PublicKey']);
  });

  test('two runs give different keys', () => {
    expect(keygenKeys(inProcess(['keygen']).stdout).privateKey).not.toBe(keygenKeys(inProcess(['keygen']).stdout).privateKey);
  });

  test('--namespace and --secret-name go into the kubectl line', () => {
    const r = inProcess(['keygen', '--namespace', 'vpn', '--secret-name=gw.key']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('#   kubectl -n vpn create secret generic gw.key --from-file=private-key=server.key\n');
    expect(r.stdout).toContain('fromSecretName(\'gw.key\', {');
  });

  test('--key-file writes the private key (mode 0600) and does not print it', () => {
    // GIVEN
    const dir = tempDir();
    try {
      // WHEN
      const r = cli(['keygen', '--key-file', 'my server.key'], { cwd: dir });
      // THEN
      expect(r.code).toBe(0);
      const file = join(dir, 'my server.key');
      expect(mode(file)).toBe(0o600);
      const privateKey = readFileSync(file, 'utf-8');
      expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      const { privateKey: printed, publicKey } = keygenKeys(r.stdout);
      expect(printed).toBeUndefined();
      expect(r.stdout).not.toContain(privateKey.trim());
      // cli.system.test.ts: the real wg pubkey agrees.
      expect(publicKeyOf(privateKey.trim())).toBe(publicKey);
      expect(r.stdout).toContain('--from-file=private-key=\'my server.key\'\n');
      expect(r.stdout).toContain('# The private key is in my server.key (mode 0600); it is not printed.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if --key-file exists (never overwrites a key)', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'server.key'), 'old\n');
      const r = runCli(['keygen', '--key-file', 'server.key'], { readStdin: () => '', env: {}, cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('cdk8s-wireguard-gateway: keygen: cannot write --key-file "server.key": the file exists, and keygen never overwrites a key. Fix: pick a new path\n');
      expect(readFileSync(join(dir, 'server.key'), 'utf-8')).toBe('old\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if --namespace is not a namespace name', () => {
    const r = inProcess(['keygen', '--namespace', 'My NS']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: keygen: invalid --namespace "My NS": a namespace is a DNS label (lower-case letters, digits and "-", at most 63). Run "cdk8s-wireguard-gateway keygen --help" for usage.\n');
  });

  test('fails if --secret-name is not a Secret name', () => {
    const r = inProcess(['keygen', '--secret-name', 'key;rm -rf /']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: keygen: invalid --secret-name "key;rm -rf /": a Secret name is a DNS subdomain (lower-case letters, digits, "-" and "."). Run "cdk8s-wireguard-gateway keygen --help" for usage.\n');
  });

  test('shellQuote leaves plain words and quotes the rest', () => {
    expect(shellQuote('server.key')).toBe('server.key');
    expect(shellQuote('/tmp/a b')).toBe('\'/tmp/a b\'');
    expect(shellQuote('it\'s')).toBe('\'it\'\\\'\'s\'');
  });
});

// --- pubkey ------------------------------------------------------------------------------

describe('pubkey', () => {
  test('as a process, prints the public key (the one wg pubkey prints for this key)', () => {
    const r = cli(['pubkey'], { input: DEV_PEER_PRIVATE_KEYS.laptop + '\n' });
    expect(r).toEqual({ stdout: LAPTOP_PUBLIC_KEY + '\n', stderr: '', code: 0 });
  });

  test('accepts surrounding whitespace (a key file with a newline)', () => {
    const privateKey = generateKeyPair().privateKey;
    expect(inProcess(['pubkey'], { stdin: `${privateKey}\r\n\n` }).stdout).toBe(publicKeyOf(privateKey) + '\n');
  });

  test('fails if stdin is not a key, exit 1, without echoing the input', () => {
    const r = cli(['pubkey'], { input: 'hunter2-not-a-key\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: pubkey: stdin is not a WireGuard private key (got 17 characters; not shown): expected one key of 44 characters of base64 ending in "=", as printed by "wg genkey" or "cdk8s-wireguard-gateway keygen"\n');
    expect(r.stderr).not.toContain('hunter2');
  });

  test('fails if stdin is empty', () => {
    const r = inProcess(['pubkey'], { stdin: '\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: pubkey: stdin is empty: pipe a private key in, for example "pubkey < server.key"\n');
  });

  test('fails if stdin has two keys (e.g. the whole keygen output)', () => {
    const r = inProcess(['pubkey'], { stdin: `${generateKeyPair().privateKey}\n${generateKeyPair().privateKey}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(got 89 characters on 2 lines; not shown)');
  });

  test.each(NOT_KEYS)('rejects %s (as the real wg pubkey does: cli.system.test.ts)', (_name, input) => {
    expect(inProcess(['pubkey'], { stdin: input + '\n' }).code).toBe(1);
  });

  test('fails if stdin cannot be read', () => {
    const r = runCli(['pubkey'], { readStdin: () => { throw new Error('EAGAIN: resource temporarily unavailable, read'); }, env: {}, cwd: ROOT });
    expect(r).toEqual({ stdout: '', code: 1, stderr: 'cdk8s-wireguard-gateway: pubkey: cannot read stdin: EAGAIN: resource temporarily unavailable, read\n' });
  });
});

// --- client-config ------------------------------------------------------------------------

describe('client-config with the example app', () => {
  let out: string;
  let run: Run;
  let chart: GatewayChart;

  beforeAll(() => {
    out = join(tempDir(), 'peers');
    // GIVEN a stale laptop.conf that anyone may read
    mkdirSync(out);
    writeFileSync(join(out, 'laptop.conf'), 'stale\n', { mode: 0o644 });
    // WHEN
    run = cli(['client-config', '--app', EXAMPLE_APP, '--out', out], { cwd: EXAMPLE_DIR });
    chart = new GatewayChart(new App(), 'gateway');
  });

  afterAll(() => rmSync(join(out, '..'), { recursive: true, force: true }));

  test('succeeds and says what it wrote', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      'Gateway gateway/gateway (endpoint vpn.example.com, port 51820):',
      '  laptop.conf  peer laptop (10.98.0.2): postgres 10.99.0.1:5432, redis 10.99.0.2:6379, orders-db 10.99.0.3:5432',
      '  ci-runner.conf  peer ci-runner (10.98.0.3): postgres 10.99.0.1:5432, redis 10.99.0.2:6379',
      `Wrote 2 wg-quick file(s) (mode 0600) to ${out}, each with <peer>.hosts and <peer>.routes.json next to it.`,
      'Replace the PrivateKey placeholder in each .conf with the peer\'s own private key, then: sudo wg-quick up ./<peer>.conf',
      '',
    ].join('\n'));
  });

  test('writes one .conf per peer, mode 0600 (a stale 0644 file is replaced)', () => {
    expect(execFileSync('ls', [out], { encoding: 'utf-8' }).split('\n').filter(Boolean)).toEqual([
      'ci-runner.conf', 'ci-runner.hosts', 'ci-runner.routes.json',
      'laptop.conf', 'laptop.hosts', 'laptop.routes.json',
    ]);
    expect(mode(join(out, 'laptop.conf'))).toBe(0o600);
    expect(mode(join(out, 'ci-runner.conf'))).toBe(0o600);
  });

  test('each .conf is exactly what gateway.clientConfig(peer) renders', () => {
    for (const peer of chart.gateway.peers) {
      expect(readFileSync(join(out, `${peer.node.id}.conf`), 'utf-8')).toBe(chart.gateway.clientConfig(peer));
    }
  });

  test('the laptop file has the server key, endpoint and the service network; the hosts files name the routes each peer may use', () => {
    const conf = readFileSync(join(out, 'laptop.conf'), 'utf-8');
    expect(conf).toContain('PrivateKey = <private key of peer laptop: ');
    expect(conf).toContain('Address = 10.98.0.2/32\n');
    expect(conf).toContain(`PublicKey = ${SERVER_PUBLIC_KEY}\n`);
    expect(conf).toContain('Endpoint = vpn.example.com:51820\n');
    expect(conf).toContain('AllowedIPs = 10.99.0.0/24\n');
    expect(conf).toContain('PersistentKeepalive = 25\n');
    // The same for ci-runner: the gateway enforces orders-db's allowPeers, not the client file.
    expect(readFileSync(join(out, 'ci-runner.conf'), 'utf-8')).toContain('AllowedIPs = 10.99.0.0/24\n');
  });

  test('writes the name -> address map as hosts lines and JSON, only for reachable routes', () => {
    expect(readFileSync(join(out, 'laptop.hosts'), 'utf-8')).toBe('10.99.0.1 postgres\n10.99.0.2 redis\n10.99.0.3 orders-db\n');
    expect(readFileSync(join(out, 'ci-runner.hosts'), 'utf-8')).toBe('10.99.0.1 postgres\n10.99.0.2 redis\n');
    expect(JSON.parse(readFileSync(join(out, 'ci-runner.routes.json'), 'utf-8'))).toEqual({
      gateway: 'gateway/gateway',
      peer: 'ci-runner',
      address: '10.98.0.3',
      routes: [
        { name: 'postgres', kind: 'ProxiedService', address: '10.99.0.1', port: 5432, target: 'postgres.databases.svc.cluster.local:5432' },
        { name: 'redis', kind: 'ProxiedService', address: '10.99.0.2', port: 6379, target: 'redis.cache.svc.cluster.local:6379' },
      ],
    });
  });
});

/** A --private-key-dir under `dir` with the fixture's alpha laptop's key (mode 0600), not the phone's. */
function laptopKeyDir(dir: string): string {
  const keys = join(dir, 'keys');
  mkdirSync(join(keys, 'alpha-gw'), { recursive: true });
  writeFileSync(join(keys, 'alpha-gw', 'laptop.key'), DEV_PEER_PRIVATE_KEYS.laptop + '\n', { mode: 0o600 });
  return keys;
}

describe('client-config with the fixture app (two gateways, a folder per chart and a file per resource)', () => {
  let dir: string;
  let keys: string;
  let run: Run;

  beforeAll(() => {
    dir = tempDir();
    // GIVEN the laptop's private key in --private-key-dir, not the phone's
    keys = laptopKeyDir(dir);
    // WHEN
    // (Standard output is a pipe here: QR codes of private keys need --qr-to-non-terminal.)
    run = cli(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--private-key-dir', keys, '--qr', '--qr-to-non-terminal']);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('succeeds, one subdirectory per gateway', () => {
    expect(run.code).toBe(0);
    expect(execFileSync('find', ['.', '-type', 'f'], { cwd: join(dir, 'out'), encoding: 'utf-8' }).split('\n').filter(Boolean).sort()).toEqual([
      './alpha-gw/Alice_s_phone__work_.conf',
      './alpha-gw/Alice_s_phone__work_.hosts',
      './alpha-gw/Alice_s_phone__work_.routes.json',
      './alpha-gw/laptop.conf',
      './alpha-gw/laptop.hosts',
      './alpha-gw/laptop.routes.json',
      './beta-gw/laptop.conf',
      './beta-gw/laptop.hosts',
      './beta-gw/laptop.routes.json',
    ]);
    for (const f of ['alpha-gw/laptop.conf', 'alpha-gw/Alice_s_phone__work_.conf', 'beta-gw/laptop.conf']) {
      expect(mode(join(dir, 'out', f))).toBe(0o600);
    }
  });

  test('fills in the private key from --private-key-dir (the real wg parses the file: cli.system.test.ts)', () => {
    const file = join(dir, 'out', 'alpha-gw', 'laptop.conf');
    const conf = readFileSync(file, 'utf-8');
    expect(conf).toContain(`PrivateKey = ${DEV_PEER_PRIVATE_KEYS.laptop}\n`);
    expect(conf).toContain('Endpoint = 192.0.2.10:51821\n');
    expect(conf).toContain('MTU = 1380\n');
    expect(conf).toContain('AllowedIPs = 10.99.0.1/32, 10.99.0.2/32\n');
  });

  test('a peer without a key file keeps the placeholder, and one for its preshared key', () => {
    const file = join(dir, 'out', 'alpha-gw', 'Alice_s_phone__work_.conf');
    const conf = readFileSync(file, 'utf-8');
    expect(conf).toContain('PrivateKey = <private key of peer Alice_s_phone__work_: ');
    expect(run.stderr).toContain('cdk8s-wireguard-gateway: note: alpha-gw/Alice_s_phone__work_.conf: no alpha-gw/Alice_s_phone__work_.key in --private-key-dir, so it keeps the placeholder\n');
    // This peer has a preshared key on the gateway: its file has a placeholder for it too.
    expect(conf).toContain('PresharedKey = <preshared key of peer Alice_s_phone__work_: the key in its presharedKeySecret>\n');
  });

  test('notes the long file name and the preshared key', () => {
    expect(run.stderr).toContain('note: alpha-gw/Alice_s_phone__work_.conf: wg-quick names the interface after the file, and "Alice_s_phone__work_" is longer than 15 characters');
    expect(run.stderr).toContain('note: alpha-gw/Alice_s_phone__work_.conf: peer Alice\'s phone (work) has a preshared key on the gateway; replace the PresharedKey placeholder with it');
    expect(run.stderr).not.toMatch(/note: alpha-gw\/laptop\.conf/);
  });

  test('the same peer name on two gateways gets two files', () => {
    const beta = readFileSync(join(dir, 'out', 'beta-gw', 'laptop.conf'), 'utf-8');
    expect(beta).toContain('# wg-quick configuration for peer laptop of beta/gw.');
    expect(beta).toContain('Address = 10.97.0.2/32\n');
    expect(beta).toContain('Endpoint = 192.0.2.20:51820\n');
    // beta routes its service network (the default); alpha lists its routes (ClientAllowedIps.ROUTE_ADDRESSES).
    expect(beta).toContain('AllowedIPs = 10.99.0.0/20\n');
    expect(readFileSync(join(dir, 'out', 'beta-gw', 'laptop.hosts'), 'utf-8')).toBe('10.99.0.1 redis\n');
  });

  test('--qr prints a QR code of exactly each file\'s contents', () => {
    for (const f of ['alpha-gw/laptop.conf', 'alpha-gw/Alice_s_phone__work_.conf', 'beta-gw/laptop.conf']) {
      let expected = '';
      qrcode.generate(readFileSync(join(dir, 'out', f), 'utf-8'), { small: true }, (q) => { expected = q; });
      expect(run.stdout).toContain(`\n# QR code of ${f}\n${expected}\n`);
    }
    expect(run.stderr).toContain('note: alpha-gw/Alice_s_phone__work_.conf: the QR code carries the private key placeholder, which mobile apps reject; use --private-key-dir to fill in the key');
    expect(run.stderr).not.toContain('note: alpha-gw/laptop.conf: the QR code');
  });
});

describe('client-config: private keys stay out of logs and readable files', () => {
  let dir: string;
  let keys: string;
  beforeEach(() => {
    dir = tempDir();
    keys = laptopKeyDir(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('--qr with a private key refuses a standard output that is not a terminal, before writing anything', () => {
    // GIVEN a child process whose stdout is a pipe (as in CI)
    const run = cli(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--private-key-dir', keys, '--qr']);
    // THEN no QR code, no key on stdout, and --out stays empty
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('client-config: --qr would print 1 private key(s) as QR codes on standard output, which is not a terminal (a pipe, a file or a CI log keeps what it gets). '
      + 'Fix: run it in a terminal, or leave out --qr (the .conf files have the keys), or add --qr-to-non-terminal if that output is safe\n');
    expect(run.stdout).not.toContain(DEV_PEER_PRIVATE_KEYS.laptop);
    expect(run.stdout).not.toContain('QR code');
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
  });

  test('--qr with a private key prints to a terminal', () => {
    const run = inProcess(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--private-key-dir', keys, '--qr'], { terminal: true });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\n# QR code of alpha-gw/laptop.conf\n');
  });

  test('--qr without a private key (placeholders only) prints anywhere: there is no secret in it', () => {
    const run = cli(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--qr']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\n# QR code of alpha-gw/laptop.conf\n');
  });

  test('--qr-to-non-terminal without --qr is a usage error', () => {
    const run = inProcess(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--qr-to-non-terminal']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('client-config: --qr-to-non-terminal goes with --qr. Run "cdk8s-wireguard-gateway client-config --help" for usage.');
  });

  test.each([[0o600, false], [0o400, false], [0o640, true], [0o644, true], [0o604, true], [0o620, true]])('a key file of mode %o: a note that others may read it: %s', (fileMode, noted) => {
    const file = join(keys, 'alpha-gw', 'laptop.key');
    chmodSync(file, fileMode);
    const run = inProcess(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--private-key-dir', keys]);
    expect(run.code).toBe(0);
    const note = `cdk8s-wireguard-gateway: note: ${file} holds a private key and its group or others have access (mode 0${fileMode.toString(8)}): chmod 600 ${file}\n`;
    if (noted) expect(run.stderr).toContain(note); else expect(run.stderr).not.toContain('holds a private key');
  });
});

describe('client-config errors', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir(); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('fails if --app is missing', () => {
    const r = cli(['client-config', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: client-config: missing --app: give the command that synthesizes your cdk8s app, e.g. --app "npx ts-node main.ts" (the "app" line of cdk8s.yaml). Run "cdk8s-wireguard-gateway client-config --help" for usage.\n');
  });

  test('fails if --out is missing', () => {
    const r = inProcess(['client-config', '--app', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: client-config: missing --out: give the directory to write the peers\' files to, e.g. --out peers. Run "cdk8s-wireguard-gateway client-config --help" for usage.\n');
  });

  test('fails if --out is a file', () => {
    writeFileSync(join(dir, 'file'), '');
    const r = inProcess(['client-config', '--app', 'true', '--out', join(dir, 'file')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: client-config: --out ${JSON.stringify(join(dir, 'file'))} is not a writable directory (it exists and is not a directory). Fix: pick a directory you can write to\n`);
  });

  test('fails if --out cannot be created, before running the app', () => {
    writeFileSync(join(dir, 'file'), '');
    const marker = join(dir, 'ran');
    const r = inProcess(['client-config', '--app', `touch ${marker}`, '--out', join(dir, 'file', 'peers')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`client-config: --out ${JSON.stringify(join(dir, 'file', 'peers'))} is not a writable directory (ENOTDIR, not a directory`);
    expect(existsSync(marker)).toBe(false);
  });

  test('fails if the app command fails, showing its stderr', () => {
    const r = cli(['client-config', '--app', FIXTURE_APP, '--out', dir], { env: { CLI_FIXTURE: 'fail' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: client-config: the --app command failed with exit code 3: ${FIXTURE_APP}\n--- its stderr (last lines) ---\nboom from the fixture app\n`);
  });

  test('fails if the app command does not exist', () => {
    const r = inProcess(['client-config', '--app', 'no-such-command-wggw', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cdk8s-wireguard-gateway: client-config: the --app command failed with exit code 127: no-such-command-wggw\n--- its stderr \(last lines\) ---\n.*not found/);
  });

  test('fails if the app command cannot be started (here: the working directory is gone)', () => {
    const r = runCli(['client-config', '--app', 'true', '--out', dir], { readStdin: () => '', env: {}, cwd: join(dir, 'gone') });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: client-config: cannot run --app "true": spawnSync /bin/sh ENOENT\n');
  });

  test('fails if the app writes no YAML', () => {
    const r = cli(['client-config', '--app', FIXTURE_APP, '--out', dir], { env: { CLI_FIXTURE: 'no-synth' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: client-config: the --app command wrote no YAML to CDK8S_OUTDIR: ${FIXTURE_APP}. Fix: make sure it calls app.synth(), and that the App has no outdir of its own (an App with { outdir } ignores CDK8S_OUTDIR)\n`);
  });

  test('fails if no gateway is in the output', () => {
    const r = cli(['client-config', '--app', FIXTURE_APP, '--out', dir], { env: { CLI_FIXTURE: 'no-gateway' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('cdk8s-wireguard-gateway: client-config: no WireguardGateway found in the app\'s manifests (no ConfigMap with the key "connection-info.json" in 1 YAML file(s)). Fix: check that --app synthesizes the app that defines the gateway\n');
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf-8' })).toBe('');
  });

  test('fails if the gateway has no endpoint', () => {
    const r = cli(['client-config', '--app', FIXTURE_APP, '--out', dir], { env: { CLI_FIXTURE: 'no-endpoint' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cdk8s-wireguard-gateway: alpha\/.*\.k8s\.yaml: ConfigMap vpn-alpha\/[-a-z0-9]+: gateway alpha\/gw has no endpoint, and a client configuration needs the address peers connect to\. Fix: set endpoint on the WireguardGateway to the load balancer's hostname or IP\n$/);
  });

  test('fails if the output holds invalid YAML', () => {
    const r = inProcess(['client-config', '--app', 'printf "a: [b\\n" > "$CDK8S_OUTDIR/app.k8s.yaml"', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cdk8s-wireguard-gateway: app\.k8s\.yaml: not valid YAML: /);
  });

  test('fails if --private-key-dir is not a directory', () => {
    const r = inProcess(['client-config', '--app', 'true', '--out', dir, '--private-key-dir', join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: client-config: --private-key-dir ${JSON.stringify(join(dir, 'nope'))} is not a directory\n`);
  });

  test('fails if a key in --private-key-dir belongs to another peer, writing nothing', () => {
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'laptop.key'), DEV_PEER_PRIVATE_KEYS['ci-runner'] + '\n');
    const r = cli(['client-config', '--app', EXAMPLE_APP, '--out', join(dir, 'out'), '--private-key-dir', join(dir, 'keys')], { cwd: EXAMPLE_DIR });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: the private key for laptop.conf does not belong to peer laptop of gateway/gateway: its public key is ${publicKeyOf(DEV_PEER_PRIVATE_KEYS['ci-runner'])}, the gateway has bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=. Fix: use that peer's own key, or register its public key with addPeer\n`);
    expect(execFileSync('ls', ['-A', join(dir, 'out')], { encoding: 'utf-8' })).toBe('');
  });

  test('fails if a key file in --private-key-dir is not a key, without showing it', () => {
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'laptop.key'), 'secret-but-broken\n');
    const r = cli(['client-config', '--app', EXAMPLE_APP, '--out', join(dir, 'out'), '--private-key-dir', join(dir, 'keys')], { cwd: EXAMPLE_DIR });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: client-config: ${join(dir, 'keys', 'laptop.key')} is not a WireGuard private key (17 characters; not shown): expected 44 characters of base64, as printed by "wg genkey"\n`);
  });
});

// --- the command table -------------------------------------------------------------------

describe('commands', () => {
  test('the CLI looks for the key the gateway writes', () => {
    expect(CONNECTION_INFO_KEY).toBe(WireguardGateway.CONNECTION_INFO);
  });

  test('a command added to the table gets its help line, its --help, its options and the dispatch', () => {
    // GIVEN a new command module, as access-report will be
    const echo: CliCommand = {
      name: 'echo-report',
      summary: 'Print --format',
      help: 'Usage: cdk8s-wireguard-gateway echo-report --format <f>\n',
      options: { format: 'value' },
      run: (opts) => ok(`${opts.values.format}\n`),
    };
    const io: CliIo = { readStdin: () => '', env: {}, cwd: ROOT };
    const table = [...COMMANDS, echo];
    // THEN
    expect(runCli(['--help'], io, table).stdout).toContain('  echo-report     Print --format\n');
    expect(runCli(['echo-report', '--help'], io, table).stdout).toBe(echo.help);
    expect(runCli(['echo-report', '--format=csv'], io, table)).toEqual({ stdout: 'csv\n', stderr: '', code: 0 });
    expect(runCli(['echo-report', '--qr'], io, table).stderr).toContain('echo-report: unknown option "--qr"');
    expect(runCli(['nope'], io, table).stderr).toContain('use keygen, pubkey, client-config, access-report or echo-report.');
  });

  test('the top-level help lists every command of the table, exactly as before the table existed', () => {
    expect(inProcess(['--help']).stdout).toBe(`Usage: cdk8s-wireguard-gateway <command> [options]

WireGuard keys, client configurations and access reports for cdk8s-wireguard-gateway.

Commands:
  keygen          Print a new key pair and the kubectl line for the gateway's Secret
  pubkey          Read a private key on stdin and print its public key (like "wg pubkey")
  client-config   Synthesize a cdk8s app and write one wg-quick file per peer
  access-report   Synthesize a cdk8s app and print which peer may use which route

Options:
  -h, --help      Show this help ("cdk8s-wireguard-gateway <command> --help" for a command's)

Exit codes: 0 success, 1 failure, 2 usage error.
`);
  });

  test('help for a name that is an object member is an unknown command', () => {
    expect(inProcess(['help', 'constructor']).stderr).toBe('cdk8s-wireguard-gateway: unknown command "constructor". Run "cdk8s-wireguard-gateway --help" for usage.\n');
  });

  test('the CLI loads neither cdk8s nor cdk8s-plus (a fast start)', () => {
    const script = [
      `require(${JSON.stringify(join(ROOT, 'src', '_cli', 'dispatch.ts'))});`,
      'const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\/](cdk8s|cdk8s-plus-\\d+|constructs)[\\/]/.test(f));',
      'process.stdout.write(JSON.stringify(loaded));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register'), '-e', script], {
      cwd: ROOT,
      encoding: 'utf-8',
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'test', 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
