/**
 * connection-info.json (src/_connection-info.ts): what a gateway writes, and
 * the reader the CLI uses, for this version, documents written before
 * versions existed, and documents of a newer version.
 */
import { Duration } from 'cdk8s';
import { connectionInfoDoc } from './cli-util';
import { PEER_KEYS, TEST_SERVER_PUBLIC_KEY, testGateway } from './util';
import { CONNECTION_INFO_VERSION, ConnectionInfoError, buildConnectionInfo, parseConnectionInfo, renderConnectionInfo } from '../src/_connection-info';
import { RouteSpec } from '../src/_model';
import { ClientAllowedIps } from '../src/gateway-options';

const FIX = 'Fix: synthesize the app with this version of cdk8s-wireguard-gateway';

/** A version 1 document, as a gateway writes it. */
const valid = connectionInfoDoc;

const parse = (doc: unknown, source = 'src') => parseConnectionInfo(JSON.stringify(doc), source);

describe('writing', () => {
  test('a gateway writes version 1, first, then every field; routes and peers in address order', () => {
    // GIVEN peers and routes defined out of address order
    const gw = testGateway({ endpoint: 'vpn.example.com', clientAllowedIps: ClientAllowedIps.ROUTE_ADDRESSES });
    const late = gw.addPeer('late', {
      publicKey: PEER_KEYS[1], address: '10.98.0.9', persistentKeepalive: Duration.seconds(10), expires: new Date('2027-03-31T02:00:00+02:00'), enabled: false,
    });
    gw.addPeer('early', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    const oncall = gw.addPeerGroup('oncall', { peers: [late] });
    gw.addPeerGroup('ci').addPeers(late);
    gw.addProxiedService('redis', { serviceName: 'redis', serviceNamespace: 'cache', port: 6379, address: '10.99.0.7' });
    gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, address: '10.99.0.3', allowPeers: [oncall, late] });
    // WHEN
    const text = gw.connectionInfo();
    // THEN
    expect(text.startsWith('{\n  "version": 1,\n  "gateway": "test/gw",\n')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      gateway: 'test/gw',
      endpoint: 'vpn.example.com',
      listenPort: 51820,
      mtu: 1420,
      publicKey: TEST_SERVER_PUBLIC_KEY,
      serviceNetwork: '10.99.0.0/20',
      clientAllowedIps: 'route-addresses',
      routes: [
        { name: 'postgres', kind: 'ProxiedService', address: '10.99.0.3', port: 5432, target: 'postgres.db.svc.cluster.local:5432', allowPeers: ['10.98.0.9'], allowGroups: ['oncall'] },
        { name: 'redis', kind: 'ProxiedService', address: '10.99.0.7', port: 6379, target: 'redis.cache.svc.cluster.local:6379' },
      ],
      peers: [
        { name: 'early', address: '10.98.0.2', publicKey: PEER_KEYS[0], persistentKeepalive: 25, presharedKey: false, expires: null, enabled: true, groups: [] },
        { name: 'late', address: '10.98.0.9', publicKey: PEER_KEYS[1], persistentKeepalive: 10, presharedKey: false, expires: '2027-03-31T00:00:00Z', enabled: false, groups: ['ci', 'oncall'] },
      ],
    });
  });

  test('what a gateway writes, the reader reads back unchanged', () => {
    const gw = testGateway({ endpoint: '192.0.2.1' });
    gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432 });
    expect(parseConnectionInfo(gw.connectionInfo(), 'src')).toEqual(JSON.parse(gw.connectionInfo()));
  });

  test('buildConnectionInfo: no endpoint is null; render is two-space JSON with a final newline', () => {
    const route: RouteSpec = { name: 'db', kind: 'ProxiedService', address: '10.99.0.1', listenPort: 5432, targetHost: 'db', targetPort: 5432 } as RouteSpec;
    const doc = buildConnectionInfo({
      gateway: 'c/gw',
      listenPort: 51820,
      mtu: 1420,
      publicKey: TEST_SERVER_PUBLIC_KEY,
      serviceNetwork: '10.99.0.0/24',
      clientAllowedIps: ClientAllowedIps.SERVICE_NETWORK,
      routes: [route],
      peers: [],
    });
    expect(doc.version).toBe(CONNECTION_INFO_VERSION);
    expect(doc.endpoint).toBeNull();
    expect(doc.routes).toEqual([{ name: 'db', kind: 'ProxiedService', address: '10.99.0.1', port: 5432, target: 'db:5432' }]);
    expect(renderConnectionInfo(doc)).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(parseConnectionInfo(renderConnectionInfo(doc), 'src')).toEqual(doc);
  });
});

