import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { pageContentSecurityPolicy } from '../core/http/ui-page.js';

/**
 * GET /ui: the browser page (DESIGN §10), one self-contained document (its script and its
 * hashing worker inline), so it works under any stage prefix. Behind the same credentials as
 * everything else: the browser asks for them (the 401 carries a Basic challenge).
 */
export function uiHandler(deps: Deps): RouteHandler<'basic'> {
  return async () => {
    const page = await deps.uiPage();
    // The bucket's origin as the page will meet it: that of a URL signed here (no request is made).
    const bucketOrigin = new URL(await deps.storage.store.presignedGetUrl('blobs/', 60)).origin;
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': pageContentSecurityPolicy(page, bucketOrigin),
        'x-content-type-options': 'nosniff',
      },
      body: page,
    };
  };
}
