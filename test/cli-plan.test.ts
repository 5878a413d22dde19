/**
 * client-config's pure steps, without a process or a file system: reading the
 * gateways from manifests (src/_cli/gateways.ts) and planning the files and
 * the report (src/_cli/client-plan.ts).
 */
import * as qrcode from 'qrcode-terminal';
import { CI_RUNNER_PUBLIC_KEY as CI_PUB, LAPTOP_PUBLIC_KEY as LAPTOP_PUB, SERVER_PUBLIC_KEY, connectionInfoDoc } from './cli-util';
import { DEV_PEER_PRIVATE_KEYS } from '../examples/postgres-redis-rds/dev-keys';
import { clientReport, fileBase, keyPathOf, layoutClientFiles, planClientFiles, qrRefusal } from '../src/_cli/client-plan';
import { CliError } from '../src/_cli/command';
import { GatewayInfo, findGateways, gatewayInfo, readGateway, requireGateways } from '../src/_cli/gateways';
import { parseConnectionInfo } from '../src/_connection-info';
import { renderClientConfig } from '../src/_render-client';
// The messages say "synthesize": posture.test.ts wants the synth checks in every such file.
import './posture';

/** The shared document, with the routes' addresses in client files. */
const doc = (gateway = 'c/gw'): any => ({ ...connectionInfoDoc(gateway), clientAllowedIps: 'route-addresses' });

const gateway = (j: any = doc(), source = 'f'): GatewayInfo => gatewayInfo(parseConnectionInfo(JSON.stringify(j), source), source);

