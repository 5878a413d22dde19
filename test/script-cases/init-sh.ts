/**
 * init.sh's decisions, with recorded stand-ins for `ip`, `wg` and iptables and
 * a fake /proc: the exact commands it runs in each mode, the packet filter it
 * sets, what it refuses (and that no key reaches its output), and the state it
 * leaves. The unit tier runs these cases under the host's sh, the system tier
 * under busybox sh (the images') and dash.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { peer, route, spec, writeConfig } from './pod-config';
import { GatewaySpec } from '../../src/_model';
import { renderPeersTable, renderRoutesTable, renderStartSettings } from '../../src/_render-data';
import { renderWgConf } from '../../src/_render-wireguard';
import { FakePod, Run, Shell } from '../stand-ins';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY } from '../util';

interface Setup {
  /** The configuration's files; `over` replaces or adds files. */
  spec?: GatewaySpec;
  over?: Record<string, string>;
  /** wg0 exists, with these addresses, routes, peers ([public key, address]) and flags; it has the test key. */
  link?: boolean;
  linkFlags?: string;
  addresses?: string[];
  routes?: string[];
  peers?: Array<[string, string]>;
  /** The packet filter is hooked into INPUT and FORWARD already. */
  filtered?: boolean;
  /** The private key file's content (default: the test key). */
  key?: string;
  /** Preshared-key files, by volume. */
  psks?: Record<string, string>;
  noKey?: boolean;
  listenPort?: string;
  linkAddFails?: boolean;
  forwarding?: '0' | '1' | 'stuck';
  tcp?: Array<[string, string]>;
  env?: Record<string, string>;
  /** wg fails every call but `show`, printing this (as it prints a key it cannot parse). */
  wgSays?: string;
  /** iptables-nft-restore fails. */
  iptablesFails?: boolean;
}

/** A pod in the state `setup` describes, and init.sh run in MODE. */
export function initRun(shell: Shell, mode: string | undefined, setup: Setup = {}): { r: Run; pod: FakePod } {
  const pod = new FakePod();
  const config = writeConfig(join(pod.dir, 'config'), setup.spec ?? spec(), setup.over);
  pod.write('key', setup.key ?? TEST_SERVER_PRIVATE_KEY);
  if (setup.link) {
    pod.write('link', setup.linkFlags ?? 'POINTOPOINT,NOARP,UP,LOWER_UP');
    if (!setup.noKey) pod.write('wg-private-key', `${TEST_SERVER_PRIVATE_KEY}\n`);
    pod.write('wg-listen-port', `${setup.listenPort ?? '51820'}\n`);
  }
  pod.write('addresses', (setup.addresses ?? []).map((a) => `${a}\n`).join(''));
  pod.write('routes', (setup.routes ?? []).map((a) => `${a}\n`).join(''));
  pod.write('wg-allowed-ips', (setup.peers ?? []).map(([k, a]) => `${k}\t${a}/32\n`).join(''));
  if (setup.wgSays !== undefined) pod.write('wg-says', setup.wgSays);
  if (setup.iptablesFails) pod.write('fail-iptables', '');
  if (setup.filtered) pod.write('iptables-hooks', 'INPUT WGGW-INPUT\nFORWARD WGGW-FORWARD\n');
  for (const [volume, psk] of Object.entries(setup.psks ?? {})) {
    const dir = join(pod.dir, 'psk', volume);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'psk'), psk);
  }
  if (setup.linkAddFails) pod.write('fail-link-add', '');
  if (setup.forwarding === 'stuck') {
    // Written, and still on: a /proc/sys that takes the write and keeps forwarding (read: not "0").
    rmSync(join(pod.proc, 'sys/net/ipv4/ip_forward'));
    symlinkSync('/dev/null', join(pod.proc, 'sys/net/ipv4/ip_forward'));
  } else {
    pod.writeProc('sys/net/ipv4/ip_forward', `${setup.forwarding ?? '1'}\n`);
  }
  pod.tcp(setup.tcp ?? []);
  const r = pod.run('init.sh', mode === undefined ? [] : [mode], {
    CONFIG_DIR: config, KEY_FILE: join(pod.state, 'key'), PSK_DIR: join(pod.dir, 'psk'), ...(setup.env ?? {}),
  }, shell);
  return { r, pod };
}

