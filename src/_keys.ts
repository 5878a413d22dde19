/**
 * WireGuard key arithmetic: Curve25519 with tweetnacl, byte-compatible with
 * `wg genkey` and `wg pubkey`.
 */
import * as nacl from 'tweetnacl';
import { invalid } from './_errors';

const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True when `value` is the base64 text of exactly 32 bytes, as wg writes keys. */
export function isWireguardKey(value: string): boolean {
  return typeof value === 'string' && KEY_RE.test(value);
}

/** Throws the library's message when `value` is not a WireGuard key. */
export function checkKey(path: string, prop: string, value: string, fix: string): string {
  if (!isWireguardKey(value)) {
    // Never echo what might be a private key: show its shape only.
    const shown = typeof value === 'string' ? `<${value.length} characters>` : value;
    throw invalid(path, prop, shown, 'must be 32 bytes of base64 (44 characters ending in "="), as printed by wg genkey / wg pubkey', fix);
  }
  return value;
}

/** Curve25519 clamping, as `wg genkey` applies it. */
export function clamp(key: Uint8Array): Uint8Array {
  const k = Uint8Array.from(key);
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return k;
}

/** The public key of a base64 private key, like `wg pubkey`. */
export function publicKeyOf(privateKeyBase64: string): string {
  const priv = Buffer.from(privateKeyBase64, 'base64');
  return Buffer.from(nacl.scalarMult.base(Uint8Array.from(priv))).toString('base64');
}

/** A new clamped private key and its public key, like `wg genkey | tee priv | wg pubkey`. */
export function generateKeyPair(): { privateKey: string; publicKey: string } {
  const priv = clamp(nacl.randomBytes(32));
  const privateKey = Buffer.from(priv).toString('base64');
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/**
 * X25519(scalar, u) of RFC 7748, with tweetnacl's scalarMult (which clamps the
 * scalar and ignores the top bit of u). `publicKeyOf` is X25519(key, 9).
 */
export function x25519(scalar: Uint8Array, u: Uint8Array): Uint8Array {
  return nacl.scalarMult(Uint8Array.from(scalar), Uint8Array.from(u));
}
