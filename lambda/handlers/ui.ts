import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';

/**
 * GET /ui: the browser page (DESIGN §10), one self-contained document (its script and its
 * hashing worker inline), so it works under any stage prefix. Behind the same credentials as
 * everything else: the browser asks for them (the 401 carries a Basic challenge).
 */
export function uiHandler(deps: Deps): RouteHandler<'basic'> {
  return async () => ({
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Inline script, a blob: worker and its WebAssembly hasher only; fetches to this origin and (upload forms, S3 GETs) anywhere.
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval' blob:; worker-src blob:; style-src 'unsafe-inline'; connect-src *; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    },
    body: await deps.uiPage(),
  });
}
