import type { Authorisation } from './authorisation.js';
import { claimedCredentialId, identify, isCredentialPrincipal, OWNER_ID, ANONYMOUS, type Caller } from '../auth/auth.js';
import type { Deps } from '../deps.js';
import { REFUSE } from '../http/errors.js';
import type { Handler, HttpEvent, HttpResult } from '../http/http.js';
import { namespaceLabel } from '../namespace.js';
import { allows, OWNER_SCOPE, type Operation } from '../scopes.js';
import { CALLERS } from './callers.js';
import { grantOfCompletionToken, type CompletionGrant } from '../upload/upload-form.js';
import { verifyUploadGrant, type UploadGrant } from '../upload/upload-url.js';

/** What each kind of authorisation yields to the handler: the caller, or the verified token's grant. */
export interface Granted {
  basic: Caller;
  uploadToken: UploadGrant;
  completionToken: CompletionGrant;
}

/** An authorisation's outcome: whose request it is (the router checks the route's operations against its scope), and what the handler gets. */
export interface Authorised<A extends Authorisation> {
  caller: Caller;
  granted: Granted[A];
}

/** Each authorisation's check; throws the 401/403 HttpError, or yields the caller and what it granted. */
export const AUTHORISE: { [A in Authorisation]: (deps: Deps, event: HttpEvent) => Promise<Authorised<A>> } = {
  basic: async (deps, event) => {
    const caller = await identify(event, await deps.credentials(), deps.callers);
    return { caller, granted: caller };
  },
  uploadToken: async (deps, event) => {
    const granted = await verifyUploadGrant(deps, tokenAsSent(event));
    return { caller: await tokenCaller(deps, granted.principal, 'upload URL'), granted };
  },
  completionToken: async (deps, event) => {
    const granted = await grantOfCompletionToken(deps, tokenAsSent(event));
    return { caller: await tokenCaller(deps, granted.principal, 'upload completion URL'), granted };
  },
};

/**
 * The caller a verified token acts for. A token carries its credential's id (its principal,
 * under the MAC), so a URL dies with its credential: the credential is looked up (cached, within
 * the revocation bound) and must still be usable; the router then checks it may still write here.
 */
async function tokenCaller(deps: Deps, principal: string, what: 'upload URL' | 'upload completion URL'): Promise<Caller> {
  const owner = await deps.credentials();
  if (!isCredentialPrincipal(principal, owner)) return { credentialId: owner ? OWNER_ID : ANONYMOUS, principal, scope: OWNER_SCOPE };
  const check = await deps.callers.usable(principal);
  if (!check.ok) throw REFUSE.tokenCredentialRefused(what, principal, check.reason === 'unknown' ? 'unknown' : check.reason);
  const { record } = check;
  return { credentialId: record.id, principal, scope: { namespaces: record.namespaces, operations: record.operations }, record };
}

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
 * A route's handler behind its authorisation and its operations: the only place credentials,
 * tokens and scopes are checked, once, with the request's namespace (`deps.namespace`), before
 * the handler runs, so no endpoint can forget to. `needs`: the route's operations, any one of
 * which will do (none: any operation in the namespace; scopes.ts `allows`).
 */
export function authorised<A extends Authorisation>(auth: A, needs: readonly Operation[], deps: Deps, handler: RouteHandler<A>): Handler {
  const authorise = AUTHORISE[auth] as (deps: Deps, event: HttpEvent) => Promise<Authorised<A>>;
  return async (event) => {
    const claimed = claimedCredentialId(event);
    if (claimed) CALLERS.set(event, claimed);
    const { caller, granted } = await authorise(deps, event);
    CALLERS.set(event, caller.credentialId);
    if (!allows(caller.scope, needs, deps.namespace)) {
      const permission = needs.length ? needs.join(' or ') : 'any';
      const where = needs.includes('admin') ? 'on this deployment' : `in ${namespaceLabel(deps.namespace)}`;
      throw REFUSE.permissionMissing(caller.credentialId, permission, where);
    }
    return handler(event, granted);
  };
}