describe('reading', () => {
  test('reads a version 1 document as it is', () => {
    expect(parse(valid())).toEqual(valid());
  });

  test('a document without a version (written before version 1) reads as version 1', () => {
    const old = valid();
    delete old.version;
    expect(parse(old)).toEqual(valid());
  });

  test('a document without a version or clientAllowedIps lists the routes\' addresses, as the releases before clientAllowedIps did', () => {
    const old = valid();
    delete old.version;
    delete old.clientAllowedIps;
    expect(parse(old).clientAllowedIps).toBe(ClientAllowedIps.ROUTE_ADDRESSES);
  });

  test('a peer of a document from before 0.3.0 (no expires, enabled or groups) is enabled, never expires and is in no group', () => {
    const old = valid();
    for (const p of old.peers) {
      delete p.expires;
      delete p.enabled;
      delete p.groups;
    }
    expect(parse(old)).toEqual(valid());
  });

  test('an expiry is read as RFC 3339 in any offset, and kept in UTC', () => {
    const doc = valid();
    doc.peers[0].expires = '2027-03-31T02:00:00+02:00';
    expect(parse(doc).peers[0].expires).toBe('2027-03-31T00:00:00Z');
  });

  test('fields it does not know are ignored (a field added without a new version; allowedAddresses of the first releases)', () => {
    const doc = valid();
    doc.expiresSoon = true;
    doc.peers[0].allowedAddresses = ['10.99.0.1'];
    expect(parse(doc)).toEqual(valid());
  });

  test('an IPv6 endpoint and a host name in upper case are endpoints', () => {
    expect(parse({ ...valid(), endpoint: 'fd00::1' }).endpoint).toBe('fd00::1');
    expect(parse({ ...valid(), endpoint: 'VPN.Example.com' }).endpoint).toBe('VPN.Example.com');
    expect(parse({ ...valid(), endpoint: null }).endpoint).toBeNull();
  });

  test('fails if the version is newer than this release reads, saying to upgrade', () => {
    const doc = { ...valid(), version: CONNECTION_INFO_VERSION + 1, somethingNew: [] };
    expect(() => parse(doc, 'a.yaml: ConfigMap vpn/gw')).toThrow(new ConnectionInfoError(
      `a.yaml: ConfigMap vpn/gw: connection-info.json has version ${CONNECTION_INFO_VERSION + 1}, and this cdk8s-wireguard-gateway reads versions up to ${CONNECTION_INFO_VERSION}: the app was synthesized with a newer release. Fix: upgrade cdk8s-wireguard-gateway to the release the app uses, and run the command from the app's project (npx cdk8s-wireguard-gateway)`));
  });

  test.each([['a string', '1'], ['zero', 0], ['a fraction', 1.5], ['null', null]])('fails if the version is %s', (_name, version) => {
    expect(() => parse({ ...valid(), version })).toThrow(`src: invalid version ${JSON.stringify(version)} in connection-info.json: must be a whole number, 1 or more. ${FIX}`);
  });

  test('fails if version 1 has no clientAllowedIps (only documents without a version may omit it)', () => {
    const doc = valid();
    delete doc.clientAllowedIps;
    expect(() => parse(doc)).toThrow(`src: invalid clientAllowedIps undefined in connection-info.json: must be "service-network" or "route-addresses". ${FIX}`);
  });

  test('fails if it is not JSON', () => {
    expect(() => parseConnectionInfo('{', 'x.yaml: ConfigMap a/b')).toThrow(/^x\.yaml: ConfigMap a\/b: connection-info\.json is not valid JSON \(/);
  });

  test('fails if it is not a JSON object', () => {
    expect(() => parseConnectionInfo('[1]', 'src')).toThrow(`src: invalid document "object" in connection-info.json: must be a JSON object. ${FIX}`);
    expect(() => parseConnectionInfo('7', 'src')).toThrow('invalid document "number"');
  });

  test.each([
    ['an endpoint with a newline', (j: any) => { j.endpoint = 'vpn\n[Peer]'; }, 'invalid endpoint "vpn\\n[Peer]" in connection-info.json: must be a one-line string'],
    ['an endpoint with a space', (j: any) => { j.endpoint = 'a b'; }, 'invalid endpoint "a b" in connection-info.json: must be a hostname or an IP address'],
    ['a bad public key', (j: any) => { j.publicKey = 'x'; }, 'invalid publicKey "x" in connection-info.json: must be a WireGuard public key'],
    ['a bad port', (j: any) => { j.listenPort = 0; }, 'invalid listenPort 0 in connection-info.json: must be an integer from 1 to 65535'],
    ['a bad peer address', (j: any) => { j.peers[0].address = '10.98.0.300'; }, 'invalid peers[0].address "10.98.0.300" in connection-info.json: must be an IPv4 address'],
    ['a bad allow-list address', (j: any) => { j.routes[1].allowPeers = ['10.98.0.3/32']; }, 'invalid routes[1].allowPeers[0] "10.98.0.3/32" in connection-info.json: must be an IPv4 address'],
    ['no peers list', (j: any) => { delete j.peers; }, 'invalid peers undefined in connection-info.json: must be a list'],
    ['an unknown clientAllowedIps', (j: any) => { j.clientAllowedIps = 'everything'; }, 'invalid clientAllowedIps "everything" in connection-info.json: must be "service-network" or "route-addresses"'],
    ['a bad service network', (j: any) => { j.clientAllowedIps = 'service-network'; j.serviceNetwork = '10.99.0.0/33'; }, 'invalid serviceNetwork "10.99.0.0/33" in connection-info.json: must be an IPv4 CIDR'],
    ['a presharedKey that is not true or false', (j: any) => { j.peers[0].presharedKey = 'yes'; }, 'invalid peers[0].presharedKey "yes" in connection-info.json: must be true or false'],
    ['an expiry that is no RFC 3339 time', (j: any) => { j.peers[0].expires = '31/03/2027'; }, 'invalid peers[0].expires "31/03/2027" in connection-info.json: must be an RFC 3339 time, for example "2027-03-31T00:00:00Z", or null'],
    ['an expiry on a day that does not exist', (j: any) => { j.peers[0].expires = '2027-02-30T00:00:00Z'; }, 'invalid peers[0].expires "2027-02-30T00:00:00Z" in connection-info.json: must be an RFC 3339 time, for example "2027-03-31T00:00:00Z", or null'],
    ['an enabled that is not true or false', (j: any) => { j.peers[0].enabled = 1; }, 'invalid peers[0].enabled 1 in connection-info.json: must be true or false'],
    ['a group name with a newline', (j: any) => { j.peers[0].groups = ['a\nb']; }, 'invalid peers[0].groups[0] "a\\nb" in connection-info.json: must be a one-line string'],
    ['an allowGroups that is no list', (j: any) => { j.routes[1].allowGroups = 'dba'; }, 'invalid routes[1].allowGroups "dba" in connection-info.json: must be a list'],
  ])('fails on %s', (_name, change, message) => {
    const j = valid();
    change(j);
    expect(() => parse(j)).toThrow(`src: ${message}. ${FIX}`);
  });
});
