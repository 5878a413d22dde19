/**
 * System tier: assets/init.sh under busybox sh (the images') and dash, with the
 * stand-ins of the unit tier; then against real WireGuard (wireguard-go) and
 * the real iptables-nft, in a network namespace, as root.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { initShCases } from './script-cases/init-sh';
import { peer, route, spec, writeConfig } from './script-cases/pod-config';
import { ASSETS } from './stand-ins';
import { DASH, busyboxShell } from './system-util';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY, TEST_SERVER_PUBLIC_KEY } from './util';

describe.each([busyboxShell(), DASH])('init.sh ($name, stand-ins)', (shell) => {
  initShCases(shell);
});

describe('init.sh against real WireGuard (wireguard-go, busybox sh)', () => {
  test('init, restrict, apply a change, prune: the key stays, peers, addresses, routes and the packet filter follow the configuration', async () => {
    const n = process.pid % 100000;
    const ns = `wggwu${n}`;
    // The interface name is global for wireguard-go (its control socket): a unique one, through WG_IF.
    const ifname = `wgu${n}`;
    const dir = mkdtempSync(join(tmpdir(), 'wggw-wg-'));
    const a = spec();
    // b: peer 0 leaves, peer 1 moves to another address and gets a preshared key, peer 2 arrives.
    const b = spec({
      routes: [route('10.99.0.2', 6379), route('10.99.0.3', 5432)],
      peers: [peer(1, { address: '10.98.0.5', presharedKeyVolume: 'psk-0123456789abcdef' }), peer(2)],
    });
    writeConfig(join(dir, 'a'), a);
    writeConfig(join(dir, 'b'), b);
    writeFileSync(join(dir, 'key'), TEST_SERVER_PRIVATE_KEY, { mode: 0o400 });
    const psk = execFileSync('wg', ['genpsk'], { encoding: 'utf-8' }).trim();
    mkdirSync(join(dir, 'psk', 'psk-0123456789abcdef'), { recursive: true });
    writeFileSync(join(dir, 'psk', 'psk-0123456789abcdef', 'psk'), psk, { mode: 0o400 });
    const shimDir = join(__dirname, 'e2e', 'shim');
    const run = (name: string, mode?: string) => spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'sh', join(ASSETS, 'init.sh'), ...(mode ? [mode] : [])], {
      encoding: 'utf-8',
      env: {
        PATH: `${shimDir}:/usr/sbin:/usr/bin:/sbin:/bin`,
        E2E_REAL_IP: '/usr/sbin/ip',
        E2E_STATE: dir,
        CONFIG_DIR: join(dir, name),
        KEY_FILE: join(dir, 'key'),
        PSK_DIR: join(dir, 'psk'),
        WG_IF: ifname,
      },
    });
    const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf-8' }).trim();
    // The packet filter as iptables-nft lists it: the chain's rules, and how often each hook is in place.
    const filter = () => ({
      input: inNs('iptables-nft', '-S', 'WGGW-INPUT').split('\n'),
      hooks: [inNs('iptables-nft', '-S', 'INPUT'), inNs('iptables-nft', '-S', 'FORWARD')].join('\n').split('\n').filter((l) => / -j WGGW-/.test(l)),
      forward: inNs('iptables-nft', '-S', 'WGGW-FORWARD').split('\n'),
    });
    const accepts = (routes: string[]) => routes.map((r) => {
      const [address, port] = r.split(':');
      return `-A WGGW-INPUT -d ${address}/32 -i ${ifname} -p tcp -m tcp --dport ${port} --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT`;
    });
    const rest = [
      `-A WGGW-INPUT -d 10.99.0.0/24 -i ${ifname} -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT`,
      `-A WGGW-INPUT -i ${ifname} -p tcp -j REJECT --reject-with tcp-reset`,
      `-A WGGW-INPUT -i ${ifname} -j DROP`,
      '-A WGGW-INPUT -d 10.99.0.0/24 -j DROP',
    ];
    const state = () => ({
      key: inNs('wg', 'show', ifname, 'public-key'),
      peers: inNs('wg', 'show', ifname, 'allowed-ips').split('\n').sort(),
      addresses: inNs('ip', '-4', '-o', 'address', 'show', 'dev', ifname).split('\n').map((l) => l.split(/\s+/)[3]).sort(),
      routes: inNs('ip', '-4', 'route', 'show', 'dev', ifname).split('\n').map((l) => l.split(' ')[0]).sort(),
      mtu: inNs('cat', `/sys/class/net/${ifname}/mtu`),
    });
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      inNs('ip', 'link', 'set', 'lo', 'up');
      // GIVEN the init container's run
      const init = run('a');
      expect(init.stderr).toBe('');
      expect(init.status).toBe(0);
      expect(init.stdout).toBe(`init: forwarding switched off\ninit: created ${ifname}\ninit: ${ifname} is up on UDP 51820 with 2 service address(es) and 2 peer(s); the packet filter admits 3 route(s)\n`);
      expect(filter()).toEqual({
        input: ['-N WGGW-INPUT', ...accepts(['10.99.0.1:5432', '10.99.0.2:6379', '10.99.0.2:6380']), ...rest],
        hooks: ['-A INPUT -j WGGW-INPUT', '-A FORWARD -j WGGW-FORWARD'],
        forward: ['-N WGGW-FORWARD', '-A WGGW-FORWARD -j DROP'],
      });
      expect(inNs('cat', '/proc/sys/net/ipv4/ip_forward')).toBe('0');
      expect(state()).toEqual({
        key: TEST_SERVER_PUBLIC_KEY,
        peers: [`${PEER_KEYS[0]}\t10.98.0.2/32`, `${PEER_KEYS[1]}\t10.98.0.3/32`].sort(),
        addresses: ['10.99.0.1/32', '10.99.0.2/32'],
        routes: ['10.98.0.2', '10.98.0.3'],
        mtu: '1420',
      });
      // WHEN the agent takes the next configuration before nginx has it: peer 0 leaves, peer 1 (moved) leaves until
      // nginx has it, peer 2 waits; the filter takes the new routes at once
      const restrict = run('b', 'restrict');
      expect(restrict.stderr).toBe('');
      expect(restrict.stdout).toBe(`restrict: ${ifname} has 2 service address(es) and 0 peer(s) (+0 -2 peers; 2 wait for nginx); MTU 1420; the packet filter admits 2 route(s)\n`);
      expect(state().peers).toEqual(['']);
      expect(filter().input).toEqual(['-N WGGW-INPUT', ...accepts(['10.99.0.2:6379', '10.99.0.3:5432']), ...rest]);
      // WHEN nginx serves it: the agent applies it
      const apply = run('b', 'apply');
      expect(apply.stderr).toBe('');
      expect(apply.status).toBe(0);
      expect(apply.stdout).toBe(`apply: ${ifname} has 2 service address(es) and 2 peer(s) (+2 -0 peers); MTU 1420; the packet filter admits 2 route(s)\n`);
      // THEN the key is kept, peers, allowed IPs, preshared keys and routes follow; the old address waits for the prune
      expect(state()).toEqual({
        key: TEST_SERVER_PUBLIC_KEY,
        peers: [`${PEER_KEYS[1]}\t10.98.0.5/32`, `${PEER_KEYS[2]}\t10.98.0.4/32`].sort(),
        addresses: ['10.99.0.1/32', '10.99.0.2/32', '10.99.0.3/32'],
        routes: ['10.98.0.4', '10.98.0.5'],
        mtu: '1420',
      });
      expect(inNs('wg', 'show', ifname, 'preshared-keys').split('\n').sort()).toEqual([`${PEER_KEYS[1]}\t${psk}`, `${PEER_KEYS[2]}\t(none)`].sort());
      const prune = run('b', 'prune');
      expect(prune.stdout).toBe('prune: removed service address 10.99.0.1: not in this configuration, and no socket uses it\n');
      expect(state().addresses).toEqual(['10.99.0.2/32', '10.99.0.3/32']);
      // AND a re-run of the same configuration changes nothing
      const again = run('b', 'apply');
      expect(again.stdout).toContain('(+0 -0 peers)');
      expect(state().addresses).toEqual(['10.99.0.2/32', '10.99.0.3/32']);
      expect(filter().hooks).toEqual(['-A INPUT -j WGGW-INPUT', '-A FORWARD -j WGGW-FORWARD']);
    } finally {
      const pid = Number(readFileSync(join(dir, `${ifname}.wg.pid`), 'utf-8'));
      if (pid > 0) process.kill(pid);
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  });
});
