import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring upload-URL capabilities.
 *
 * A token is `<keyId>.<expiry unix seconds>.<base64url principal>.<base64url HMAC-SHA256>`.
 * The MAC covers a version tag, the key id, the expiry, the principal and a binding to the
 * credentials in force when it was minted (never sent: the verifier supplies the current one),
 * so none can be changed without the key, and changing the credentials revokes every URL.
 * Tokens name their key, so a rotated-out key keeps verifying the tokens it signed for as
 * long as it stays in the keyring. Every field has exactly one accepted spelling.
 */

export interface SigningKey {
  id: string;
  secret: Buffer;
}

export interface Keyring {
  /** The key new tokens are signed with. */
  current: SigningKey;
  /** Every key a token may be verified with, current first (current + previous after a rotation). */
  accepted: SigningKey[];
}

export type TokenCheck =
  | { ok: true; principal: string; expiresAt: number; keyId: string }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' };

const VERSION = 'camli-upload-v2';
const MAC_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Decimal without leading zeros: `0123` would otherwise verify as `123`. */
const EXPIRY = /^(0|[1-9][0-9]{0,11})$/;

/** A key id derived from the key material, so every process agrees on it without extra state. */
export function keyIdFor(secret: Buffer): string {
  return 'k' + createHash('sha256').update(secret).digest('hex').slice(0, 12);
}

export function signingKey(secret: Buffer): SigningKey {
  return { id: keyIdFor(secret), secret };
}

export function keyringOf(secrets: Buffer[]): Keyring {
  if (secrets.length === 0) throw new Error('a keyring needs at least one key');
  const accepted = secrets.map(signingKey);
  return { current: accepted[0], accepted };
}

function mac(key: SigningKey, expiresAt: number, principal: string, binding: string): Buffer {
  // The principal is the last, free-form field; the binding is a fixed-alphabet tag before it.
  return createHmac('sha256', key.secret)
    .update(`${VERSION}\n${key.id}\n${expiresAt}\n${binding}\n${principal}`)
    .digest();
}

export function mintUploadToken(
  keyring: Keyring,
  principal: string,
  nowSeconds: number,
  ttlSeconds: number,
  /** Names the credentials in force (see credentialsBinding); a token verifies only under the same. */
  binding: string,
): { token: string; expiresAt: number } {
  const key = keyring.current;
  const expiresAt = Math.floor(nowSeconds) + ttlSeconds;
  const p = Buffer.from(principal, 'utf8').toString('base64url');
  const sig = mac(key, expiresAt, principal, binding).toString('base64url');
  return { token: `${key.id}.${expiresAt}.${p}.${sig}`, expiresAt };
}

export function verifyUploadToken(keyring: Keyring, token: string, nowSeconds: number, binding: string): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'malformed' };
  const [keyId, exp, p, sig] = parts;
  if (!KEY_ID.test(keyId) || !EXPIRY.test(exp) || !/^[A-Za-z0-9_-]*$/.test(p) || !/^[A-Za-z0-9_-]+$/.test(sig)) {
    return { ok: false, reason: 'malformed' };
  }
  const given = Buffer.from(sig, 'base64url');
  // Only the canonical spelling: base64url decoding ignores a last character's spare bits.
  if (given.length !== MAC_BYTES || given.toString('base64url') !== sig) return { ok: false, reason: 'malformed' };
  const key = keyring.accepted.find((k) => k.id === keyId);
  if (!key) return { ok: false, reason: 'unknown-key' };
  const expiresAt = Number(exp);
  const principal = Buffer.from(p, 'base64url').toString('utf8');
  // Canonical principal too: spare bits, or bytes that are not UTF-8, would decode to the same string.
  if (Buffer.from(principal, 'utf8').toString('base64url') !== p) return { ok: false, reason: 'malformed' };
  // Constant-time: the comparison must not reveal how many leading MAC bytes were right.
  if (!timingSafeEqual(given, mac(key, expiresAt, principal, binding))) return { ok: false, reason: 'bad-signature' };
  // Checked after the MAC so a forged token never learns whether its expiry would have passed.
  if (expiresAt <= Math.floor(nowSeconds)) return { ok: false, reason: 'expired' };
  return { ok: true, principal, expiresAt, keyId };
}
