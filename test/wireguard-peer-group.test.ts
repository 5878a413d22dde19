/**
 * Peer groups (WireguardPeerGroup) in allowPeers, and closed routes
 * (routeAccess: RouteAccess.CLOSED). The messages are in validation-cases.ts.
 */
import { ManagedDbRoute, RouteAccess, WireguardGateway, WireguardPeer, WireguardPeerGroup } from '../src';
import { PEER_KEYS, configData, synth, testGateway } from './util';

interface Team {
  readonly gw: WireguardGateway;
  readonly alice: WireguardPeer;
  readonly bob: WireguardPeer;
  readonly ci: WireguardPeer;
  readonly dba: WireguardPeerGroup;
}

function team(props = {}): Team {
  const gw = testGateway({ endpoint: 'vpn.example.com', ...props });
  const alice = gw.addPeer('alice', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
  const bob = gw.addPeer('bob', { publicKey: PEER_KEYS[1], address: '10.98.0.3' });
  const ci = gw.addPeer('ci', { publicKey: PEER_KEYS[2], address: '10.98.0.4' });
  const dba = gw.addPeerGroup('dba', { peers: [alice] });
  return { gw, alice, bob, ci, dba };
}

/** The nginx allow lines of a route's server block. */
function allowLines(nginxConf: string, address: string): string[] {
  const block = nginxConf.split('  server {').find((b) => b.includes(`listen ${address}:`))!;
  return block.split('\n').filter((l) => /^\s+(allow|deny) /.test(l)).map((l) => l.trim());
}

describe('WireguardPeerGroup', () => {
  test('a group in allowPeers admits its members, next to single peers', () => {
    const { gw, ci, dba } = team();
    gw.addManagedDbRoute('orders', { host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.1', allowPeers: [dba, ci] });
    const nginx = configData(synth(gw))['nginx.conf'];
    expect(allowLines(nginx, '10.99.0.1')).toEqual(['allow 10.98.0.2;', 'allow 10.98.0.4;', 'deny all;']);
  });

  test('a member added after the route is defined may use it too (the route reads the group at synth)', () => {
    const { gw, bob, dba } = team();
    gw.addManagedDbRoute('orders', { host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.1', allowPeers: [dba] });
    const before = gw.connectionInfo();
    dba.addPeers(bob, bob);
    expect(dba.peers.map((p) => p.node.id)).toEqual(['alice', 'bob']);
    expect(gw.connectionInfo()).not.toBe(before);
    expect(allowLines(configData(synth(gw))['nginx.conf'], '10.99.0.1')).toEqual(['allow 10.98.0.2;', 'allow 10.98.0.3;', 'deny all;']);
  });

  test('a peer in a group and named by itself is allowed once', () => {
    const { gw, alice, dba } = team();
    gw.addManagedDbRoute('orders', { host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.1', allowPeers: [dba, alice] });
    expect(allowLines(configData(synth(gw))['nginx.conf'], '10.99.0.1')).toEqual(['allow 10.98.0.2;', 'deny all;']);
  });

  test('an empty group admits nobody: the route refuses every peer until the group has members', () => {
    const { gw } = team();
    const oncall = gw.addPeerGroup('oncall');
    gw.addManagedDbRoute('orders', { host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.1', allowPeers: [oncall] });
    expect(allowLines(configData(synth(gw))['nginx.conf'], '10.99.0.1')).toEqual(['deny all;']);
    expect(JSON.parse(gw.connectionInfo()).routes[0]).toMatchObject({ allowPeers: [], allowGroups: ['oncall'] });
  });

  test('connection-info.json names each peer\'s groups and each route\'s groups; the client files of the members reach the route', () => {
    const { gw, alice, bob, ci, dba } = team({ clientAllowedIps: 'route-addresses' });
    const oncall = gw.addPeerGroup('oncall', { peers: [bob, alice] });
    gw.addManagedDbRoute('orders', { host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.1', allowPeers: [oncall, dba] });
    const info = JSON.parse(gw.connectionInfo());
    expect(info.routes[0]).toMatchObject({ allowPeers: ['10.98.0.2', '10.98.0.3'], allowGroups: ['dba', 'oncall'] });
    expect(info.peers.map((p: any) => [p.name, p.groups])).toEqual([['alice', ['dba', 'oncall']], ['bob', ['oncall']], ['ci', []]]);
    expect(bob.clientConfig()).toContain('AllowedIPs = 10.99.0.1/32\n');
    expect(ci.clientConfig()).not.toContain('10.99.0.1');
    expect(gw.peerGroups).toEqual([dba, oncall]);
  });

  test('new WireguardPeerGroup works like addPeerGroup; a peer selects itself', () => {
    const { gw, alice } = team();
    const g = new WireguardPeerGroup(gw, 'admins', { gateway: gw, peers: [alice] });
    expect(g.selectPeers()).toEqual([alice]);
    expect(alice.selectPeers()).toEqual([alice]);
    expect(gw.peerGroups.map((x) => x.node.id)).toEqual(['dba', 'admins']);
  });
});

describe('routeAccess', () => {
  test('OPEN (the default): a route without allowPeers is open to every peer', () => {
    const { gw } = team();
    expect(gw.routeAccess).toBe(RouteAccess.OPEN);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432, address: '10.99.0.1' });
    expect(allowLines(configData(synth(gw))['nginx.conf'], '10.99.0.1')).toEqual([]);
  });

  test('CLOSED: every route names who may use it, and then synthesizes as before', () => {
    const { gw, ci, dba } = team({ routeAccess: RouteAccess.CLOSED });
    expect(gw.routeAccess).toBe(RouteAccess.CLOSED);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432, address: '10.99.0.1', allowPeers: [dba] });
    new ManagedDbRoute(gw, 'orders', { gateway: gw, host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.2', allowPeers: [ci] });
    const nginx = configData(synth(gw))['nginx.conf'];
    expect(allowLines(nginx, '10.99.0.1')).toEqual(['allow 10.98.0.2;', 'deny all;']);
    expect(allowLines(nginx, '10.99.0.2')).toEqual(['allow 10.98.0.4;', 'deny all;']);
    expect(() => gw.addProxiedService('later', { serviceName: 'later', port: 8080 })).toThrow(/invalid allowPeers undefined: the gateway's routeAccess is RouteAccess.CLOSED/);
  });
});
