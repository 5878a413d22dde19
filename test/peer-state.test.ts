/**
 * A peer's `expires` and `enabled` (src/_peer-access.ts, wireguard-peer.ts):
 * how they are checked and written, that a disabled peer reaches nothing that
 * lets a peer in, and that the synth never reads the clock.
 */
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GatewayMetricsOptions, WireguardGateway } from '../src';
import { PEER_KEYS, configData, synth, testChart, testGateway } from './util';
import { PEER_METRICS, PeerState, checkExpires, parseRfc3339, peerState, rfc3339 } from '../src/_peer-access';

const EXPIRES = new Date('2027-03-31T00:00:00Z');
const EXPIRES_UNIX = 1806451200;

/** A gateway with an enabled peer that expires, a disabled one with a preshared key, and one that never expires. */
function gateway(metrics?: Partial<GatewayMetricsOptions>): WireguardGateway {
  const chart = testChart();
  const scrapeFrom = kplus.NetworkPolicyIpBlock.ipv4(chart, 'Prometheus', '10.0.9.0/24');
  const gw = testGateway({ endpoint: 'vpn.example.com', metrics: metrics && { scrapeFrom, ...metrics } }, chart);
  gw.addPeer('contractor', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: EXPIRES });
  gw.addPeer('suspended', {
    publicKey: PEER_KEYS[1],
    address: '10.98.0.3',
    enabled: false,
    presharedKeySecret: kplus.Secret.fromSecretName(chart, 'Psk', 'suspended-psk'),
  });
  gw.addPeer('staff', { publicKey: PEER_KEYS[2], address: '10.98.0.4' });
  gw.addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
  return gw;
}

describe('the contract (src/_peer-access.ts)', () => {
  test('an expiry is RFC 3339 in UTC without fractions, and UNIX seconds', () => {
    expect(checkExpires('p', EXPIRES)).toBe(EXPIRES_UNIX);
    expect(rfc3339(EXPIRES_UNIX)).toBe('2027-03-31T00:00:00Z');
    expect(rfc3339(0)).toBe('1970-01-01T00:00:00Z');
  });

  test('RFC 3339 is read in any offset, lower case too; what is not RFC 3339 or no such time is undefined', () => {
    expect(parseRfc3339('2027-03-31T00:00:00Z')).toBe(EXPIRES_UNIX);
    expect(parseRfc3339('2027-03-31T02:00:00+02:00')).toBe(EXPIRES_UNIX);
    expect(parseRfc3339('2027-03-30t19:00:00.999-05:00')).toBe(EXPIRES_UNIX);
    for (const bad of ['2027-03-31', '2027-03-31 00:00:00Z', '2027-02-30T00:00:00Z', '2027-03-31T24:00:00Z', 'yesterday', '1806451200']) {
      expect({ bad, parsed: parseRfc3339(bad) }).toEqual({ bad, parsed: undefined });
    }
  });

  test('the state at a time: disabled wins; expired from the expiry\'s second on', () => {
    expect(peerState({ enabled: true }, EXPIRES_UNIX)).toBe(PeerState.ENABLED);
    expect(peerState({ enabled: true, expiresAt: EXPIRES_UNIX }, EXPIRES_UNIX - 1)).toBe(PeerState.ENABLED);
    expect(peerState({ enabled: true, expiresAt: EXPIRES_UNIX }, EXPIRES_UNIX)).toBe(PeerState.EXPIRED);
    expect(peerState({ enabled: false, expiresAt: EXPIRES_UNIX }, EXPIRES_UNIX + 1)).toBe(PeerState.DISABLED);
  });

  test('the metric names the runtime serves and the alert reads', () => {
    expect(Object.values(PEER_METRICS).map((m) => `${m.name}{${m.labels.join(',')}} ${m.type}`)).toEqual([
      'wireguard_gateway_peer_expiry_timestamp_seconds{public_key,friendly_name} gauge',
      'wireguard_gateway_peer_enabled{public_key,friendly_name} gauge',
      'wireguard_gateway_peer_refused_total{friendly_name,route} counter',
    ]);
    // Valid Prometheus names, and counters end in _total.
    for (const m of Object.values(PEER_METRICS)) {
      expect(m.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(m.name.endsWith('_total')).toBe(m.type === 'counter');
    }
  });
});

describe('the peer', () => {
  test('enabled by default, no expiry; expires reads back as an equal Date, not the same object', () => {
    const gw = gateway();
    const [contractor, suspended, staff] = gw.peers;
    expect([contractor.enabled, suspended.enabled, staff.enabled]).toEqual([true, false, true]);
    expect(contractor.expires).toEqual(EXPIRES);
    expect(contractor.expires).not.toBe(contractor.expires);
    expect(staff.expires).toBeUndefined();
  });

  test('the same instant in any time zone is the same expiry', () => {
    const gw = testGateway();
    const a = gw.addPeer('a', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: new Date('2027-03-31T02:00:00+02:00') });
    expect(a.expires?.toISOString()).toBe('2027-03-31T00:00:00.000Z');
  });
});