/** What a function throws, as the CliError it must be. */
function cliError(f: () => unknown): CliError {
  try {
    f();
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('reading the gateways', () => {
  test('a peer reaches the addresses whose routes allow it', () => {
    const j = doc();
    j.peers = [j.peers[0]];
    expect(gateway(j).peers[0].allowedAddresses).toEqual(['10.99.0.1']);
    j.routes[1].allowPeers = ['10.98.0.2'];
    expect(gateway(j).peers[0].allowedAddresses).toEqual(['10.99.0.1', '10.99.0.2']);
  });

  test('AllowedIPs: the service network, or the routes\' addresses (also for files written before clientAllowedIps)', () => {
    const allowedIps = (m: string | undefined, version: number | undefined) => {
      const j = { ...doc(), clientAllowedIps: m, version };
      j.peers = [j.peers[0]];
      return gateway(j).peers[0].allowedIps;
    };
    expect(allowedIps('service-network', 1)).toEqual(['10.99.0.0/24']);
    expect(allowedIps('route-addresses', 1)).toEqual(['10.99.0.1/32']);
    expect(allowedIps(undefined, undefined)).toEqual(['10.99.0.1/32']);
  });

  test('readGateway: a bad document is the user\'s to fix (a CliError, exit 1)', () => {
    const e = cliError(() => readGateway('{', 'x.yaml: ConfigMap a/b'));
    expect(e.code).toBe(1);
    expect(e.message).toMatch(/^x\.yaml: ConfigMap a\/b: connection-info\.json is not valid JSON \(/);
  });

  test('findGateways: every ConfigMap with connection-info.json, in file order, named by file and ConfigMap', () => {
    const configMap = (ns: string | undefined, name: string, j: any) => [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`, ...(ns ? [`  namespace: ${ns}`] : []),
      'data:', `  connection-info.json: ${JSON.stringify(JSON.stringify(j))}`,
    ].join('\n');
    const found = findGateways([
      { file: 'b.k8s.yaml', text: [configMap('vpn', 'gw-1', doc('b/gw')), 'kind: ConfigMap\ndata:\n  other.json: "{}"', 'kind: Secret\nmetadata:\n  name: s'].join('\n---\n') },
      { file: 'a.k8s.yaml', text: configMap(undefined, 'gw-2', doc('a/gw')) },
    ]);
    expect(found.map((g) => [g.gateway, g.source])).toEqual([['b/gw', 'b.k8s.yaml: ConfigMap vpn/gw-1'], ['a/gw', 'a.k8s.yaml: ConfigMap default/gw-2']]);
  });

  test('fails if no gateway is in the manifests, the message starting with the command that asked', () => {
    expect(cliError(() => requireGateways('access-report', [{ file: 'a.k8s.yaml', text: 'kind: Secret\nmetadata:\n  name: s\n' }])).message).toBe(
      'access-report: no WireguardGateway found in the app\'s manifests (no ConfigMap with the key "connection-info.json" in 1 YAML file(s)). Fix: check that --app synthesizes the app that defines the gateway');
  });

  test('fails if a manifest is not valid YAML', () => {
    expect(cliError(() => findGateways([{ file: 'app.k8s.yaml', text: 'a: [b\n' }])).message).toMatch(/^app\.k8s\.yaml: not valid YAML: /);
  });
});

describe('fileBase', () => {
  test.each([
    ['laptop', 'laptop'],
    ['ci-runner', 'ci-runner'],
    ['Alice\'s phone', 'Alice_s_phone'],
    ['../etc/passwd', '_._etc_passwd'],
    ['.hidden', '_hidden'],
    ['', '_'],
  ])('%j -> %j', (name, base) => {
    expect(fileBase(name)).toBe(base);
  });
});

describe('layoutClientFiles', () => {
  test('one gateway writes to --out itself; several get a subdirectory each, named after the construct path', () => {
    expect(layoutClientFiles([gateway()]).map((g) => g.peers.map((p) => p.confPath))).toEqual([['laptop.conf', 'ci-runner.conf']]);
    expect(layoutClientFiles([gateway(doc('alpha/gw')), gateway(doc('beta/gw'))]).map((g) => g.peers.map((p) => p.confPath))).toEqual([
      ['alpha-gw/laptop.conf', 'alpha-gw/ci-runner.conf'],
      ['beta-gw/laptop.conf', 'beta-gw/ci-runner.conf'],
    ]);
    expect(keyPathOf('alpha-gw/laptop.conf')).toBe('alpha-gw/laptop.key');
  });

  test('fails if a gateway has no endpoint', () => {
    expect(cliError(() => layoutClientFiles([gateway({ ...doc(), endpoint: null }, 'a.yaml: ConfigMap vpn/gw')])).message).toBe(
      'a.yaml: ConfigMap vpn/gw: gateway c/gw has no endpoint, and a client configuration needs the address peers connect to. Fix: set endpoint on the WireguardGateway to the load balancer\'s hostname or IP');
  });

  test('fails if two gateways would write to one subdirectory', () => {
    expect(cliError(() => layoutClientFiles([gateway(doc('a/gw')), gateway(doc('a-gw'))])).message).toBe(
      'gateways a/gw and a-gw would both write to a-gw/: give one of them another construct id');
  });

  test('fails if two peers would write to one file', () => {
    const j = doc();
    j.peers[1].name = 'lap top';
    j.peers[0].name = 'lap/top';
    expect(cliError(() => layoutClientFiles([gateway(j)])).message).toBe(
      'gateway c/gw: peers "lap/top" and "lap top" would both be written to lap_top.conf: give one of them another name');
  });
});

describe('planClientFiles', () => {
  test('a peer\'s files say nothing about other peers: no allow list, no group, no other peer\'s address, name or key', () => {
    // GIVEN a route both peers may use, through an allow list and a group
    const j = doc();
    j.routes[1].allowPeers = ['10.98.0.2', '10.98.0.3'];
    j.routes[1].allowGroups = ['dba'];
    j.peers[0].groups = ['dba'];
    j.peers[1].groups = ['dba'];
    // WHEN
    const files = planClientFiles([gateway(j)]).files.filter((f) => f.path.startsWith('laptop.'));
    // THEN
    const routes = JSON.parse(files.find((f) => f.path === 'laptop.routes.json')!.content);
    expect(routes.routes.map((r: any) => Object.keys(r).sort())).toEqual([
      ['address', 'kind', 'name', 'port', 'target'], ['address', 'kind', 'name', 'port', 'target'],
    ]);
    for (const f of files) {
      expect({ file: f.path, other: ['10.98.0.3', 'ci-runner', CI_PUB, 'dba'].filter((x) => f.content.includes(x)) }).toEqual({ file: f.path, other: [] });
    }
  });

  test('three files per peer, the .conf 0600 and rendered by the library, the others 0644 with only the routes the peer may use', () => {
    const plan = planClientFiles([gateway()]);
    expect(plan.files.map((f) => [f.path, f.mode.toString(8)])).toEqual([
      ['laptop.conf', '600'], ['laptop.hosts', '644'], ['laptop.routes.json', '644'],
      ['ci-runner.conf', '600'], ['ci-runner.hosts', '644'], ['ci-runner.routes.json', '644'],
    ]);
    const content = (p: string) => plan.files.find((f) => f.path === p)!.content;
    expect(content('laptop.conf')).toBe(renderClientConfig({
      gatewayPath: 'c/gw',
      peerName: 'laptop',
      peerAddress: '10.98.0.2',
      hasPresharedKey: false,
      serverPublicKey: SERVER_PUBLIC_KEY,
      endpoint: 'vpn.example.com',
      listenPort: 51820,
      mtu: 1420,
      allowedIps: ['10.99.0.1/32'],
      persistentKeepaliveSeconds: 25,
      enabled: true,
    }));
    expect(content('ci-runner.conf')).toContain('AllowedIPs = 10.99.0.1/32, 10.99.0.2/32\n');
    expect(content('laptop.hosts')).toBe('10.99.0.1 db\n');
    expect(content('ci-runner.hosts')).toBe('10.99.0.1 db\n10.99.0.2 admin\n');
    expect(JSON.parse(content('laptop.routes.json'))).toEqual({
      gateway: 'c/gw',
      peer: 'laptop',
      address: '10.98.0.2',
      routes: [{ name: 'db', kind: 'ProxiedService', address: '10.99.0.1', port: 5432, target: 'db.ns.svc.cluster.local:5432' }],
    });
    expect(plan.configs.map((c) => [c.path, c.placeholder])).toEqual([['laptop.conf', true], ['ci-runner.conf', true]]);
    expect(plan.summary).toEqual([
      'Gateway c/gw (endpoint vpn.example.com, port 51820):',
      '  laptop.conf  peer laptop (10.98.0.2): db 10.99.0.1:5432',
      '  ci-runner.conf  peer ci-runner (10.98.0.3): db 10.99.0.1:5432, admin 10.99.0.2:5432',
    ]);
    expect(plan.notes).toEqual(['ci-runner.conf: peer ci-runner has a preshared key on the gateway; replace the PresharedKey placeholder with it, or the handshake fails']);
  });

  test('a supplied private key goes into its peer\'s file only', () => {
    const plan = planClientFiles([gateway()], new Map([['laptop.conf', DEV_PEER_PRIVATE_KEYS.laptop]]));
    expect(plan.files[0].content).toContain(`PrivateKey = ${DEV_PEER_PRIVATE_KEYS.laptop}\n`);
    expect(plan.files[3].content).toContain('PrivateKey = <private key of peer ci-runner: ');
    expect(plan.configs.map((c) => c.placeholder)).toEqual([false, true]);
  });

  test('fails if a supplied private key belongs to another peer', () => {
    expect(cliError(() => planClientFiles([gateway()], new Map([['laptop.conf', DEV_PEER_PRIVATE_KEYS['ci-runner']]]))).message).toBe(
      `the private key for laptop.conf does not belong to peer laptop of c/gw: its public key is ${CI_PUB}, the gateway has ${LAPTOP_PUB}. Fix: use that peer's own key, or register its public key with addPeer`);
  });

  test('a gateway without peers writes nothing and says so; a long name and no routes are noted', () => {
    const empty = { ...doc('a/gw'), peers: [] };
    const lonely = { ...doc('b/gw'), routes: [] };
    lonely.peers = [{ ...lonely.peers[0], name: 'a-very-long-peer-name' }];
    const plan = planClientFiles([gateway(empty), gateway(lonely)]);
    expect(plan.files.map((f) => f.path)).toEqual(['b-gw/a-very-long-peer-name.conf', 'b-gw/a-very-long-peer-name.hosts', 'b-gw/a-very-long-peer-name.routes.json']);
    expect(plan.summary).toEqual(['Gateway b/gw (endpoint vpn.example.com, port 51820):', '  b-gw/a-very-long-peer-name.conf  peer a-very-long-peer-name (10.98.0.2): no routes']);
    expect(plan.notes).toEqual([
      'gateway a/gw has no peers: nothing to write for it',
      'b-gw/a-very-long-peer-name.conf: wg-quick names the interface after the file, and "a-very-long-peer-name" is longer than 15 characters; rename the file (e.g. wg-a-very-long-.conf) before "wg-quick up"',
    ]);
  });
});

describe('clientReport', () => {
  test('says what was written, and to replace the placeholders', () => {
    const report = clientReport(planClientFiles([gateway()]), { out: 'peers', qr: false, privateKeyDir: false });
    expect(report.stdout).toBe([
      'Gateway c/gw (endpoint vpn.example.com, port 51820):',
      '  laptop.conf  peer laptop (10.98.0.2): db 10.99.0.1:5432',
      '  ci-runner.conf  peer ci-runner (10.98.0.3): db 10.99.0.1:5432, admin 10.99.0.2:5432',
      'Wrote 2 wg-quick file(s) (mode 0600) to peers, each with <peer>.hosts and <peer>.routes.json next to it.',
      'Replace the PrivateKey placeholder in each .conf with the peer\'s own private key, then: sudo wg-quick up ./<peer>.conf',
      '',
    ].join('\n'));
    expect(report.notes).toEqual(planClientFiles([gateway()]).notes);
  });

  test('with every key supplied, no placeholder line; with --private-key-dir, a note per file still without a key', () => {
    const keys = new Map([['laptop.conf', DEV_PEER_PRIVATE_KEYS.laptop]]);
    const j = doc();
    j.peers = [j.peers[0]];
    expect(clientReport(planClientFiles([gateway(j)], keys), { out: 'o', qr: false, privateKeyDir: true }).stdout).not.toContain('Replace the PrivateKey placeholder');
    const both = clientReport(planClientFiles([gateway()], keys), { out: 'o', qr: false, privateKeyDir: true });
    expect(both.notes).toContain('ci-runner.conf: no ci-runner.key in --private-key-dir, so it keeps the placeholder');
    expect(both.notes.filter((n) => n.startsWith('laptop.conf'))).toEqual([]);
  });

  test('--qr prints QR codes of private keys to a terminal, or with --qr-to-non-terminal; QR codes of placeholders anywhere', () => {
    const keys = new Map([['laptop.conf', DEV_PEER_PRIVATE_KEYS.laptop]]);
    const withKey = planClientFiles([gateway()], keys);
    const placeholders = planClientFiles([gateway()]);
    const pipe = { qr: true, stdoutIsTerminal: false, toNonTerminal: false };
    expect(qrRefusal(withKey, pipe)).toMatch(/^client-config: --qr would print 1 private key\(s\) as QR codes on standard output, which is not a terminal/);
    expect(qrRefusal(withKey, { ...pipe, stdoutIsTerminal: true })).toBeUndefined();
    expect(qrRefusal(withKey, { ...pipe, toNonTerminal: true })).toBeUndefined();
    expect(qrRefusal(withKey, { ...pipe, qr: false })).toBeUndefined();
    expect(qrRefusal(placeholders, pipe)).toBeUndefined();
  });

  test('--qr: a QR code of exactly each file, and a note for each that has the placeholder', () => {
    const plan = planClientFiles([gateway()], new Map([['laptop.conf', DEV_PEER_PRIVATE_KEYS.laptop]]));
    const report = clientReport(plan, { out: 'o', qr: true, privateKeyDir: true });
    for (const c of plan.configs) {
      let expected = '';
      qrcode.generate(c.content, { small: true }, (q) => { expected = q; });
      expect(report.stdout).toContain(`\n# QR code of ${c.path}\n${expected}\n`);
    }
    expect(report.notes).toContain('ci-runner.conf: the QR code carries the private key placeholder, which mobile apps reject; use --private-key-dir to fill in the key');
    expect(report.notes.some((n) => n.startsWith('laptop.conf: the QR code'))).toBe(false);
  });
});
