import { execFileSync, spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY, TEST_SERVER_PUBLIC_KEY } from './util';
import { GatewaySpec, PeerSpec, RouteSpec } from '../src/_model';
import { MODULE_MISSING_MESSAGE, renderInitScript, renderWgConf, serviceAddresses } from '../src/_render-wireguard';

function route(address: string, listenPort: number): RouteSpec {
  return routeSpec({ path: `app/gw/r${listenPort}`, name: `r${listenPort}`, address, listenPort, targetHost: 'x.default.svc.cluster.local', targetPort: listenPort, idleTimeoutSeconds: 60 });
}

function peer(i: number, over: Partial<PeerSpec> = {}): PeerSpec {
  return { name: `peer${i}`, path: `app/gw/peer${i}`, publicKey: PEER_KEYS[i], address: `10.98.0.${i + 2}`, ...over };
}

function spec(over: Partial<GatewaySpec> = {}): GatewaySpec {
  return gatewaySpec({
    routes: [route('10.99.0.1', 5432), route('10.99.0.2', 6379), route('10.99.0.2', 6380)],
    peers: [peer(1), peer(0)],
    ...over,
  });
}

describe('renderWgConf', () => {
  test('has the listen port and one [Peer] per peer, sorted by address, and no private key', () => {
    const conf = renderWgConf(spec());
    expect(conf).not.toMatch(/PrivateKey/);
    expect(conf).toContain('[Interface]\nListenPort = 51820\n');
    const peers = [...conf.matchAll(/\[Peer\]\nPublicKey = (\S+)\nAllowedIPs = (\S+)/g)].map((m) => [m[1], m[2]]);
    expect(peers).toEqual([[PEER_KEYS[0], '10.98.0.2/32'], [PEER_KEYS[1], '10.98.0.3/32']]);
  });

  test('peer names are sanitized in comments', () => {
    const conf = renderWgConf(spec({ peers: [peer(0, { name: 'laptop\n[Peer]\nPublicKey = x' })] }));
    expect(conf.match(/^\[Peer\]$/gm)).toHaveLength(1);
    expect(conf).toContain('# Peer laptop__Peer__PublicKey___x');
  });
});

describe('serviceAddresses', () => {
  test('distinct, numerically sorted', () => {
    expect(serviceAddresses([route('10.99.0.10', 1), route('10.99.0.9', 2), route('10.99.0.9', 3)])).toEqual(['10.99.0.9', '10.99.0.10']);
  });
});

/** The shells the scripts are run with: dash (Debian's sh) and busybox ash (the images'). */
const SHELLS: string[][] = [['sh'], ['busybox', 'sh']];

interface Recorded { status: number | null; stdout: string; stderr: string; commands: string[]; stdin: Record<string, string>; dir: string }

/**
 * Runs the init script with `ip`, `wg` and /proc replaced by recorders, so the
 * exact command sequence (and nothing else) can be asserted. The recorders
 * answer from files: the interface's addresses, routes and peers, and
 * /proc/net/tcp.
 */
