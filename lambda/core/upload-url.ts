import type { Deps } from './deps.js';
import { HttpError, publicBaseUrl, type HttpEvent } from './http.js';
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

export async function freshUploadUrl(deps: Deps, event: HttpEvent, principal: string): Promise<UploadUrlFields> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const { token } = mintUploadToken(await deps.keyring(), principal, deps.nowSeconds(), ttl);
  return {
    maxUploadSize: deps.settings.maxUploadSize,
    uploadUrl: `${publicBaseUrl(event)}/camli/upload/${token}`,
    uploadUrlExpirationSeconds: ttl,
    ...(await freshUploadForm(deps, event, principal)),
  };
}

/** Checks an upload token and returns its principal; 403 for anything but a valid, unexpired one. */
export async function principalOfUploadToken(deps: Deps, token: string | undefined): Promise<string> {
  if (!token) throw new HttpError(403, 'upload URL token missing');
  let check = verifyUploadToken(await deps.keyring(), token, deps.nowSeconds());
  // A key id we do not know may come from a rotation newer than our cached keys: reload once.
  if (!check.ok && check.reason === 'unknown-key') {
    check = verifyUploadToken(await deps.keyring({ refresh: true }), token, deps.nowSeconds());
  }
  if (!check.ok) {
    const why = { malformed: 'malformed', 'unknown-key': 'not valid', 'bad-signature': 'not valid', expired: 'expired' }[check.reason];
    throw new HttpError(403, `upload URL is ${why}; ask /camli/preupload for a new one`);
  }
  return check.principal;
}
