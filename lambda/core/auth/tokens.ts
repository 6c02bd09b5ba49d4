import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TokenProblem } from '../http/errors.js';
import { ROOT_NAMESPACE, type Namespace } from '../namespace.js';

/**
 * Signed, expiring capabilities: upload-URL tokens here, and the upload form's completion
 * tokens (upload-form.ts), both from the same two functions, `mintToken` and `verifyToken`.
 *
 * A token is `<keyId>.<expiry unix seconds>.<base64url principal>[.<field>...].<base64url
 * HMAC-SHA256>`, where a kind of token may carry fixed-alphabet fields of its own. The MAC
 * covers the kind's version tag (so one kind never passes for another), the key id, the expiry,
 * those fields, a binding to the credentials in force when it was minted (never sent: the
 * verifier supplies the current one) and the principal, so none can be changed without the key,
 * and changing the credentials revokes every token. A token minted for a named namespace is
 * signed under its kind's version tag with `@<name>` appended (scopedKind), so it verifies only
 * at that namespace's URLs: the namespace is signed, never sent (the verifier takes it from the
 * URL path), and the root namespace's tokens are exactly what they always were. Tokens name their key, so a rotated-out key
 * keeps verifying the tokens it signed for as long as it stays in the keyring. Every field has
 * exactly one accepted spelling.
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

/** What tokens are minted under: the keyring, and the binding to the credentials in force. */
export interface TokenSigner {
  keyring: Keyring;
  binding: string;
}

/** A kind of token: its MAC's version tag, and the alphabet of each field of its own, in order. */
export interface TokenKind {
  version: string;
  fields: readonly RegExp[];
}

export type TokenFailure = { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' };
export type TokenCheck = { ok: true; principal: string; expiresAt: number; keyId: string } | TokenFailure;

/** How an answer names a refused token: forged and signed-by-a-key-we-lack are alike "not valid". */
export function tokenProblem(reason: TokenFailure['reason']): TokenProblem {
  return reason === 'expired' || reason === 'malformed' ? reason : 'not valid';
}

export const UPLOAD_TOKEN: TokenKind = { version: 'camli-upload-v2', fields: [] };
const MAC_BYTES = 32;

/**
 * The kind of token for one namespace: the root namespace's kind unchanged, a named namespace's
 * with `@<name>` on its version tag (a name has no newline, so MAC inputs stay unambiguous).
 */
export function scopedKind(kind: TokenKind, ns: Namespace): TokenKind {
  return ns.name ? { version: `${kind.version}@${ns.name}`, fields: kind.fields } : kind;
}
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
  return { current: accepted[0]!, accepted };
}

function mac(kind: TokenKind, key: SigningKey, expiresAt: number, fields: readonly string[], binding: string, principal: string): Buffer {
  // The principal is the last, free-form field; every other one has a fixed alphabet without newlines.
  return createHmac('sha256', key.secret)
    .update([kind.version, key.id, String(expiresAt), ...fields, binding, principal].join('\n'))
    .digest();
}

/** A token of `kind` for `principal` until `expiresAt`, signed with the current key; `binding` names the credentials in force (see credentialsBinding). */
export function mintToken(kind: TokenKind, keyring: Keyring, principal: string, expiresAt: number, binding: string, fields: readonly string[] = []): string {
  if (fields.length !== kind.fields.length || fields.some((f, i) => !kind.fields[i]!.test(f))) throw new Error(`${kind.version}: fields do not fit the kind`);
  const key = keyring.current;
  const p = Buffer.from(principal, 'utf8').toString('base64url');
  return [key.id, expiresAt, p, ...fields, mac(kind, key, expiresAt, fields, binding, principal).toString('base64url')].join('.');
}

/** Checks a token of `kind`: its one canonical spelling, its key, its MAC under `binding`, then its expiry. */
export function verifyToken(
  kind: TokenKind,
  keyring: Keyring,
  token: string,
  nowSeconds: number,
  binding: string,
): (TokenCheck & { ok: true; fields: string[] }) | TokenFailure {
  const parts = token.split('.');
  if (parts.length !== 4 + kind.fields.length) return { ok: false, reason: 'malformed' };
  const [keyId, exp, p] = parts as [string, string, string];
  const fields = parts.slice(3, -1);
  const sig = parts[parts.length - 1]!;
  if (
    !KEY_ID.test(keyId) ||
    !EXPIRY.test(exp) ||
    !/^[A-Za-z0-9_-]*$/.test(p) ||
    !/^[A-Za-z0-9_-]+$/.test(sig) ||
    fields.some((f, i) => !kind.fields[i]!.test(f))
  ) {
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
  if (!timingSafeEqual(given, mac(kind, key, expiresAt, fields, binding, principal))) return { ok: false, reason: 'bad-signature' };
  // Checked after the MAC so a forged token never learns whether its expiry would have passed.
  if (expiresAt <= Math.floor(nowSeconds)) return { ok: false, reason: 'expired' };
  return { ok: true, principal, expiresAt, keyId, fields };
}

export function mintUploadToken(
  keyring: Keyring,
  principal: string,
  nowSeconds: number,
  ttlSeconds: number,
  /** Names the credentials in force (see credentialsBinding); a token verifies only under the same. */
  binding: string,
  /** The namespace whose URLs it opens (scopedKind). */
  ns: Namespace = ROOT_NAMESPACE,
): { token: string; expiresAt: number } {
  const expiresAt = Math.floor(nowSeconds) + ttlSeconds;
  return { token: mintToken(scopedKind(UPLOAD_TOKEN, ns), keyring, principal, expiresAt, binding), expiresAt };
}

export function verifyUploadToken(keyring: Keyring, token: string, nowSeconds: number, binding: string, ns: Namespace = ROOT_NAMESPACE): TokenCheck {
  const check = verifyToken(scopedKind(UPLOAD_TOKEN, ns), keyring, token, nowSeconds, binding);
  if (!check.ok) return check;
  const { principal, expiresAt, keyId } = check;
  return { ok: true, principal, expiresAt, keyId };
}