function runRecorded(script: string, opts: {
  mode?: string;
  shell?: string[];
  linkExists?: boolean;
  linkAddFails?: boolean;
  forwardingStuck?: boolean;
  forwardingOff?: boolean;
  addresses?: string[];
  routes?: string[];
  peers?: string[];
  tcp?: string;
  wgConf?: string;
  linkFlags?: string;
  listenPort?: string;
  noKey?: boolean;
} = {}): Recorded {
  const dir = mkdtempSync(join(tmpdir(), 'wggw-init-'));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'ip_forward'), opts.forwardingOff ? '0\n' : '1\n');
  writeFileSync(join(dir, 'key'), TEST_SERVER_PRIVATE_KEY);
  writeFileSync(join(dir, 'addresses'), (opts.addresses ?? []).map((a) => `5: wg0    inet ${a}/32 scope global wg0\\       valid_lft forever\n`).join(''));
  writeFileSync(join(dir, 'routes'), (opts.routes ?? []).map((r) => `${r} scope link\n`).join(''));
  writeFileSync(join(dir, 'peers'), (opts.peers ?? []).map((p) => `${p}\n`).join(''));
  writeFileSync(join(dir, 'tcp'), '  sl  local_address rem_address   st tx_queue rx_queue\n' + (opts.tcp ?? ''));
  mkdirSync(join(dir, 'cfg'));
  writeFileSync(join(dir, 'cfg', 'wg0.conf'), opts.wgConf ?? renderWgConf(spec()));
  const shim = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  shim('ip', [
    `if [ "$1 $2" = "link show" ]; then ${opts.linkExists ? 'exit 0' : 'exit 1'}; fi`,
    `if [ "$1 $2 $3" = "-o link show" ]; then ${opts.linkExists ? `echo "5: wg0: <${opts.linkFlags ?? 'POINTOPOINT,NOARP,UP,LOWER_UP'}> mtu 1420 qdisc noqueue state UNKNOWN"` : 'exit 1'}; fi`,
    `if [ "$1 $2" = "link add" ]; then ${opts.linkAddFails ? 'echo "RTNETLINK answers: Operation not supported" >&2; exit 2' : 'exit 0'}; fi`,
    `if [ "$1 $2 $3 $4" = "-4 -o address show" ]; then cat ${dir}/addresses; fi`,
    `if [ "$1 $2 $3" = "-4 route show" ]; then cat ${dir}/routes; fi`,
    `if [ "$1 $2" = "-batch -" ]; then cat > ${dir}/stdin.ip-batch; fi`,
  ].join('\n'));
  shim('wg', [
    `if [ "$1 $3" = "show peers" ]; then cat ${dir}/peers; fi`,
    `if [ "$1 $3" = "show private-key" ]; then ${opts.noKey ? 'echo "(none)"' : `cat ${dir}/key`}; fi`,
    `if [ "$1 $3" = "show listen-port" ]; then echo ${opts.listenPort ?? '51820'}; fi`,
    // syncconf: the interface's peers become the file's.
    `if [ "$1" = syncconf ]; then cat > ${dir}/stdin.wg-syncconf; sed -n 's/^PublicKey = //p' ${dir}/stdin.wg-syncconf > ${dir}/peers; fi`,
  ].join('\n'));
  const adapted = script
    .replace(/\/proc\/sys\/net\/ipv4\/ip_forward/g, join(dir, 'ip_forward'))
    .replace(/\/proc\/sys\/net\/ipv6\/conf\/all\/forwarding/g, join(dir, 'ip6_forward'))
    .replace(/\/proc\/net\/tcp/g, join(dir, 'tcp'));
  const final = opts.forwardingStuck ? adapted.replace(/^ *echo 0 > .*ip_forward$/m, ': forwarding stays on') : adapted;
  writeFileSync(join(dir, 'init.sh'), final);
  const [shell, ...shellArgs] = opts.shell ?? SHELLS[0];
  const r = spawnSync(shell, [...shellArgs, join(dir, 'init.sh'), ...(opts.mode ? [opts.mode] : [])], {
    env: { PATH: `${dir}:/usr/bin:/bin`, CONFIG_DIR: join(dir, 'cfg'), KEY_FILE: join(dir, 'key') }, encoding: 'utf-8',
  });
  const stdin: Record<string, string> = {};
  for (const f of ['ip-batch', 'wg-syncconf']) {
    try { stdin[f] = readFileSync(join(dir, `stdin.${f}`), 'utf-8'); } catch { /* not run */ }
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, commands: readFileSync(log, 'utf-8').split('\n').filter((l) => l !== ''), stdin, dir };
}

