import type { Authorisation } from './authorisation.js';
import { authenticate } from '../auth/auth.js';
import type { Deps } from '../deps.js';
import type { Handler, HttpEvent, HttpResult } from '../http/http.js';
import { grantOfCompletionToken, type CompletionGrant } from '../upload/upload-form.js';
import { verifyUploadGrant, type UploadGrant } from '../upload/upload-url.js';

/** What each kind of authorisation yields to the handler: the principal, or the verified token's grant. */
export interface Granted {
  basic: string;
  uploadToken: UploadGrant;
  completionToken: CompletionGrant;
}

/** Each authorisation's check; throws the 401/403 HttpError, or yields what it granted. */
export const AUTHORISE: { [A in Authorisation]: (deps: Deps, event: HttpEvent) => Promise<Granted[A]> } = {
  basic: async (deps, event) => authenticate(event, await deps.credentials()),
  uploadToken: (deps, event) => verifyUploadGrant(deps, tokenAsSent(event)),
  completionToken: (deps, event) => grantOfCompletionToken(deps, tokenAsSent(event)),
};

/**
 * The path's token as the client spelled it. A token has one accepted spelling and its
 * alphabet needs no escaping, so a percent-encoded one (`%2E` for a dot), which the route's
 * decoded parameter would hide, is verified as sent and refused as malformed.
 */
function tokenAsSent(event: HttpEvent): string | undefined {
  const token = event.pathParameters?.['token'];
  const sent = event.rawPath?.split('/').pop();
  return sent !== undefined && token !== undefined && sent !== token ? sent : token;
}

/** An endpoint's code: runs only once its route's authorisation has granted `granted`. */
export type RouteHandler<A extends Authorisation> = (event: HttpEvent, granted: Granted[A]) => Promise<HttpResult>;

/**
 * A route's handler behind its authorisation: the only place credentials and tokens are
 * checked, so no endpoint can forget to.
 */
export function authorised<A extends Authorisation>(auth: A, deps: Deps, handler: RouteHandler<A>): Handler {
  const authorise = AUTHORISE[auth] as (deps: Deps, event: HttpEvent) => Promise<Parameters<RouteHandler<A>>[1]>;
  return async (event) => handler(event, await authorise(deps, event));
}
