import type { RouteHandler } from '../core/routing/authorise.js';
import { CAMLI_JSON, json } from '../core/http/http.js';

/** GET /status/status.json, under the statusRoot that discovery advertises. */
export function statusHandler(): RouteHandler<'basic'> {
  return async () => json(200, { version: 'camli-serverless-blobserver', errors: [] }, CAMLI_JSON);
}