describe.each(SHELLS)('renderInitScript (%s)', (...shell) => {
  const run = (script: string, opts: Parameters<typeof runRecorded>[1] = {}) => runRecorded(script, { ...opts, shell });

  test('is valid sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-sh-'));
    writeFileSync(join(dir, 'init.sh'), renderInitScript(spec()));
    execFileSync(shell[0], [...shell.slice(1), '-n', join(dir, 'init.sh')]);
  });

  test('init on a new pod: forwarding off, create, peers with the key, MTU, up, /32s and peer routes in one batch', () => {
    const r = run(renderInitScript(spec()));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.commands).toEqual([
      'ip link show dev wg0',
      'ip link add dev wg0 type wireguard',
      'wg show wg0 peers',
      'wg syncconf wg0 /dev/stdin',
      'ip link set dev wg0 mtu 1420',
      'ip link set dev wg0 up',
      'ip -4 -o address show dev wg0',
      'ip -4 route show dev wg0',
      'ip -batch -',
      'wg show wg0 peers',
      'ip -4 -o address show dev wg0',
    ]);
    // The whole configuration goes to wg through a pipe, with the key from the Secret file.
    expect(r.stdin['wg-syncconf']).toBe(`[Interface]\nPrivateKey = ${TEST_SERVER_PRIVATE_KEY}\n` + renderWgConf(spec()).split('[Interface]\n')[1]);
    expect(r.stdin['ip-batch'].split('\n')).toEqual([
      'address add 10.99.0.1/32 dev wg0',
      'address add 10.99.0.2/32 dev wg0',
      'route replace 10.98.0.2/32 dev wg0',
      'route replace 10.98.0.3/32 dev wg0',
      '',
    ]);
    expect(readFileSync(join(r.dir, 'ip_forward'), 'utf-8').trim()).toBe('0');
    expect(r.stdout).toContain('init: wg0 is up on UDP 51820 with 2 service address(es) and 2 peer(s)');
    // The key itself is never printed, nor on a command line.
    expect(r.stdout + r.stderr + r.commands.join('\n')).not.toContain(TEST_SERVER_PRIVATE_KEY);
  });

  test('a re-run changes only what differs: no new link, existing addresses kept, a departed peer\'s route removed', () => {
    const r = run(renderInitScript(spec()), {
      linkExists: true, addresses: ['10.99.0.1', '10.99.0.2'], routes: ['10.98.0.2', '10.98.0.3', '10.98.0.9'], peers: [PEER_KEYS[0], PEER_KEYS[1]],
    });
    expect(r.status).toBe(0);
    expect(r.commands).not.toContain('ip link add dev wg0 type wireguard');
    expect(r.commands.filter((c) => /flush|address del/.test(c))).toEqual([]);
    expect(r.stdin['ip-batch'].split('\n')).toEqual([
      'route replace 10.98.0.2/32 dev wg0',
      'route replace 10.98.0.3/32 dev wg0',
      'route del 10.98.0.9/32 dev wg0',
      '',
    ]);
  });

  test('apply (the agent) keeps the interface\'s own key and adds what is new', () => {
    const r = run(renderInitScript(spec()), { mode: 'apply', forwardingOff: true, linkExists: true, addresses: ['10.99.0.1'], peers: [PEER_KEYS[1]] });
    expect(r.status).toBe(0);
    expect(r.commands.slice(0, 3)).toEqual(['ip link show dev wg0', 'wg show wg0 private-key', 'wg show wg0 peers']);
    expect(r.stdin['wg-syncconf']).toContain(`PrivateKey = ${TEST_SERVER_PRIVATE_KEY}\n`);
    expect(r.stdin['ip-batch']).toContain('address add 10.99.0.2/32 dev wg0\n');
    expect(r.stdin['ip-batch']).not.toContain('address add 10.99.0.1/32');
    expect(r.stdout).toContain('apply: wg0 has 2 service address(es) and 2 peer(s) (+1 -0 peers); MTU 1420');
  });

  test('apply never switches forwarding off itself: it refuses a pod that forwards', () => {
    const r = run(renderInitScript(spec()), { mode: 'apply', linkExists: true });
    expect(r.status).toBe(1);
    expect(readFileSync(join(r.dir, 'ip_forward'), 'utf-8').trim()).toBe('1');
    expect(r.stderr).toContain('apply: net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards');
  });

  test('apply fails, changing nothing, when wg0 does not exist', () => {
    const r = run(renderInitScript(spec()), { mode: 'apply', forwardingOff: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('apply: wg0 does not exist; the init container creates it: restart the pod');
    expect(r.commands).toEqual(['ip link show dev wg0']);
  });

  test('check accepts what renderWgConf writes and changes nothing', () => {
    const r = run(renderInitScript(spec()), { mode: 'check' });
    expect(r.status).toBe(0);
    expect(r.commands).toEqual([]);
  });

  test.each([
    ['a stray line', renderWgConf(spec()) + 'Endpoint = 1.2.3.4:51820\n', '(line 15)'],
    ['a peer before [Interface]', '[Peer]\nPublicKey = ' + PEER_KEYS[0] + '\n[Interface]\nListenPort = 51820\n', '(line 1)'],
    ['no [Interface]', '# nothing\n', '(no [Interface])'],
    ['a truncated key', renderWgConf(spec()).replace(PEER_KEYS[0], PEER_KEYS[0].slice(1)), '(line'],
  ])('fails if wg0.conf has %s: nothing applied, in every mode', (_name, wgConf, where) => {
    for (const mode of ['check', 'apply', 'init']) {
      const r = run(renderInitScript(spec()), { mode, wgConf, linkExists: true });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`/cfg/wg0.conf is not a WireGuard configuration this library wrote ${where}`);
      expect(r.commands).toEqual([]);
    }
  });

  test('prune removes old service addresses once no TCP socket uses them (TIME_WAIT does not count)', () => {
    // 10.99.0.7 has a listener (0A), 10.99.0.8 an established session (01), 10.99.0.9 only TIME_WAIT (06).
    const tcp = [
      '   0: 0700630A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1 1 0 100 0 0 10 0',
      '   1: 0800630A:1F90 0200620A:C350 01 00000000:00000000 00:00000000 00000000   101        0 2 1 0 20 4 30 10 -1',
      '   2: 0900630A:1F90 0200620A:C351 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0',
      '',
    ].join('\n');
    const r = run(renderInitScript(spec()), { mode: 'prune', linkExists: true, addresses: ['10.99.0.1', '10.99.0.2', '10.99.0.7', '10.99.0.8', '10.99.0.9'], tcp });
    expect(r.status).toBe(0);
    expect(r.commands).toEqual(['ip -4 -o address show dev wg0', 'ip address del 10.99.0.9/32 dev wg0']);
    expect(r.stdout).toBe('prune: removed service address 10.99.0.9: not in this configuration, and no socket uses it\n');
  });

  test('fails with a clear message when the kernel has no WireGuard module', () => {
    const r = run(renderInitScript(spec()), { linkAddFails: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`init: cannot create wg0: ${MODULE_MISSING_MESSAGE}`);
    expect(r.commands).not.toContain('wg syncconf wg0 /dev/stdin');
  });

  test('refuses to finish when forwarding is still on', () => {
    const r = run(renderInitScript(spec()), { forwardingStuck: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards');
    expect(r.commands).toEqual([]);
  });

  test('without privileges it checks forwarding instead of writing /proc/sys', () => {
    const script = renderInitScript(spec({ initSetsSysctls: false }));
    expect(script).not.toMatch(/^ *echo 0 >/m);
    const r = run(script);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('refusing to start a gateway that forwards');
  });

  test('loads preshared keys from their mounted files', () => {
    const r = run(renderInitScript(spec({ peers: [peer(0, { presharedKeyFile: '/run/secrets/wireguard-gateway-psk/psk-0123/psk' })] })));
    expect(r.commands).toContain(`wg set wg0 peer ${PEER_KEYS[0]} preshared-key /run/secrets/wireguard-gateway-psk/psk-0123/psk`);
  });

  describe('ready (the readiness probe)', () => {
    // The listeners of spec(): 10.99.0.1:5432 (0100630A:1538), 10.99.0.2:6379 and :6380.
    const LISTEN = [
      '   0: 0100630A:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1 1 0 100 0 0 10 0',
      '   1: 0200630A:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 2 1 0 100 0 0 10 0',
      '   2: 0200630A:18EC 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 3 1 0 100 0 0 10 0',
      '',
    ];
    const healthy = { mode: 'ready', linkExists: true, addresses: ['10.99.0.1', '10.99.0.2'], tcp: LISTEN.join('\n') };

    test('passes when wg0 is up with its key on its port, has every address, and nginx listens on every route', () => {
      const r = run(renderInitScript(spec()), healthy);
      expect(r.stdout).toBe('ready: wg0 is up with its key on UDP 51820, 2 service address(es), nginx listens on 3 route(s)\n');
      expect(r.status).toBe(0);
      // It changes nothing.
      expect(r.commands.filter((c) => !/ show /.test(c))).toEqual([]);
    });

    test.each([
      ['wg0 does not exist', { linkExists: false }, 'not ready: wg0 does not exist'],
      ['wg0 is down', { linkFlags: 'POINTOPOINT,NOARP' }, 'not ready: wg0 is down'],
      ['wg0 has no key', { noKey: true }, 'not ready: wg0 has no private key'],
      ['wg0 is on another port', { listenPort: '51821' }, 'not ready: wg0 does not listen on UDP 51820'],
      ['a service address is missing', { addresses: ['10.99.0.1'] }, 'not ready: wg0 lacks the service address 10.99.0.2'],
      ['nginx does not listen on a route', { tcp: [LISTEN[0], LISTEN[2], ''].join('\n') }, 'not ready: nothing listens on 10.99.0.2:6379 (nginx)'],
      ['a route\'s socket is an established session, not a listener', { tcp: [LISTEN[0], LISTEN[1].replace(' 0A ', ' 01 '), LISTEN[2], ''].join('\n') },
        'not ready: nothing listens on 10.99.0.2:6379 (nginx)'],
    ])('fails when %s', (_name, opts, message) => {
      const r = run(renderInitScript(spec()), { ...healthy, ...opts });
      expect(r.stdout).toBe(`${message}\n`);
      expect(r.status).toBe(1);
    });
  });

  test('refuses an unknown mode', () => {
    const r = run(renderInitScript(spec()), { mode: 'reset' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('reset: unknown mode (use init, check, apply, prune or ready)\n');
  });
});

describe('the rendered init.sh against real WireGuard (wireguard-go, busybox sh)', () => {
  test('init, then apply a change, then prune: the key stays, peers, addresses and routes follow the configuration', async () => {
    const n = process.pid % 100000;
    const ns = `wggwu${n}`;
    const ifname = `wgu${n}`;
    const dir = mkdtempSync(join(tmpdir(), 'wggw-wg-'));
    const write = (s: GatewaySpec, name: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'wg0.conf'), renderWgConf(s));
      // The interface name is global for wireguard-go (its control socket): a unique one.
      writeFileSync(join(dir, name, 'init.sh'), renderInitScript(s).replace('WG_IF="wg0"', `WG_IF="${ifname}"`));
    };
    const a = spec();
    // b: peer 0 leaves, peer 1 moves to another address and gets a preshared key, peer 2 arrives.
    const pskFile = join(dir, 'psk');
    const b = spec({
      routes: [route('10.99.0.2', 6379), route('10.99.0.3', 5432)],
      peers: [peer(1, { address: '10.98.0.5', presharedKeyFile: pskFile }), peer(2)],
    });
    write(a, 'a');
    write(b, 'b');
    writeFileSync(join(dir, 'key'), TEST_SERVER_PRIVATE_KEY, { mode: 0o400 });
    const psk = execFileSync('wg', ['genpsk'], { encoding: 'utf-8' }).trim();
    writeFileSync(pskFile, psk, { mode: 0o400 });
    const shimDir = join(__dirname, 'e2e', 'shim');
    const run = (name: string, mode?: string) => spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'sh', join(dir, name, 'init.sh'), ...(mode ? [mode] : [])], {
      encoding: 'utf-8',
      env: { PATH: `${shimDir}:/usr/sbin:/usr/bin:/sbin:/bin`, E2E_REAL_IP: '/usr/sbin/ip', E2E_STATE: dir, CONFIG_DIR: join(dir, name), KEY_FILE: join(dir, 'key') },
    });
    const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf-8' }).trim();
    const state = () => ({
      key: inNs('wg', 'show', ifname, 'public-key'),
      peers: inNs('wg', 'show', ifname, 'allowed-ips').split('\n').sort(),
      addresses: inNs('ip', '-4', '-o', 'address', 'show', 'dev', ifname).split('\n').map((l) => l.split(/\s+/)[3]).sort(),
      routes: inNs('ip', '-4', 'route', 'show', 'dev', ifname).split('\n').map((l) => l.split(' ')[0]).sort(),
    });
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      inNs('ip', 'link', 'set', 'lo', 'up');
      // GIVEN the init container's run
      const init = run('a');
      expect(init.stderr).toBe('');
      expect(init.status).toBe(0);
      expect(state()).toEqual({
        key: TEST_SERVER_PUBLIC_KEY,
        peers: [`${PEER_KEYS[0]}\t10.98.0.2/32`, `${PEER_KEYS[1]}\t10.98.0.3/32`].sort(),
        addresses: ['10.99.0.1/32', '10.99.0.2/32'],
        routes: ['10.98.0.2', '10.98.0.3'],
      });
      // WHEN the agent applies the next configuration
      const apply = run('b', 'apply');
      expect(apply.status).toBe(0);
      expect(apply.stdout).toBe(`apply: ${ifname} has 2 service address(es) and 2 peer(s) (+1 -1 peers); MTU 1420\n`);
      // THEN the key is kept, peers, allowed IPs, preshared keys and routes follow; the old address waits for the prune
      expect(state()).toEqual({
        key: TEST_SERVER_PUBLIC_KEY,
        peers: [`${PEER_KEYS[1]}\t10.98.0.5/32`, `${PEER_KEYS[2]}\t10.98.0.4/32`].sort(),
        addresses: ['10.99.0.1/32', '10.99.0.2/32', '10.99.0.3/32'],
        routes: ['10.98.0.4', '10.98.0.5'],
      });
      expect(inNs('wg', 'show', ifname, 'preshared-keys').split('\n').sort()).toEqual([`${PEER_KEYS[1]}\t${psk}`, `${PEER_KEYS[2]}\t(none)`].sort());
      const prune = run('b', 'prune');
      expect(prune.stdout).toBe('prune: removed service address 10.99.0.1: not in this configuration, and no socket uses it\n');
      expect(state().addresses).toEqual(['10.99.0.2/32', '10.99.0.3/32']);
      // AND a re-run of the same configuration changes nothing
      const again = run('b', 'apply');
      expect(again.stdout).toContain('(+0 -0 peers)');
      expect(state().addresses).toEqual(['10.99.0.2/32', '10.99.0.3/32']);
    } finally {
      const pid = Number(readFileSync(join(dir, `${ifname}.wg.pid`), 'utf-8'));
      if (pid > 0) process.kill(pid);
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  });
});