const MODULE_MISSING = 'the node\'s kernel has no WireGuard module. Run the gateway on nodes with Linux 5.6 or later (WireGuard is built in), '
  + 'or load it on the node with modprobe wireguard (package wireguard-dkms on older kernels). A pod cannot load kernel modules itself.';

/** The packet filter init.sh sets for spec() (service network 10.99.0.0/24), with the hooks when `hook`. */
export function filterRules(hook: boolean, routes: Array<[string, number]> = [['10.99.0.1', 5432], ['10.99.0.2', 6379], ['10.99.0.2', 6380]], net = '10.99.0.0/24'): string {
  return [
    '*filter',
    ':WGGW-INPUT - [0:0]',
    ':WGGW-FORWARD - [0:0]',
    ...routes.map(([a, p]) => `-A WGGW-INPUT -i wg0 -p tcp --syn -d ${a}/32 --dport ${p} -j ACCEPT`),
    `-A WGGW-INPUT -i wg0 -p tcp ! --syn -d ${net} -j ACCEPT`,
    '-A WGGW-INPUT -i wg0 -p tcp -j REJECT --reject-with tcp-reset',
    '-A WGGW-INPUT -i wg0 -j DROP',
    `-A WGGW-INPUT -d ${net} -j DROP`,
    '-A WGGW-FORWARD -j DROP',
    ...(hook ? ['-I INPUT 1 -j WGGW-INPUT', '-I FORWARD 1 -j WGGW-FORWARD'] : []),
    'COMMIT',
    '',
  ].join('\n');
}

/** Keys that are not WireGuard keys, each for a reason wg would print it. */
export const BAD_KEYS: Array<[string, string]> = [
  ['one character short', TEST_SERVER_PRIVATE_KEY.slice(1)],
  ['one character too many', `A${TEST_SERVER_PRIVATE_KEY}`],
  ['a character outside base64', `${TEST_SERVER_PRIVATE_KEY.slice(0, 10)}!${TEST_SERVER_PRIVATE_KEY.slice(11)}`],
  ['no "=" at the end', `${TEST_SERVER_PRIVATE_KEY.slice(0, 43)}A`],
  ['a 43rd character that 32 bytes cannot end with', `${TEST_SERVER_PRIVATE_KEY.slice(0, 42)}B=`],
  ['a "=" before the end', `${TEST_SERVER_PRIVATE_KEY.slice(0, 20)}=${TEST_SERVER_PRIVATE_KEY.slice(21)}`],
  ['empty', ''],
  ['spaces around it', ` ${TEST_SERVER_PRIVATE_KEY} `],
];

const PSK = 'SGVsbG8gV29ybGQhIHRoaXMgaXMgMzIgYnl0ZXMhISE=';

