import * as kplus from 'cdk8s-plus-27';
import { WireguardKey } from '../src';
import { TEST_SERVER_PRIVATE_KEY, TEST_SERVER_PUBLIC_KEY, synth, testChart, testGateway } from './util';

describe('WireguardKey', () => {
  test('fromBase64 derives the public key like wg pubkey, and defines a Secret in the gateway namespace', () => {
    const key = WireguardKey.fromBase64(TEST_SERVER_PRIVATE_KEY);
    expect(key.publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
    const gw = testGateway({ privateKey: key, namespace: 'vpn' });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const secrets = synth(gw).filter((o) => o.kind === 'Secret');
    expect(secrets).toHaveLength(1);
    expect(secrets[0].metadata.namespace).toBe('vpn');
    expect(secrets[0].stringData).toEqual({ 'private-key': TEST_SERVER_PRIVATE_KEY });
  });

  test('fromSecret keeps the given public key and references the Secret', () => {
    const chart = testChart();
    const key = WireguardKey.fromSecret(kplus.Secret.fromSecretName(chart, 'S', 'wg-key'), 'private-key', TEST_SERVER_PUBLIC_KEY);
    expect(key.publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
    expect(testGateway({ privateKey: key }, chart).privateKeySecret.name).toBe('wg-key');
  });

  test('fails if fromSecret is given a bad public key or Secret key', () => {
    const chart = testChart();
    const secret = kplus.Secret.fromSecretName(chart, 'S', 'wg-key');
    expect(() => testGateway({ privateKey: WireguardKey.fromSecret(secret, 'private-key', 'nope') }, chart)).toThrow(
      'test/gw: invalid privateKey publicKey "<4 characters>": must be 32 bytes of base64');
    expect(() => testGateway({ privateKey: WireguardKey.fromSecret(secret, 'a/b', TEST_SERVER_PUBLIC_KEY) }, testChart())).toThrow(
      'invalid privateKey key "a/b": a Secret key is made of letters, digits, "-", "_" and "."');
  });
});
