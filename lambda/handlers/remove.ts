import type { RouteHandler } from '../core/routing/authorise.js';
import { formParams, parseBlobList } from '../core/http/blob-form.js';
import type { Deps } from '../core/deps.js';
import { REFUSE } from '../core/http/errors.js';
import { CAMLI_JSON, json } from '../core/http/http.js';

/**
 * POST /camli/remove with `blob1..N` (Perkeep's client sends no camliversion): refused with
 * 403 unless removal is enabled by configuration.
 */
export function removeHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    // Perkeep's client reports `error` from a refused remove; our clients read `errorText`.
    if (!deps.settings.allowRemove) {
      const refusal = REFUSE.removalDisabled();
      return json(403, { ...refusal.toJSON(), error: refusal.message }, 'application/json', refusal.headers);
    }
    const refs = parseBlobList(formParams(event), { requireVersion: false });
    const { removed, errors } = await deps.storage.removeBlobs(refs);
    return json(200, { removed, ...(errors.length ? { errorText: errors.join('\n') } : {}) }, CAMLI_JSON);
  };
}
