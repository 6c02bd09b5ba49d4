import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { REFUSE } from '../core/http/errors.js';
import { bodyBytes, json } from '../core/http/http.js';
import { namespaceId, namespaceNamed } from '../core/routing/namespace-of.js';
import { usageEntry } from './admin-usage.js';

/** A limit as sent: a whole number of bytes or blobs, null to clear it, absent to leave it. */
function limitOf(body: Record<string, unknown>, key: 'maxBytes' | 'maxBlobs'): number | null | undefined {
  const v = body[key];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw REFUSE.invalidQuota(`${key} must be a whole number (0 or more), or null to clear it; got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return v;
}

/**
 * POST /admin/quotas (admin), JSON `{namespace, maxBytes?, maxBlobs?}`: sets (a number) or
 * clears (null) a namespace's limits; a limit left out is unchanged. Answers the namespace's
 * usage with its new limits. A limit below the usage is allowed: uploads are refused (507) until
 * removals bring it under.
 */
export function adminQuotasHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    let body: unknown;
    try {
      body = JSON.parse(bodyBytes(event).toString('utf8'));
    } catch {
      throw REFUSE.invalidQuota('expected a JSON object {"namespace": ..., "maxBytes": ..., "maxBlobs": ...}');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw REFUSE.invalidQuota('expected a JSON object');
    const fields = body as Record<string, unknown>;
    if (typeof fields['namespace'] !== 'string') throw REFUSE.invalidQuota('namespace is required: a namespace name, or "/" for the root');
    const unknown = Object.keys(fields).filter((k) => !['namespace', 'maxBytes', 'maxBlobs'].includes(k));
    if (unknown.length) throw REFUSE.invalidQuota(`unknown field ${JSON.stringify(unknown[0]).slice(0, 60)}: only namespace, maxBytes and maxBlobs`);
    const ns = namespaceNamed(fields['namespace']);
    const usage = await deps.usageTable.ledger(ns).setLimits({ maxBytes: limitOf(fields, 'maxBytes'), maxBlobs: limitOf(fields, 'maxBlobs') });
    deps.log.info('quota set', { namespace: namespaceId(ns), maxBytes: usage.maxBytes, maxBlobs: usage.maxBlobs });
    return json(200, usageEntry(namespaceId(ns), usage));
  };
}
