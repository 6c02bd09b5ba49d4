import { credentialsBinding } from './auth.js';
import type { Deps } from './deps.js';
import { HttpError, publicBaseUrl, type HttpEvent } from './http.js';
import { mintUploadToken, verifyUploadToken } from './tokens.js';

/** The upload-URL fields every preupload and upload answer carries. */
export interface UploadUrlFields {
  maxUploadSize: number;
  uploadUrl: string;
  uploadUrlExpirationSeconds: number;
}

/** A verified upload-URL token: who it acts for and until when. */
export interface UploadGrant {
  principal: string;
  token: string;
  expiresAt: number;
}

function uploadUrlFields(deps: Pick<Deps, 'settings'>, event: HttpEvent, token: string, seconds: number): UploadUrlFields {
  return {
    maxUploadSize: deps.settings.maxUploadSize,
    uploadUrl: `${publicBaseUrl(event)}/camli/upload/${token}`,
    uploadUrlExpirationSeconds: seconds,
  };
}

/** A newly minted URL, bound to the credentials in force now. */
export async function freshUploadUrl(deps: Deps, event: HttpEvent, principal: string): Promise<UploadUrlFields> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const binding = credentialsBinding(await deps.credentials());
  const { token } = mintUploadToken(await deps.keyring(), principal, deps.nowSeconds(), ttl, binding);
  return uploadUrlFields(deps, event, token, ttl);
}

/**
 * The URL the request came in on, with the seconds it has left: what an upload that stored
 * nothing answers, so a URL is never extended without being used to store something.
 */
export function sameUploadUrl(deps: Pick<Deps, 'settings' | 'nowSeconds'>, event: HttpEvent, grant: UploadGrant): UploadUrlFields {
  return uploadUrlFields(deps, event, grant.token, Math.max(0, grant.expiresAt - Math.floor(deps.nowSeconds())));
}

/** Checks an upload token; 403 for anything but a valid, unexpired one minted under the current credentials. */
export async function verifyUploadGrant(deps: Deps, token: string | undefined): Promise<UploadGrant> {
  if (!token) throw new HttpError(403, 'upload URL token missing');
  const binding = credentialsBinding(await deps.credentials());
  let check = verifyUploadToken(await deps.keyring(), token, deps.nowSeconds(), binding);
  // A key id we do not know may come from a rotation newer than our cached keys. The loader
  // rate-limits such reloads, so unknown ids from anonymous callers cannot multiply reads.
  if (!check.ok && check.reason === 'unknown-key') {
    check = verifyUploadToken(await deps.keyring({ refresh: true }), token, deps.nowSeconds(), binding);
  }
  if (!check.ok) {
    const why = { malformed: 'malformed', 'unknown-key': 'not valid', 'bad-signature': 'not valid', expired: 'expired' }[check.reason];
    throw new HttpError(403, `upload URL is ${why}; ask /camli/preupload for a new one`);
  }
  return { principal: check.principal, token, expiresAt: check.expiresAt };
}
