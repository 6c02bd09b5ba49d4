import { credentialsBinding } from '../auth/auth.js';
import type { Deps } from '../deps.js';
import { REFUSE } from '../http/errors.js';
import { publicBaseUrl, type HttpEvent } from '../http/http.js';
import { verifyWithKeyReload } from '../auth/keyring-source.js';
import { mintUploadToken, tokenProblem, verifyUploadToken, type TokenSigner } from '../auth/tokens.js';
import { freshUploadForm, type UploadForm } from './upload-form.js';
import { namespacePath } from '../namespace.js';

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

/** The keys and credentials binding in force, read once for everything one answer mints. */
async function currentSigner(deps: Pick<Deps, 'keyring' | 'credentials'>): Promise<TokenSigner> {
  const [keyring, credentials] = await Promise.all([deps.keyring(), deps.credentials()]);
  return { keyring, binding: credentialsBinding(credentials) };
}

/** The answer's URL fields: the upload URL, and an `uploadForm` expiring with it (never later). */
async function uploadUrlFields(deps: Deps, event: HttpEvent, principal: string, token: string, seconds: number, signer: TokenSigner): Promise<UploadUrlFields> {
  return {
    maxUploadSize: deps.settings.maxUploadSize,
    uploadUrl: `${publicBaseUrl(event)}${namespacePath(deps.namespace)}/camli/upload/${token}`,
    uploadUrlExpirationSeconds: seconds,
    ...(await freshUploadForm(deps, event, principal, signer, seconds)),
  };
}

/** A newly minted URL, bound to the credentials in force now. */
export async function freshUploadUrl(deps: Deps, event: HttpEvent, principal: string): Promise<UploadUrlFields> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const signer = await currentSigner(deps);
  const { token } = mintUploadToken(signer.keyring, principal, deps.nowSeconds(), ttl, signer.binding, deps.namespace);
  return uploadUrlFields(deps, event, principal, token, ttl, signer);
}

/**
 * The URL the request came in on, with the seconds it has left: what an upload that stored
 * nothing answers, so a URL is never extended without being used to store something (its
 * `uploadForm` expires with it too).
 */
export async function sameUploadUrl(deps: Deps, event: HttpEvent, grant: UploadGrant): Promise<UploadUrlFields> {
  const seconds = Math.max(0, grant.expiresAt - Math.floor(deps.nowSeconds()));
  return uploadUrlFields(deps, event, grant.principal, grant.token, seconds, await currentSigner(deps));
}

/** Checks an upload token; 403 for anything but a valid, unexpired one minted under the current credentials. */
export async function verifyUploadGrant(deps: Deps, token: string | undefined): Promise<UploadGrant> {
  if (!token) throw REFUSE.uploadUrlMissing();
  const binding = credentialsBinding(await deps.credentials());
  const check = await verifyWithKeyReload(deps.keyring, (keys) => verifyUploadToken(keys, token, deps.nowSeconds(), binding, deps.namespace));
  if (!check.ok) throw REFUSE.uploadUrlInvalid(tokenProblem(check.reason));
  return { principal: check.principal, token, expiresAt: check.expiresAt };
}
