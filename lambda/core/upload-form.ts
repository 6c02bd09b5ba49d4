import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { credentialsBinding } from './auth.js';
import type { Deps } from './deps.js';
import { REFUSE } from './errors.js';
import { publicBaseUrl, type HttpEvent } from './http.js';
import { STAGING_PREFIX } from './object-keys.js';
import type { Keyring } from './tokens.js';

/**
 * The large-blob lane (DESIGN §6): `uploadForm`, a presigned S3 POST into a fresh staging
 * prefix whose success redirect is our completion endpoint, authorised by a completion token.
 *
 * A completion token is `<keyId>.<expiry>.<base64url principal>.<staging id>.<base64url MAC>`,
 * signed with the upload-URL keyring under its own version tag, so it cannot pass for an
 * upload token (nor the reverse). It binds the staging prefix: a completion may only look at,
 * promote or delete keys the form it came with could have written. Like an upload token, its
 * MAC also covers the credentials in force (auth.ts `credentialsBinding`), so changing them
 * revokes it.
 */

/** The route S3 redirects to once a form upload is stored; the token follows as the last segment. */
const COMPLETION_PATH = '/camli/upload-complete';

export interface UploadForm {
  url: string;
  /** Every field the POST must carry, unchanged, before the `file` part. */
  fields: Record<string, string>;
  maxBlobSize: number;
  expirationSeconds: number;
}

export interface CompletionGrant {
  principal: string;
  /** `staging/<id>/`: the form's only keys. */
  prefix: string;
  expiresAt: number;
}

const VERSION = 'camli-staging-v2';
const STAGING_ID = /^[0-9a-f]{32}$/;

function mac(secret: Buffer, keyId: string, expiresAt: number, principal: string, stagingId: string, binding: string): Buffer {
  // The principal is the only free-form field; every other one has a fixed alphabet without newlines.
  return createHmac('sha256', secret).update(`${VERSION}\n${keyId}\n${expiresAt}\n${stagingId}\n${binding}\n${principal}`).digest();
}

export function mintCompletionToken(keyring: Keyring, principal: string, stagingId: string, expiresAt: number, binding: string): string {
  const key = keyring.current;
  const p = Buffer.from(principal, 'utf8').toString('base64url');
  return `${key.id}.${expiresAt}.${p}.${stagingId}.${mac(key.secret, key.id, expiresAt, principal, stagingId, binding).toString('base64url')}`;
}

export type CompletionCheck = { ok: true; grant: CompletionGrant } | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' };

export function verifyCompletionToken(keyring: Keyring, token: string, nowSeconds: number, binding: string): CompletionCheck {
  const parts = token.split('.');
  if (parts.length !== 5) return { ok: false, reason: 'malformed' };
  const [keyId, exp, p, stagingId, sig] = parts;
  if (!/^[0-9]{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]*$/.test(p) || !STAGING_ID.test(stagingId)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== 32 || given.toString('base64url') !== sig) return { ok: false, reason: 'malformed' };
  const key = keyring.accepted.find((k) => k.id === keyId);
  if (!key) return { ok: false, reason: 'unknown-key' };
  const expiresAt = Number(exp);
  const principal = Buffer.from(p, 'base64url').toString('utf8');
  // Only canonical spellings: no leading zeros, no spare base64url bits, so a token has one form.
  if (String(expiresAt) !== exp || Buffer.from(principal, 'utf8').toString('base64url') !== p) return { ok: false, reason: 'malformed' };
  if (!timingSafeEqual(given, mac(key.secret, keyId, expiresAt, principal, stagingId, binding))) return { ok: false, reason: 'bad-signature' };
  if (expiresAt <= Math.floor(nowSeconds)) return { ok: false, reason: 'expired' };
  return { ok: true, grant: { principal, prefix: `${STAGING_PREFIX}${stagingId}/`, expiresAt } };
}

/** The grant of a completion URL's token; 403 for anything but a valid, unexpired one. */
export async function grantOfCompletionToken(deps: Pick<Deps, 'keyring' | 'nowSeconds' | 'credentials'>, token: string | undefined): Promise<CompletionGrant> {
  if (!token) throw REFUSE.completionUrlMissing();
  const binding = credentialsBinding(await deps.credentials());
  let check = verifyCompletionToken(await deps.keyring(), token, deps.nowSeconds(), binding);
  // A key id we do not know may come from a rotation newer than our cached keys (the loader
  // rate-limits such reloads, so unknown ids from anonymous callers cannot multiply reads).
  if (!check.ok && check.reason === 'unknown-key') check = verifyCompletionToken(await deps.keyring({ refresh: true }), token, deps.nowSeconds(), binding);
  if (!check.ok) {
    const why = check.reason === 'expired' ? 'expired' : check.reason === 'malformed' ? 'malformed' : 'not valid';
    throw REFUSE.completionUrlInvalid(why);
  }
  return check.grant;
}

/**
 * A fresh `uploadForm` for this principal: a new staging prefix, expiring with the upload URL
 * it goes with (`ttl`: that URL's remaining seconds when it is not a fresh one).
 */
export async function freshUploadForm(
  deps: Pick<Deps, 'settings' | 'keyring' | 'nowSeconds' | 'staging' | 'credentials'>,
  event: HttpEvent,
  principal: string,
  ttl = deps.settings.uploadUrlTtlSeconds,
): Promise<{ uploadForm: UploadForm }> {
  const stagingId = randomBytes(16).toString('hex');
  const binding = credentialsBinding(await deps.credentials());
  const token = mintCompletionToken(await deps.keyring(), principal, stagingId, Math.floor(deps.nowSeconds()) + ttl, binding);
  const post = await deps.staging.form({
    prefix: `${STAGING_PREFIX}${stagingId}/`,
    maxSize: deps.settings.maxBlobSize,
    redirect: `${publicBaseUrl(event)}${COMPLETION_PATH}/${token}`,
    expiresInSeconds: ttl,
  });
  return { uploadForm: { url: post.url, fields: post.fields, maxBlobSize: deps.settings.maxBlobSize, expirationSeconds: ttl } };
}
