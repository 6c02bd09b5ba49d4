import { createHmac, randomBytes } from 'node:crypto';
import { credentialUnusable, type CredentialRecord } from '../scopes.js';
import { REVOCATION_BOUND_SECONDS } from '../limits.js';
import { secretMatches } from './credential-secrets.js';

export { REVOCATION_BOUND_SECONDS };

/** Past this many entries a map starts again (a flood of made-up ids or secrets cannot grow memory). */
const MAX_ENTRIES = 10_000;

export type CredentialCheck = { ok: true; record: CredentialRecord } | { ok: false; reason: 'unknown' | 'wrong-secret' | 'revoked' | 'expired' };

/**
 * Credential rows with at most one DynamoDB read per id per `ttlSeconds` and instance, and the
 * slow hash run at most once per (id, secret, stored hash) and instance. The verified results
 * are keyed by an HMAC of id and secret under a key made for this instance and never stored, so
 * the secret is kept nowhere in clear, and the cache holds nothing a guesser could test offline.
 *
 * The revocation bound (limits.ts, REVOCATION_BOUND_SECONDS) is `ttlSeconds`: a row read before
 * a revoke's write is used for less than `ttlSeconds` after it was read, and reads are strongly
 * consistent, so a row read after the write shows it. Expiry needs no read: it is checked
 * against the clock on every use.
 */
export class CredentialCache {
  private readonly rows = new Map<string, { record: CredentialRecord | undefined; readAt: number }>();
  private readonly verified = new Map<string, { hash: string; ok: boolean }>();
  private readonly cacheKey = randomBytes(32);
  /** Slow hashes run (the bench and the tests count them). */
  hashesRun = 0;

  constructor(
    private readonly lookup: (id: string) => Promise<CredentialRecord | undefined>,
    private readonly nowSeconds: () => number,
    readonly ttlSeconds = REVOCATION_BOUND_SECONDS,
  ) {
    if (!(ttlSeconds > 0 && ttlSeconds <= REVOCATION_BOUND_SECONDS)) throw new Error(`credential cache lifetime must be in (0, ${REVOCATION_BOUND_SECONDS}] s`);
  }

  /**
   * The row of `id`, read again once the cached one is `ttlSeconds` old. Unknown ids are not
   * cached, so a credential made a moment ago works at once (each such request costs one read).
   */
  async record(id: string): Promise<CredentialRecord | undefined> {
    const now = this.nowSeconds();
    const cached = this.rows.get(id);
    if (cached && now - cached.readAt < this.ttlSeconds) return cached.record;
    const record = await this.lookup(id);
    if (this.rows.size >= MAX_ENTRIES) this.rows.clear();
    if (record) this.rows.set(id, { record, readAt: now });
    else this.rows.delete(id);
    return record;
  }

  /** Forget `id`'s row (the function that revoked it need not wait for the bound). */
  forget(id: string): void {
    this.rows.delete(id);
  }

  /** The credential `id` presented with `secret`: known, the secret right, not revoked, not expired. */
  async authenticate(id: string, secret: string): Promise<CredentialCheck> {
    const record = await this.record(id);
    if (!record) return { ok: false, reason: 'unknown' };
    const key = createHmac('sha256', this.cacheKey).update(id).update('\0').update(secret).digest('base64url');
    let seen = this.verified.get(key);
    if (!seen || seen.hash !== record.hash) {
      this.hashesRun++;
      seen = { hash: record.hash, ok: await secretMatches(secret, record.hash) };
      if (this.verified.size >= MAX_ENTRIES) this.verified.clear();
      this.verified.set(key, seen);
    }
    if (!seen.ok) return { ok: false, reason: 'wrong-secret' };
    // Only a caller who knows the secret learns that it was revoked or has expired.
    const unusable = credentialUnusable(record, this.nowSeconds());
    return unusable ? { ok: false, reason: unusable } : { ok: true, record };
  }

  /** The credential a token names (no secret: the token's MAC vouches for it), if still usable. */
  async usable(id: string): Promise<CredentialCheck> {
    const record = await this.record(id);
    if (!record) return { ok: false, reason: 'unknown' };
    const unusable = credentialUnusable(record, this.nowSeconds());
    return unusable ? { ok: false, reason: unusable } : { ok: true, record };
  }
}
