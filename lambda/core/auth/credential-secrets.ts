import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Credentials' ids and secrets (docs/security.md). A secret is 256 random bits, shown once when
 * the credential is made; the server keeps only its scrypt hash (node:crypto's, which is
 * OpenSSL's), so a copy of the table does not give anyone a usable secret. scrypt is slow on
 * purpose; credential-cache.ts makes sure it runs once per warm function and secret, never per request.
 */

/** scrypt's cost: N=2^14, r=8 (16 MiB, tens of milliseconds), p=1; stored with each hash so it can be raised later. */
const COST = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function derive(secret: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };
  return new Promise((ok, fail) => scrypt(secret, salt, KEY_BYTES, options, (err, key) => (err ? fail(err) : ok(key))));
}

/** A new credential's id (not secret: it names the credential in logs and lists). */
export function newCredentialId(): string {
  return `cred-${randomBytes(10).toString('hex')}`;
}

/** A new secret: 256 random bits in base64url (no `:`, so `userpass:ID:SECRET` parses). */
export function newCredentialSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** `scrypt$N$r$p$<salt>$<hash>`. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(secret, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `secret` is the one `stored` was made from; false for a hash it cannot read. */
export async function secretMatches(secret: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$([0-9]+)\$([0-9]+)\$([0-9]+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounded, so a tampered row cannot make a request allocate gigabytes.
  if (N > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const key = await derive(secret, Buffer.from(m[4]!, 'base64url'), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
