import type { S3Client } from '@aws-sdk/client-s3';

/**
 * A presigned S3 URL or POST works only while the credentials that signed it are valid,
 * whatever expiry it names: in Lambda those are the role's session credentials. So nothing we
 * hand out may promise longer than they live: an uploadForm (and the completion URL that goes
 * with it), a GET redirect. The SDK refreshes expiring credentials before it hands them out
 * (its default providers renew them minutes ahead), so the cap rarely bites; when it does, the
 * client is told the truth and asks again sooner.
 */

/** `wantedSeconds`, cut to the whole seconds left before `expiration` (none: not cut); at least 1. */
export function cappedLifetime(wantedSeconds: number, nowMs: number, expiration?: Date): number {
  if (!expiration) return wantedSeconds;
  const left = Math.floor((expiration.getTime() - nowMs) / 1000);
  return Math.max(1, Math.min(wantedSeconds, left));
}

/** When the credentials `client` signs with now expire (undefined: long-lived keys). */
export async function signingExpiration(client: S3Client): Promise<Date | undefined> {
  return (await client.config.credentials()).expiration;
}

/** `wantedSeconds`, capped at the life left in the credentials `client` signs with now. */
export async function signingLifetime(client: S3Client, wantedSeconds: number, nowMs: number = Date.now()): Promise<number> {
  return cappedLifetime(wantedSeconds, nowMs, await signingExpiration(client));
}
