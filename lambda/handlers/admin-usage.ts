import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { json } from '../core/http/http.js';
import { namespaceId, namespaceNamed } from '../core/routing/namespace-of.js';
import type { Usage } from '../core/storage/usage.js';

/** One namespace's line of the usage answer: counters and limits (absent: none). */
export function usageEntry(id: string, u: Usage) {
  return {
    namespace: id,
    bytes: u.bytes,
    blobs: u.blobs,
    ...(u.maxBytes !== undefined ? { maxBytes: u.maxBytes } : {}),
    ...(u.maxBlobs !== undefined ? { maxBlobs: u.maxBlobs } : {}),
  };
}

/**
 * GET /admin/usage[?namespace=N] (admin): bytes and blobs each namespace holds, with its limits;
 * every namespace that has stored anything or has a limit, or the one named (`/`: the root),
 * zeros for one that never stored anything. Strongly consistent reads of the usage records.
 */
export function adminUsageHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    const only = new URLSearchParams(event.rawQueryString ?? '').get('namespace');
    if (only !== null) {
      const ns = namespaceNamed(only);
      return json(200, { usage: [usageEntry(namespaceId(ns), await deps.usageTable.ledger(ns).read())] });
    }
    const all = await deps.usageTable.list();
    return json(200, { usage: all.map((r) => usageEntry(namespaceId(r.namespace), r.usage)) });
  };
}