export function initShCases(shell: Shell): void {
  const run = (mode: string | undefined, setup: Setup = {}) => initRun(shell, mode, setup);

  test('init on a new pod: forwarding off, the packet filter, create, peers with the key, MTU, up, /32s and peer routes in one batch', () => {
    const { r, pod } = run(undefined);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(pod.calls()).toEqual([
      'iptables-nft -C INPUT -j WGGW-INPUT',
      'iptables-nft -C FORWARD -j WGGW-FORWARD',
      'iptables-nft-restore --noflush',
      'ip link show dev wg0',
      'ip link add dev wg0 type wireguard',
      'wg show wg0 peers',
      'wg syncconf wg0 /dev/stdin',
      'wg show wg0 peers',
      'ip link set dev wg0 mtu 1420',
      'ip link set dev wg0 up',
      'ip -4 -o address show dev wg0',
      'wg show wg0 allowed-ips',
      'ip -4 route show dev wg0',
      'ip -batch -',
      'ip -4 -o address show dev wg0',
    ]);
    // The packet filter, hooked first into INPUT and FORWARD, before anything listens.
    expect(pod.read('iptables-restore')).toBe(filterRules(true));
    // The whole configuration goes to wg through a pipe, with the key from the Secret file.
    expect(pod.read('wg-syncconf')).toBe(`[Interface]\nPrivateKey = ${TEST_SERVER_PRIVATE_KEY}\n` + renderWgConf(spec()).split('[Interface]\n')[1]);
    expect(pod.lines('batch').sort()).toEqual([
      'address add 10.99.0.1/32 dev wg0',
      'address add 10.99.0.2/32 dev wg0',
      'route replace 10.98.0.2/32 dev wg0',
      'route replace 10.98.0.3/32 dev wg0',
    ]);
    expect(pod.readProc('sys/net/ipv4/ip_forward').trim()).toBe('0');
    expect(pod.readProc('sys/net/ipv6/conf/all/forwarding').trim()).toBe('0');
    expect(pod.read('mtu')).toBe('1420\n');
    expect(r.stdout).toBe([
      'init: forwarding switched off',
      'init: created wg0',
      'init: wg0 is up on UDP 51820 with 2 service address(es) and 2 peer(s); the packet filter admits 3 route(s)',
      '',
    ].join('\n'));
    // The key itself is never printed, nor on a command line.
    expect(r.stdout + r.stderr + pod.calls().join('\n')).not.toContain(TEST_SERVER_PRIVATE_KEY);
  });

  test('a re-run changes only what differs: no new link, existing addresses kept, a departed peer\'s route removed, the filter replaced, not hooked twice', () => {
    const { r, pod } = run(undefined, {
      link: true,
      filtered: true,
      addresses: ['10.99.0.1', '10.99.0.2'],
      routes: ['10.98.0.2', '10.98.0.3', '10.98.0.9'],
      peers: [[PEER_KEYS[0], '10.98.0.2'], [PEER_KEYS[1], '10.98.0.3']],
    });
    expect(r.status).toBe(0);
    expect(pod.calls()).not.toContain('ip link add dev wg0 type wireguard');
    expect(pod.calls().filter((c) => /\bflush\b|address del/.test(c) && !c.includes('--noflush'))).toEqual([]);
    expect(pod.lines('batch').sort()).toEqual(['route del 10.98.0.9/32 dev wg0', 'route replace 10.98.0.2/32 dev wg0', 'route replace 10.98.0.3/32 dev wg0']);
    expect(pod.lines('routes')).toEqual(['10.98.0.2', '10.98.0.3']);
    expect(pod.read('iptables-restore')).toBe(filterRules(false));
  });

  test('apply (the agent, once nginx serves the configuration) keeps the interface\'s own key, adds what is new, sets the filter', () => {
    const { r, pod } = run('apply', { forwarding: '0', link: true, filtered: true, addresses: ['10.99.0.1'], peers: [[PEER_KEYS[1], '10.98.0.3']] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(pod.calls().slice(0, 6)).toEqual([
      'iptables-nft -C INPUT -j WGGW-INPUT', 'iptables-nft -C FORWARD -j WGGW-FORWARD', 'iptables-nft-restore --noflush',
      'ip link show dev wg0', 'wg show wg0 private-key', 'wg show wg0 peers',
    ]);
    expect(pod.read('wg-syncconf')).toContain(`PrivateKey = ${TEST_SERVER_PRIVATE_KEY}\n`);
    expect(pod.lines('batch')).toContain('address add 10.99.0.2/32 dev wg0');
    expect(pod.lines('batch')).not.toContain('address add 10.99.0.1/32 dev wg0');
    expect(pod.lines('wg-allowed-ips').sort()).toEqual([`${PEER_KEYS[0]}\t10.98.0.2/32`, `${PEER_KEYS[1]}\t10.98.0.3/32`].sort());
    expect(r.stdout).toBe('apply: wg0 has 2 service address(es) and 2 peer(s) (+1 -0 peers); MTU 1420; the packet filter admits 3 route(s)\n');
  });

  test('restrict (the agent, before nginx has the configuration) drops the peers it lacks or moved, adds none, and sets the filter', () => {
    // GIVEN wg0 with peer 0, peer 1 at an old address, and a peer the configuration lacks
    const b = spec({ peers: [peer(0), peer(1, { address: '10.98.0.7' }), peer(2)] });
    const { r, pod } = run('restrict', {
      spec: b,
      forwarding: '0',
      link: true,
      filtered: true,
      addresses: ['10.99.0.1', '10.99.0.2'],
      peers: [[PEER_KEYS[0], '10.98.0.2'], [PEER_KEYS[1], '10.98.0.3'], ['sOOEVn4TBpy08BesrjOtrNjKMlL5q/VQ7TC1VJZwblY=', '10.98.0.9']],
      routes: ['10.98.0.2', '10.98.0.3', '10.98.0.9'],
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // THEN wg keeps only peer 0: the one both the interface and the configuration have at the same address
    expect(pod.read('wg-syncconf')).toBe([
      '[Interface]', `PrivateKey = ${TEST_SERVER_PRIVATE_KEY}`, 'ListenPort = 51820', '[Peer]', `PublicKey = ${PEER_KEYS[0]}`,
      'AllowedIPs = 10.98.0.2/32', '',
    ].join('\n'));
    expect(pod.lines('wg-allowed-ips')).toEqual([`${PEER_KEYS[0]}\t10.98.0.2/32`]);
    expect(pod.lines('batch').sort()).toEqual(['route del 10.98.0.3/32 dev wg0', 'route del 10.98.0.9/32 dev wg0', 'route replace 10.98.0.2/32 dev wg0']);
    expect(pod.read('iptables-restore')).toBe(filterRules(false));
    expect(r.stdout).toBe('restrict: wg0 has 2 service address(es) and 1 peer(s) (+0 -2 peers; 2 wait for nginx); MTU 1420; the packet filter admits 3 route(s)\n');
  });

  test('restrict on an interface without peers adds none', () => {
    const { r, pod } = run('restrict', { forwarding: '0', link: true, filtered: true });
    expect(r.status).toBe(0);
    expect(pod.read('wg-syncconf')).toBe(`[Interface]\nPrivateKey = ${TEST_SERVER_PRIVATE_KEY}\nListenPort = 51820\n`);
    expect(r.stdout).toContain('(+0 -0 peers; 2 wait for nginx)');
  });

  test('apply never switches forwarding off itself: it refuses a pod that forwards', () => {
    const { r, pod } = run('apply', { link: true });
    expect(r.status).toBe(1);
    expect(pod.readProc('sys/net/ipv4/ip_forward').trim()).toBe('1');
    expect(r.stderr).toBe('apply: net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards\n');
  });

  test('apply fails, changing nothing on wg0, when wg0 does not exist', () => {
    const { r, pod } = run('apply', { forwarding: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('apply: wg0 does not exist; the init container creates it: restart the pod\n');
    expect(pod.calls().filter((c) => !c.startsWith('iptables'))).toEqual(['ip link show dev wg0']);
  });

  test('check accepts what the renderers write and changes nothing', () => {
    const { r, pod } = run('check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(pod.calls()).toEqual([]);
  });

  test('names that would break a table\'s row are escaped by the renderers, and check accepts them', () => {
    const names = ['a\tb', 'c\nd', 'quote " and \\ backslash', 'tab\there\x01\x7f', 'caf\u00e9 \u{1F4A5}'];
    const s = spec({
      peers: names.slice(0, 3).map((name, i) => peer(i, { name })),
      routes: names.map((name, i) => ({ ...route(`10.99.0.${i + 1}`, 5000 + i), name })),
    });
    for (const table of [renderRoutesTable(s), renderPeersTable(s)]) {
      const rows = table.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      expect(rows.every((row) => row.split('\t').length === 4)).toBe(true);
    }
    const { r } = run('check', { spec: s });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  const wgConf = renderWgConf(spec());
  const routes = renderRoutesTable(spec());
  const peers = renderPeersTable(spec());
  const startEnv = renderStartSettings(spec());
  const row = (table: string, n: number) => table.split('\n').filter((l) => !l.startsWith('#'))[n];
  test.each([
    ['wg0.conf has a stray line', { 'wg0.conf': wgConf + 'Endpoint = 1.2.3.4:51820\n' }, 'wg0.conf is not a WireGuard configuration this library wrote (line 15)'],
    ['wg0.conf has a peer before [Interface]', { 'wg0.conf': `[Peer]\nPublicKey = ${PEER_KEYS[0]}\n[Interface]\nListenPort = 51820\n` }, 'wg0.conf is not a WireGuard configuration this library wrote (line 1)'],
    ['wg0.conf has no [Interface]', { 'wg0.conf': '# nothing\n' }, 'wg0.conf is not a WireGuard configuration this library wrote (no [Interface])'],
    ['wg0.conf has a truncated key', { 'wg0.conf': wgConf.replace(PEER_KEYS[0], PEER_KEYS[0].slice(1)) }, 'wg0.conf is not a WireGuard configuration this library wrote (line'],
    ['wg0.conf has a key 32 bytes cannot end with', { 'wg0.conf': wgConf.replace(PEER_KEYS[0], `${PEER_KEYS[0].slice(0, 42)}B=`) }, 'wg0.conf is not a WireGuard configuration this library wrote (line'],
    ['a route has a fifth field (a name with a tab)', { 'routes.tsv': routes.replace('\tr5432\n', '\tr54\t32\n') }, 'routes.tsv is not a route table this library wrote (line 3: 5 fields; expected 4: address, port, target, name)'],
    ['a route\'s address is not IPv4', { 'routes.tsv': routes.replace('10.99.0.1\t', '10.99.0.256\t') }, 'routes.tsv is not a route table this library wrote (line 3: address "10.99.0.256" is not an IPv4 address)'],
    ['a route\'s address is outside the service network', { 'routes.tsv': routes.replace('10.99.0.1\t', '10.244.0.2\t') }, 'routes.tsv is not a route table this library wrote (line 3: address 10.244.0.2 is outside the service network 10.99.0.0/24)'],
    ['a route\'s port is out of range', { 'routes.tsv': routes.replace('\t5432\t', '\t65536\t') }, 'routes.tsv is not a route table this library wrote (line 3: port "65536" is not a TCP port)'],
    ['a route\'s target is not a DNS name', { 'routes.tsv': routes.replace('x.default.svc.cluster.local', 'x;reboot') }, 'routes.tsv is not a route table this library wrote (line 3: target "x;reboot" is not a DNS name)'],
    ['a route\'s name has an unescaped quote', { 'routes.tsv': routes.replace('\tr5432\n', '\tr"5432\n') }, 'routes.tsv is not a route table this library wrote (line 3: the name is empty, holds a control character or an unescaped " or \\)'],
    ['a peer\'s key is not a key', { 'peers.tsv': peers.replace(PEER_KEYS[0], 'x') }, 'peers.tsv is not a peer table this library wrote (line 3: public key "x" is not a WireGuard key)'],
    ['a peer\'s key cannot be 32 bytes', { 'peers.tsv': peers.replace(PEER_KEYS[0], `${PEER_KEYS[0].slice(0, 42)}B=`) }, 'peers.tsv is not a peer table this library wrote (line 3: public key'],
    ['a peer\'s address is inside the service network', { 'peers.tsv': peers.replace('\t10.98.0.2\t', '\t10.99.0.9\t') }, 'peers.tsv is not a peer table this library wrote (line 3: address 10.99.0.9 is inside the service network 10.99.0.0/24)'],
    ['a peer\'s preshared-key volume is a path', { 'peers.tsv': peers.replace('\t-\tpeer0', '\t../../etc\tpeer0') }, 'peers.tsv is not a peer table this library wrote (line 3: preshared key volume "../../etc" is neither - nor psk-<hex>)'],
    ['a peer\'s name has a control character', { 'peers.tsv': peers.replace('\tpeer0\n', '\tpeer\x1b0\n') }, 'peers.tsv is not a peer table this library wrote (line 3: the name is empty, holds a control character'],
    ['peers.tsv has a peer wg0.conf lacks', { 'peers.tsv': peers + `${PEER_KEYS[2]}\t10.98.0.9\t-\tx\n` }, `peers.tsv disagree: peer ${PEER_KEYS[2]} (10.98.0.9) is not in wg0.conf`],
    ['wg0.conf has a peer peers.tsv lacks', { 'peers.tsv': peers.replace(row(peers, 1) + '\n', '') }, 'disagree: wg0.conf has 2 peer(s), peers.tsv 1'],
    ['a peer\'s address differs', { 'peers.tsv': peers.replace('\t10.98.0.2\t', '\t10.98.0.7\t') }, 'is not in wg0.conf with AllowedIPs = 10.98.0.7/32'],
    ['live.env has no mtu', { 'live.env': '# nothing\n' }, 'live.env has no setting mtu (or cannot be read); nothing applied'],
    ['live.env\'s mtu is out of range', { 'live.env': 'mtu=90000\n' }, 'live.env: mtu "90000" is not a number from 1280 to 9000; nothing applied'],
    ['start.env has no service network', { 'start.env': startEnv.replace(/^service_network=.*\n/m, '') }, 'start.env has no setting service_network (or cannot be read); nothing applied'],
    ['start.env\'s service network is everything', { 'start.env': startEnv.replace(/^service_network=.*$/m, 'service_network=0.0.0.0/0') }, 'start.env: service_network "0.0.0.0/0" is not an IPv4 network of /16 to /32; nothing applied'],
  ])('fails if %s: nothing applied, in every mode', (_name, over, message) => {
    for (const mode of ['check', 'restrict', 'apply', 'init', 'prune', 'ready']) {
      const { r, pod } = run(mode, { over, link: true });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
      expect(pod.calls()).toEqual([]);
    }
  });

  test.each(BAD_KEYS)('refuses a private key with %s, and never shows it', (_why, key) => {
    const { r, pod } = run(undefined, { key });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`init: the private key in ${join(pod.state, 'key')} is not a WireGuard key (${key.length} characters; not shown): expected 44 characters of base64 ending in "=", as printed by wg genkey\n`);
    expect(pod.calls()).not.toContain('wg syncconf wg0 /dev/stdin');
    if (key.trim() !== '') expect(r.stdout + r.stderr).not.toContain(key.trim().slice(0, 20));
  });

  test('wg\'s own message is shown with anything that may be a key cut out', () => {
    const { r } = run(undefined, { wgSays: `Key is not the correct length or format: \`${TEST_SERVER_PRIVATE_KEY}'\nConfiguration parsing error ${PEER_KEYS[0]}\n` });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('init: wg syncconf wg0 failed: Configuration parsing error <not shown>\n');
    expect(r.stdout + r.stderr).not.toContain(TEST_SERVER_PRIVATE_KEY);
  });

  test('fails, changing nothing on wg0, when the packet filter cannot be set; says why', () => {
    const { r, pod } = run(undefined, { iptablesFails: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('init: cannot set the packet filter (iptables-nft-restore: iptables-nft-restore v1.8.11 (nf_tables): Could not fetch rule set generation id: Protocol not supported); does the node\'s kernel have nf_tables?\n');
    expect(pod.calls().filter((c) => c.startsWith('wg ') || c.startsWith('ip '))).toEqual([]);
  });

  test('fails with a clear message when the image has no iptables-nft-restore', () => {
    const { r, pod } = run(undefined, { env: { IPTABLES_RESTORE: 'no-such-iptables-restore' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('init: no-such-iptables-restore is not in the image: the packet filter needs iptables 1.8 or later with its nf_tables backend (the default init image has it)\n');
    expect(pod.calls().filter((c) => !c.startsWith('iptables-nft -C'))).toEqual([]);
  });

  test('prune removes old service addresses once no TCP socket uses them (TIME_WAIT does not count)', () => {
    // 10.99.0.7 has a listener (0A), 10.99.0.8 an established session (01), 10.99.0.9 only TIME_WAIT (06).
    const { r, pod } = run('prune', {
      link: true,
      addresses: ['10.99.0.1', '10.99.0.2', '10.99.0.7', '10.99.0.8', '10.99.0.9'],
      tcp: [['10.99.0.7:8080', '0A'], ['10.99.0.8:8080', '01'], ['10.99.0.9:8080', '06']],
    });
    expect(r.status).toBe(0);
    expect(pod.calls()).toEqual(['ip -4 -o address show dev wg0', 'ip address del 10.99.0.9/32 dev wg0']);
    expect(r.stdout).toBe('prune: removed service address 10.99.0.9: not in this configuration, and no socket uses it\n');
    expect(pod.lines('addresses')).toEqual(['10.99.0.1', '10.99.0.2', '10.99.0.7', '10.99.0.8']);
  });

  test('fails with a clear message when the kernel has no WireGuard module', () => {
    const { r, pod } = run(undefined, { linkAddFails: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`init: cannot create wg0: ${MODULE_MISSING}\n`);
    expect(pod.calls()).not.toContain('wg syncconf wg0 /dev/stdin');
  });

  test('refuses to finish when forwarding is still on after it switched it off', () => {
    const { r, pod } = run(undefined, { forwarding: 'stuck' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('init: net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards\n');
    expect(pod.calls()).toEqual([]);
  });

  test('without privileges (the pod\'s sysctl switches forwarding off) it only checks: refuses when on, goes on when off', () => {
    const unprivileged = spec({ initSetsSysctls: false });
    const on = run(undefined, { spec: unprivileged });
    expect(on.r.status).toBe(1);
    expect(on.r.stderr).toBe('init: net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards\n');
    expect(on.pod.readProc('sys/net/ipv4/ip_forward').trim()).toBe('1');
    const off = run(undefined, { spec: unprivileged, forwarding: '0' });
    expect(off.r.status).toBe(0);
    expect(off.r.stdout).not.toContain('forwarding switched off');
    expect(off.pod.readProc('sys/net/ipv6/conf/all/forwarding').trim()).toBe('1');
    expect(off.pod.read('iptables-restore')).toBe(filterRules(true));
  });

  test('loads preshared keys from the volume each peer names, each checked first', () => {
    const { r, pod } = run(undefined, { spec: spec({ peers: [peer(0, { presharedKeyVolume: 'psk-0123456789abcdef' }), peer(1)] }), psks: { 'psk-0123456789abcdef': `${PSK}\n` } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(pod.lines('wg-set')).toEqual([`set wg0 peer ${PEER_KEYS[0]} preshared-key ${join(pod.dir, 'psk', 'psk-0123456789abcdef', 'psk')}`]);
  });

  test.each<[string, string | undefined]>([
    ['empty (wg would remove the key)', ''],
    ['not a key', 'not a key at all, but a secret all the same'],
    ['missing', undefined],
  ])('refuses a preshared-key file that is %s, and never shows it', (_why, content) => {
    const { r, pod } = run(undefined, {
      spec: spec({ peers: [peer(0, { presharedKeyVolume: 'psk-0123456789abcdef' }), peer(1)] }),
      psks: content === undefined ? {} : { 'psk-0123456789abcdef': content },
    });
    const file = join(pod.dir, 'psk', 'psk-0123456789abcdef', 'psk');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(content === undefined
      ? `init: cannot read the preshared key of peer ${PEER_KEYS[0]} (${file}); check its presharedKeySecret\n`
      : `init: the preshared key of peer ${PEER_KEYS[0]} (${file}) is not a WireGuard key (${content.length} characters; not shown): expected 44 characters of base64 ending in "=", as printed by wg genpsk\n`);
    expect(pod.lines('wg-set')).toEqual([]);
    if (content) expect(r.stdout + r.stderr).not.toContain(content);
  });

  describe('ready (the readiness probe)', () => {
    // The listeners of spec(): 10.99.0.1:5432, 10.99.0.2:6379 and :6380.
    const LISTEN: Array<[string, string]> = [['10.99.0.1:5432', '0A'], ['10.99.0.2:6379', '0A'], ['10.99.0.2:6380', '0A']];
    const healthy: Setup = { link: true, filtered: true, addresses: ['10.99.0.1', '10.99.0.2'], tcp: LISTEN };

    test('passes when wg0 is up with its key on its port, has every address, the filter is in place, and nginx listens on every route', () => {
      const { r, pod } = run('ready', healthy);
      expect(r.stdout).toBe('ready: wg0 is up with its key on UDP 51820, 2 service address(es), the packet filter, nginx listens on 3 route(s)\n');
      expect(r.status).toBe(0);
      // It changes nothing.
      expect(pod.calls().filter((c) => !/ show |^iptables-nft -C /.test(c))).toEqual([]);
    });

    test.each<[string, Setup, string]>([
      ['wg0 does not exist', { link: false }, 'not ready: wg0 does not exist'],
      ['wg0 is down', { linkFlags: 'POINTOPOINT,NOARP' }, 'not ready: wg0 is down'],
      ['wg0 has no key', { noKey: true }, 'not ready: wg0 has no private key'],
      ['wg0 is on another port', { listenPort: '51821' }, 'not ready: wg0 does not listen on UDP 51820'],
      ['a service address is missing', { addresses: ['10.99.0.1'] }, 'not ready: wg0 lacks the service address 10.99.0.2'],
      ['the packet filter is not in place', { filtered: false }, 'not ready: the packet filter (WGGW-INPUT, WGGW-FORWARD) is not in place'],
      ['nginx does not listen on a route', { tcp: [LISTEN[0], LISTEN[2]] }, 'not ready: nothing listens on 10.99.0.2:6379 (nginx)'],
      ['a route\'s socket is an established session, not a listener', { tcp: [LISTEN[0], ['10.99.0.2:6379', '01'], LISTEN[2]] },
        'not ready: nothing listens on 10.99.0.2:6379 (nginx)'],
    ])('fails when %s', (_name, setup, message) => {
      const { r } = run('ready', { ...healthy, ...setup });
      expect(r.stdout).toBe(`${message}\n`);
      expect(r.status).toBe(1);
    });
  });

  test('refuses an unknown mode', () => {
    const { r } = run('reset');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('reset: unknown mode (use init, check, restrict, apply, prune or ready)\n');
  });
}
