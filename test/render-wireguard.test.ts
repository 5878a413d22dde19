/**
 * wg0.conf, the peers for `wg syncconf` (init.sh checks and applies it: see
 * test/init-sh.test.ts; real wg reads it in test/init-sh.system.test.ts).
 */
import { peer, spec } from './script-cases/pod-config';
import { PEER_KEYS } from './util';
import { renderWgConf } from '../src/_render-wireguard';

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
