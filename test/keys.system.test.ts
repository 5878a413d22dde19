/**
 * System tier: src/_keys.ts against the real `wg` (wireguard-tools): the same
 * public keys, the same keys accepted and refused.
 */
import { execFileSync } from 'child_process';
import { clamp, generateKeyPair, isWireguardKey, publicKeyOf } from '../src/_keys';

const b64 = (h: string) => Buffer.from(h, 'hex').toString('base64');
const wgPubkey = (privateKey: string) => execFileSync('wg', ['pubkey'], { input: privateKey + '\n', encoding: 'utf-8', stdio: 'pipe' }).trim();

describe('the real wg agrees', () => {
  test('on the RFC 7748 keys', () => {
    expect(wgPubkey(b64('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))).toBe(b64('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'));
    expect(wgPubkey(b64('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))).toBe(b64('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'));
  });

  test('on generateKeyPair\'s keys', () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = generateKeyPair();
      expect(wgPubkey(privateKey)).toBe(publicKey);
    }
  });

  test('on an unclamped key: wg pubkey clamps too', () => {
    const raw = Buffer.alloc(32, 0xff).toString('base64');
    expect(wgPubkey(raw)).toBe(publicKeyOf(raw));
    expect(wgPubkey(Buffer.from(clamp(Buffer.alloc(32, 0xff))).toString('base64'))).toBe(publicKeyOf(raw));
  });

  test('isWireguardKey accepts what wg genkey and wg pubkey print', () => {
    const priv = execFileSync('wg', ['genkey'], { encoding: 'utf-8' }).trim();
    expect(isWireguardKey(priv)).toBe(true);
    expect(isWireguardKey(wgPubkey(priv))).toBe(true);
  });

  test('isWireguardKey rejects the same non-canonical key as wg pubkey does', () => {
    const bad = 'A'.repeat(42) + 'B=';
    expect(isWireguardKey(bad)).toBe(false);
    expect(() => wgPubkey(bad)).toThrow();
  });
});
