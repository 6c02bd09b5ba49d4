import { authenticate } from './core/auth.js';
import type { Deps } from './core/deps.js';
import { CAMLI_JSON, json, type Handler } from './core/http.js';

/** GET /status/status.json, under the statusRoot that discovery advertises. */
export function statusHandler(deps: Deps): Handler {
  return async (event) => {
    authenticate(event, await deps.credentials());
    return json(200, { version: 'camli-serverless-blobserver', errors: [] }, CAMLI_JSON);
  };
}
