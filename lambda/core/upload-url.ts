import { credentialsBinding } from './auth.js';
import type { Deps } from './deps.js';
import { REFUSE } from './errors.js';
import { publicBaseUrl, type HttpEvent } from './http.js';
import { mintUploadToken, verifyUploadToken } from './tokens.js';
import { freshUploadForm, type UploadForm } from './upload-form.js';

/** The upload-URL fields every preupload and upload answer carries. */
export interface UploadUrlFields {
  maxUploadSize: number;
  uploadUrl: string;
  uploadUrlExpirationSeconds: number;
  /** The large-blob lane (DESIGN §6), offered wherever an upload URL is. */
  uploadForm: UploadForm;
}

/** A verified upload-URL token: who it acts for and until when. */
export interface UploadGrant {
  principal: string;
  token: string;
  expiresAt: number;
}

/** The answer's URL fields: the upload URL, and an `uploadForm` expiring with it (never later). */
async function uploadUrlFields(deps: Deps, event: HttpEvent, principal: string, token: string, seconds: number): Promise<UploadUrlFields> {
  return {
    maxUploadSize: deps.settings.maxUploadSize,
    uploadUrl: `${publicBaseUrl(event)}/camli/upload/${token}`,
    uploadUrlExpirationSeconds: seconds,
    ...(await freshUploadForm(deps, event, principal, seconds)),
  };
}

/** A newly minted URL, bound to the credentials in force now. */
export async function freshUploadUrl(deps: Deps, event: HttpEvent, principal: string): Promise<UploadUrlFields> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const binding = credentialsBinding(await deps.credentials());
  const { token } = mintUploadToken(await deps.keyring(), principal, deps.nowSeconds(), ttl, binding);
  return uploadUrlFields(deps, event, principal, token, ttl);
}

/**
 * The URL the request came in on, with the seconds it has left: what an upload that stored
 * nothing answers, so a URL is never extended without being used to store something (its
 * `uploadForm` expires with it too).
 */
export async function sameUploadUrl(deps: Deps, event: HttpEvent, grant: UploadGrant): Promise<UploadUrlFields> {
  return uploadUrlFields(deps, event, grant.principal, grant.token, Math.max(0, grant.expiresAt - Math.floor(deps.nowSeconds())));
}

/** Checks an upload token; 403 for anything but a valid, unexpired one minted under the current credentials. */
export async function verifyUploadGrant(deps: Deps, token: string | undefined): Promise<UploadGrant> {
  if (!token) throw REFUSE.uploadUrlMissing();
  const binding = credentialsBinding(await deps.credentials());
  let check = verifyUploadToken(await deps.keyring(), token, deps.nowSeconds(), binding);
  // A key id we do not know may come from a rotation newer than our cached keys. The loader
  // rate-limits such reloads, so unknown ids from anonymous callers cannot multiply reads.
  if (!check.ok && check.reason === 'unknown-key') {
    check = verifyUploadToken(await deps.keyring({ refresh: true }), token, deps.nowSeconds(), binding);
  }
  if (!check.ok) {
    const why = ({ malformed: 'malformed', 'unknown-key': 'not valid', 'bad-signature': 'not valid', expired: 'expired' } as const)[check.reason];
    throw REFUSE.uploadUrlInvalid(why);
  }
  return { principal: check.principal, token, expiresAt: check.expiresAt };
}
