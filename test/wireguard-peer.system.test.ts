/**
 * System tier: a peer's client file, read by the real wg-quick.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY, testGateway } from './util';

describe('WireguardPeer client configuration', () => {
  test('with an explicit private key, the file is accepted by real wg (wg-quick strip)', () => {
    const gw = testGateway({ endpoint: 'vpn.example.com' });
    const laptop = gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, address: '10.99.0.1' });
    const dir = mkdtempSync(join(tmpdir(), 'wggw-client-'));
    const file = join(dir, 'wgtest0.conf');
    writeFileSync(file, laptop.clientConfig({ privateKey: TEST_SERVER_PRIVATE_KEY }), { mode: 0o600 });
    const stripped = execFileSync('wg-quick', ['strip', file], { encoding: 'utf-8' });
    expect(stripped).toContain(`PrivateKey = ${TEST_SERVER_PRIVATE_KEY}`);
    expect(stripped).toContain('Endpoint = vpn.example.com:51820');
    expect(stripped).not.toContain('Address');
  });
});
