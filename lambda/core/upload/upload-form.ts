import { randomBytes } from 'node:crypto';
import { credentialsBinding } from '../auth/auth.js';
import type { Deps } from '../deps.js';
import { REFUSE } from '../http/errors.js';
import { publicBaseUrl, type HttpEvent } from '../http/http.js';
import { STAGING_PREFIX } from '../storage/object-keys.js';
import { namespacePath, ROOT_NAMESPACE, type Namespace } from '../namespace.js';
import { verifyWithKeyReload } from '../auth/keyring-source.js';
import { mintToken, scopedKind, tokenProblem, verifyToken, type Keyring, type TokenFailure, type TokenKind, type TokenSigner } from '../auth/tokens.js';

/**
 * The large-blob lane (DESIGN §6): `uploadForm`, a presigned S3 POST into a fresh staging
 * prefix whose success redirect is our completion endpoint, authorised by a completion token.
 *
 * A completion token is a kind of token of its own (tokens.ts): `<keyId>.<expiry>.<base64url
 * principal>.<staging id>.<base64url MAC>`, signed with the upload-URL keyring under its own
 * version tag, so it cannot pass for an upload token (nor the reverse). It binds the staging
 * prefix: a completion may only look at, promote or delete keys the form it came with could have
 * written. Like an upload token, its MAC covers the credentials in force, so changing them
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

const COMPLETION_TOKEN: TokenKind = { version: 'camli-staging-v2', fields: [/^[0-9a-f]{32}$/] };

/** `ns`: the namespace whose completion URL it opens (tokens.ts, scopedKind): the staged blob becomes that namespace's. */
export function mintCompletionToken(
  keyring: Keyring,
  principal: string,
  stagingId: string,
  expiresAt: number,
  binding: string,
  ns: Namespace = ROOT_NAMESPACE,
): string {
  return mintToken(scopedKind(COMPLETION_TOKEN, ns), keyring, principal, expiresAt, binding, [stagingId]);
}

export type CompletionCheck = { ok: true; grant: CompletionGrant } | TokenFailure;

export function verifyCompletionToken(keyring: Keyring, token: string, nowSeconds: number, binding: string, ns: Namespace = ROOT_NAMESPACE): CompletionCheck {
  const check = verifyToken(scopedKind(COMPLETION_TOKEN, ns), keyring, token, nowSeconds, binding);
  if (!check.ok) return check;
  return { ok: true, grant: { principal: check.principal, prefix: `${STAGING_PREFIX}${check.fields[0]}/`, expiresAt: check.expiresAt } };
}

/** The grant of a completion URL's token; 403 for anything but a valid, unexpired one. */
export async function grantOfCompletionToken(
  deps: Pick<Deps, 'keyring' | 'nowSeconds' | 'credentials' | 'namespace'>,
  token: string | undefined,
): Promise<CompletionGrant> {
  if (!token) throw REFUSE.completionUrlMissing();
  const binding = credentialsBinding(await deps.credentials());
  const check = await verifyWithKeyReload(deps.keyring, (keys) => verifyCompletionToken(keys, token, deps.nowSeconds(), binding, deps.namespace));
  if (!check.ok) throw REFUSE.completionUrlInvalid(tokenProblem(check.reason));
  return check.grant;
}

/**
 * A fresh `uploadForm` for this principal: a new staging prefix, expiring with the upload URL
 * it goes with (`wanted`: that URL's remaining seconds when it is not a fresh one), or sooner
 * when the credentials that sign it expire sooner. Its completion URL outlives the form by
 * `completionGraceSeconds`: a POST S3 accepted just before the form expired may take that long
 * to arrive, and its bytes must still be completed.
 */
export async function freshUploadForm(
  deps: Pick<Deps, 'settings' | 'nowSeconds' | 'staging' | 'namespace'>,
  event: HttpEvent,
  principal: string,
  /** The keys and credentials binding of the upload URL it goes with (read once per answer). */
  signer: TokenSigner,
  wanted = deps.settings.uploadUrlTtlSeconds,
): Promise<{ uploadForm: UploadForm }> {
  // The form dies with the credentials that sign it, and its completion URL with it.
  const ttl = await deps.staging.formLifetime(wanted, deps.nowSeconds() * 1000);
  const stagingId = randomBytes(16).toString('hex');
  const token = mintCompletionToken(
    signer.keyring,
    principal,
    stagingId,
    Math.floor(deps.nowSeconds()) + ttl + deps.settings.completionGraceSeconds,
    signer.binding,
    deps.namespace,
  );
  const post = await deps.staging.form({
    prefix: `${STAGING_PREFIX}${stagingId}/`,
    maxSize: deps.settings.maxBlobSize,
    redirect: `${publicBaseUrl(event)}${namespacePath(deps.namespace)}${COMPLETION_PATH}/${token}`,
    expiresInSeconds: ttl,
  });
  return { uploadForm: { url: post.url, fields: post.fields, maxBlobSize: deps.settings.maxBlobSize, expirationSeconds: ttl } };
}