describe('a disabled peer is on no interface', () => {
  test('wg0.conf and peers.tsv have no row for it, so init.sh neither routes it nor sets its preshared key', () => {
    const files = configData(synth(gateway()));
    expect(files['wg0.conf']).toContain(`PublicKey = ${PEER_KEYS[0]}`);
    expect(files['wg0.conf']).toContain(`PublicKey = ${PEER_KEYS[2]}`);
    expect(files['wg0.conf']).not.toContain(PEER_KEYS[1]);
    expect(files['wg0.conf']).not.toContain('10.98.0.3');
    expect(files['wg0.conf'].match(/^\[Peer\]$/gm)).toHaveLength(2);
    // init.sh routes and keys (`wg set ... preshared-key` would add the peer back to wg0) the peers of peers.tsv only.
    const rows = files['peers.tsv'].split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split('\t'));
    expect(rows.map(([key, address, psk]) => [key, address, psk])).toEqual([[PEER_KEYS[0], '10.98.0.2', '-'], [PEER_KEYS[2], '10.98.0.4', '-']]);
  });

  test('it stays in connection-info.json, disabled; enabling it again changes only what the agent applies live', () => {
    const disabled = configData(synth(gateway()));
    const info = JSON.parse(disabled['connection-info.json']);
    expect(info.peers.map((p: any) => [p.name, p.enabled, p.expires])).toEqual([
      ['contractor', true, '2027-03-31T00:00:00Z'], ['suspended', false, null], ['staff', true, null],
    ]);
    // The same app with the peer enabled: only live files differ (the pod template's checksum does not).
    const chart = testChart();
    const gw = testGateway({ endpoint: 'vpn.example.com' }, chart);
    gw.addPeer('contractor', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: EXPIRES });
    gw.addPeer('suspended', { publicKey: PEER_KEYS[1], address: '10.98.0.3', presharedKeySecret: kplus.Secret.fromSecretName(chart, 'Psk', 'suspended-psk') });
    gw.addPeer('staff', { publicKey: PEER_KEYS[2], address: '10.98.0.4' });
    gw.addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
    const objects = synth(gw);
    const enabled = configData(objects);
    expect(Object.keys(enabled).filter((f) => enabled[f] !== disabled[f]).sort()).toEqual(['config-id', 'connection-info.json', 'peers.tsv', 'wg0.conf']);
    const template = (o: any[]) => o.find((x) => x.kind === 'Deployment').spec.template;
    expect(template(objects)).toEqual(template(synth(gateway())));
  });
});

describe('documents', () => {
  test('the client file says the state and the expiry in a comment (wg-quick ignores comments)', () => {
    const [contractor, suspended, staff] = gateway().peers;
    expect(contractor.clientConfig()).toContain('\n# Access: enabled until 2027-03-31T00:00:00Z (UNIX 1806451200); from then on the gateway refuses this peer.\n[Interface]\n');
    expect(suspended.clientConfig()).toContain('\n# Access: disabled: the gateway refuses this peer\'s handshakes until it is enabled again.\n[Interface]\n');
    expect(staff.clientConfig()).toContain('\n# Access: enabled, no expiry.\n[Interface]\n');
  });

  test('a disabled peer that also expires says both', () => {
    const gw = testGateway({ endpoint: 'vpn.example.com' });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const p = gw.addPeer('p', { publicKey: PEER_KEYS[0], address: '10.98.0.2', expires: EXPIRES, enabled: false });
    expect(p.clientConfig()).toContain('# Access: disabled: the gateway refuses this peer\'s handshakes until it is enabled again; expires 2027-03-31T00:00:00Z (UNIX 1806451200).\n');
  });
});

describe('the synth never reads the clock', () => {
  afterEach(() => jest.useRealTimers());

  test('the same app gives the same manifests before and after a peer\'s expiry', () => {
    const at = (iso: string) => {
      jest.useFakeTimers({ now: new Date(iso) });
      return Testing.synth(gateway({ podMonitor: true, prometheusRule: true }).node.scope as any);
    };
    const before = JSON.stringify(at('2020-01-01T00:00:00Z'));
    const after = JSON.stringify(at('2031-01-01T00:00:00Z'));
    expect(after).toBe(before);
    expect(before).toContain('2027-03-31T00:00:00Z');
  });
});
