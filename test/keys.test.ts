/**
 * src/_keys.ts: Curve25519 with tweetnacl, checked against RFC 7748. The
 * system tier checks it against the real `wg` too (test/keys.system.test.ts).
 */
import { clamp, generateKeyPair, isWireguardKey, publicKeyOf, x25519 } from '../src/_keys';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (h: string) => Buffer.from(h, 'hex').toString('base64');

describe('RFC 7748 section 5.2: X25519 scalar multiplication', () => {
  test.each([
    ['vector 1',
      'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
      'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
    // Its u has the top bit set, which X25519 must ignore.
    ['vector 2',
      '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
      'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
      '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'],
  ])('%s', (_name, scalar, u, expected) => {
    // GIVEN the RFC's scalar and u-coordinate WHEN multiplied THEN the RFC's output
    expect(toHex(x25519(hex(scalar), hex(u)))).toBe(expected);
  });

  // The 1,000-iteration value takes tweetnacl about 40 s under jest: only the first iteration here.
  test('iterated, after 1 iteration', () => {
    // GIVEN k = u = 9
    const nine = hex('09'.padEnd(64, '0'));
    // WHEN k = X25519(k, u)
    const k = x25519(nine, nine);
    // THEN the RFC's value
    expect(toHex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
  });
});

describe('RFC 7748 section 6.1: Diffie-Hellman', () => {
  const alicePrivate = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
  const alicePublic = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
  const bobPrivate = '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb';
  const bobPublic = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

  test('publicKeyOf gives Alice\'s and Bob\'s public keys (scalarMult.base)', () => {
    expect(publicKeyOf(b64(alicePrivate))).toBe(b64(alicePublic));
    expect(publicKeyOf(b64(bobPrivate))).toBe(b64(bobPublic));
  });

  test('both sides derive the same shared secret', () => {
    expect(toHex(x25519(hex(alicePrivate), hex(bobPublic)))).toBe(shared);
    expect(toHex(x25519(hex(bobPrivate), hex(alicePublic)))).toBe(shared);
  });
});

describe('generateKeyPair', () => {
  test('gives a clamped key and its public key', () => {
    for (let i = 0; i < 20; i++) {
      // WHEN
      const { privateKey, publicKey } = generateKeyPair();
      // THEN
      const bytes = Buffer.from(privateKey, 'base64');
      expect(bytes).toHaveLength(32);
      expect(bytes[0] & 7).toBe(0);
      expect(bytes[31] & 0xc0).toBe(0x40);
      expect(isWireguardKey(privateKey)).toBe(true);
      expect(isWireguardKey(publicKey)).toBe(true);
      expect(publicKeyOf(privateKey)).toBe(publicKey);
    }
  });

  test('never repeats', () => {
    const keys = new Set(Array.from({ length: 20 }, () => generateKeyPair().privateKey));
    expect(keys.size).toBe(20);
  });
});

describe('clamp', () => {
  test('clears the low 3 bits and the top bit, sets bit 254, like wg genkey', () => {
    const clamped = clamp(new Uint8Array(32).fill(0xff));
    expect(clamped[0]).toBe(0xf8);
    expect(clamped[31]).toBe(0x7f);
    expect(Array.from(clamped.slice(1, 31)).every((b) => b === 0xff)).toBe(true);
    expect(clamp(new Uint8Array(32))[31]).toBe(0x40);
  });

  test('does not change its input', () => {
    const input = new Uint8Array(32).fill(0xff);
    clamp(input);
    expect(input[0]).toBe(0xff);
  });

  test('an unclamped key has the public key of its clamped form (wg pubkey clamps too)', () => {
    const raw = Buffer.alloc(32, 0xff).toString('base64');
    const clamped = Buffer.from(clamp(Buffer.alloc(32, 0xff))).toString('base64');
    expect(publicKeyOf(raw)).toBe(publicKeyOf(clamped));
  });
});

describe('isWireguardKey', () => {
  test.each([
    ['empty', ''],
    ['too short', 'AAAA'],
    ['43 characters without padding', 'A'.repeat(43)],
    ['45 characters', 'A'.repeat(43) + '=='],
    ['a non-canonical last character (low bits set)', 'A'.repeat(42) + 'B='],
    ['not base64', '!'.repeat(43) + '='],
    ['a trailing newline', 'A'.repeat(43) + '=\n'],
  ])('rejects %s', (_name, value) => {
    expect(isWireguardKey(value)).toBe(false);
  });
});
