import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { json } from '../core/http/http.js';
import { grantName, operationsIn } from '../core/scopes.js';

/**
 * GET /camli/credential (and `/<name>/camli/credential`): what the caller's credential may do,
 * so a client (the page) offers only that: its id and label, its scope, its expiry, and the
 * operations it has in this namespace. Never a secret or a hash.
 */
export function credentialHandler(deps: Deps): RouteHandler<'basic'> {
  return async (_event, caller) =>
    json(200, {
      id: caller.credentialId,
      ...(caller.record ? { label: caller.record.label } : {}),
      namespaces: caller.scope.namespaces,
      operations: caller.scope.operations,
      ...(caller.record?.expiresAt !== undefined ? { expiresAt: new Date(caller.record.expiresAt * 1000).toISOString() } : {}),
      namespace: grantName(deps.namespace),
      here: operationsIn(caller.scope, deps.namespace),
    });
}
