import * as kplus from 'cdk8s-plus-27';
import { WireguardKey } from '../src';
import { TEST_SERVER_PRIVATE_KEY, TEST_SERVER_PUBLIC_KEY, findObject, synth, testChart, testGateway } from './util';

describe('WireguardKey', () => {
  test('unsafeFromBase64 derives the public key like wg pubkey, and defines a Secret named after the gateway', () => {
    // GIVEN
    const key = WireguardKey.unsafeFromBase64(TEST_SERVER_PRIVATE_KEY);
    expect(key.publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
    const gw = testGateway({ privateKey: key, namespace: 'vpn' });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    // WHEN
    const secrets = synth(gw).filter((o) => o.kind === 'Secret');
    // THEN
    expect(secrets).toHaveLength(1);
    expect(secrets[0].metadata).toMatchObject({ name: 'gw', namespace: 'vpn', labels: { 'app.kubernetes.io/instance': 'gw' } });
    expect(secrets[0].stringData).toEqual({ 'private-key': TEST_SERVER_PRIVATE_KEY });
  });

  test('fromBase64 is the deprecated name of unsafeFromBase64', () => {
    expect(WireguardKey.fromBase64(TEST_SERVER_PRIVATE_KEY).publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
  });

  test('fromSecretName references the Secret by name, with "private-key" as the default key', () => {
    // GIVEN
    const gw = testGateway({ privateKey: WireguardKey.fromSecretName('wg-key', { publicKey: TEST_SERVER_PUBLIC_KEY }) });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    // WHEN
    const objects = synth(gw);
    // THEN no Secret is defined; the pod mounts the named one
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(gw.publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
    expect(gw.privateKeySecret.name).toBe('wg-key');
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === 'private-key').secret.items).toEqual([{ key: 'private-key', path: 'private-key' }]);
  });

  test('fromSecret takes a kplus.ISecret and a named key', () => {
    const chart = testChart();
    const key = WireguardKey.fromSecret(kplus.Secret.fromSecretName(chart, 'S', 'wg-key'), { publicKey: TEST_SERVER_PUBLIC_KEY, key: 'wg.key' });
    const gw = testGateway({ privateKey: key }, chart);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    expect(gw.privateKeySecret.name).toBe('wg-key');
    const pod = findObject(synth(gw), 'Deployment').spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === 'private-key').secret.items).toEqual([{ key: 'wg.key', path: 'private-key' }]);
  });

  test('fails if fromSecret or fromSecretName is given a bad public key, Secret key or Secret name', () => {
    const chart = testChart();
    const secret = kplus.Secret.fromSecretName(chart, 'S', 'wg-key');
    expect(() => testGateway({ privateKey: WireguardKey.fromSecret(secret, { publicKey: 'nope' }) }, chart)).toThrow(
      'test/gw: invalid privateKey publicKey "<4 characters>": must be 32 bytes of base64');
    expect(() => testGateway({ privateKey: WireguardKey.fromSecret(secret, { publicKey: TEST_SERVER_PUBLIC_KEY, key: 'a/b' }) }, testChart())).toThrow(
      'invalid privateKey key "a/b": a Secret key is made of letters, digits, "-", "_" and "."');
    expect(() => testGateway({ privateKey: WireguardKey.fromSecretName('WG Key', { publicKey: TEST_SERVER_PUBLIC_KEY }) })).toThrow(
      'test/gw: invalid privateKey secretName "WG Key": must be a DNS subdomain');
  });
});
