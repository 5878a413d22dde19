import { execFileSync, spawn, spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY } from './util';
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

/**
 * Runs the init script with `ip`, `wg` and /proc/sys replaced by recorders, so
 * the exact command sequence (and nothing else) can be asserted.
 */
function runRecorded(script: string, opts: { linkExists?: boolean; linkAddFails?: boolean; forwardingStuck?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wggw-init-'));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'ip_forward'), '1\n');
  writeFileSync(join(dir, 'key'), TEST_SERVER_PRIVATE_KEY);
  const shim = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  shim('ip', [
    `if [ "$1 $2" = "link show" ]; then ${opts.linkExists ? 'exit 0' : 'exit 1'}; fi`,
    `if [ "$1 $2" = "link add" ]; then ${opts.linkAddFails ? 'echo "RTNETLINK answers: Operation not supported" >&2; exit 2' : 'exit 0'}; fi`,
  ].join('\n'));
  shim('wg', 'exit 0');
  const adapted = script
    .replace(/\/proc\/sys\/net\/ipv4\/ip_forward/g, join(dir, 'ip_forward'))
    .replace(/\/proc\/sys\/net\/ipv6\/conf\/all\/forwarding/g, join(dir, 'ip6_forward'));
  const final = opts.forwardingStuck ? adapted.replace(/^echo 0 > .*ip_forward$/m, ': forwarding stays on') : adapted;
  writeFileSync(join(dir, 'init.sh'), final);
  const r = spawnSync('sh', [join(dir, 'init.sh')], {
    env: { PATH: `${dir}:/usr/bin:/bin`, CONFIG_DIR: '/cfg', KEY_FILE: join(dir, 'key') }, encoding: 'utf-8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, commands: readFileSync(log, 'utf-8').split('\n').filter((l) => l !== ''), dir };
}

describe('renderInitScript', () => {
  test('is valid sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-sh-'));
    writeFileSync(join(dir, 'init.sh'), renderInitScript(spec()));
    execFileSync('sh', ['-n', join(dir, 'init.sh')]);
  });

  test('runs exactly the expected commands: create, peers, key, MTU, /32s, up, peer routes', () => {
    const r = runRecorded(renderInitScript(spec()));
    expect(r.status).toBe(0);
    expect(r.commands).toEqual([
      'ip link show dev wg0',
      'ip link add dev wg0 type wireguard',
      'wg syncconf wg0 /cfg/wg0.conf',
      `wg set wg0 private-key ${r.dir}/key`,
      'ip link set dev wg0 mtu 1420',
      'ip address flush dev wg0',
      'ip address add 10.99.0.1/32 dev wg0',
      'ip address add 10.99.0.2/32 dev wg0',
      'ip link set dev wg0 up',
      'ip route replace 10.98.0.2/32 dev wg0',
      'ip route replace 10.98.0.3/32 dev wg0',
    ]);
    expect(readFileSync(join(r.dir, 'ip_forward'), 'utf-8').trim()).toBe('0');
    expect(r.stdout).toContain('init: wg0 is up on UDP 51820 with 2 service address(es) and 2 peer(s)');
    // The key itself is never printed.
    expect(r.stdout + r.stderr).not.toContain(TEST_SERVER_PRIVATE_KEY);
  });

  test('is idempotent: a second run in the same netns reuses the interface and replaces the rest', () => {
    const r = runRecorded(renderInitScript(spec()), { linkExists: true });
    expect(r.status).toBe(0);
    expect(r.commands).not.toContain('ip link add dev wg0 type wireguard');
    expect(r.commands).toContain('ip address flush dev wg0');
    expect(r.commands.filter((c) => c.startsWith('ip route'))).toEqual(['ip route replace 10.98.0.2/32 dev wg0', 'ip route replace 10.98.0.3/32 dev wg0']);
  });

  test('fails with a clear message when the kernel has no WireGuard module', () => {
    const r = runRecorded(renderInitScript(spec()), { linkAddFails: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`init: cannot create wg0: ${MODULE_MISSING_MESSAGE}`);
    expect(r.commands).not.toContain('wg syncconf wg0 /cfg/wg0.conf');
  });

  test('refuses to finish when forwarding is still on', () => {
    const r = runRecorded(renderInitScript(spec()), { forwardingStuck: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards');
    expect(r.commands).toEqual([]);
  });

  test('without privileges it checks forwarding instead of writing /proc/sys', () => {
    const script = renderInitScript(spec({ initSetsSysctls: false }));
    expect(script).not.toMatch(/^echo 0 >/m);
    const r = runRecorded(script);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('refusing to start a gateway that forwards');
  });

  test('loads preshared keys from their mounted files', () => {
    const r = runRecorded(renderInitScript(spec({ peers: [peer(0, { presharedKeyFile: '/run/secrets/wireguard-gateway-psk/0/psk' })] })));
    expect(r.commands).toContain(`wg set wg0 peer ${PEER_KEYS[0]} preshared-key /run/secrets/wireguard-gateway-psk/0/psk`);
  });
});

describe('the rendered files against real WireGuard (wireguard-go)', () => {
  test('wg syncconf accepts wg0.conf, the key file loads, and a removed peer is removed', async () => {
    const ns = `wggwu${process.pid % 100000}`;
    const ifname = `wgu${process.pid % 100000}`;
    const dir = mkdtempSync(join(tmpdir(), 'wggw-wg-'));
    writeFileSync(join(dir, 'wg0.conf'), renderWgConf(spec()));
    writeFileSync(join(dir, 'key'), TEST_SERVER_PRIVATE_KEY, { mode: 0o400 });
    execFileSync('ip', ['netns', 'add', ns]);
    const wggo = spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '-f', ifname], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5000;
      while (spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'show', ifname]).status !== 0) {
        if (Date.now() > deadline) throw new Error('wireguard-go did not create the interface');
        await new Promise((res) => setTimeout(res, 50));
      }
      execFileSync('ip', ['netns', 'exec', ns, 'wg', 'syncconf', ifname, join(dir, 'wg0.conf')]);
      execFileSync('ip', ['netns', 'exec', ns, 'wg', 'set', ifname, 'private-key', join(dir, 'key')]);
      const dump = execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', ifname, 'dump'], { encoding: 'utf-8' }).trim().split('\n');
      const [iface, ...peers] = dump.map((l) => l.split('\t'));
      expect(iface[1]).toBe('P6zkSB4NVE8G53kjqtOXzWGbjxS+d9stgtw+qEbwqm0=');
      expect(iface[2]).toBe('51820');
      expect(peers.map((p) => [p[0], p[3]]).sort()).toEqual([[PEER_KEYS[0], '10.98.0.2/32'], [PEER_KEYS[1], '10.98.0.3/32']].sort());
      // Removing a peer from the gateway removes it from the live interface on the next run.
      writeFileSync(join(dir, 'wg0.conf'), renderWgConf(spec({ peers: [peer(0)] })));
      execFileSync('ip', ['netns', 'exec', ns, 'wg', 'syncconf', ifname, join(dir, 'wg0.conf')]);
      const after = execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', ifname, 'peers'], { encoding: 'utf-8' }).trim().split('\n');
      expect(after).toEqual([PEER_KEYS[0]]);
    } finally {
      wggo.kill();
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  });
});
