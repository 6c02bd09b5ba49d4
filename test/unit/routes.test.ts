import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readConfig } from '../../lambda/core/config.js';
import { createDeps } from '../../lambda/core/deps.js';
import { createReadSide } from '../../lambda/read.js';
import { ROUTES, routeKey } from '../../lambda/routes.js';
import { createWriteSide } from '../../lambda/write.js';
import { toEvent } from '../../local/event.js';

/**
 * ROUTES is what the CDK stack turns into API Gateway routes and what the local server
 * matches: every entry must be served by the router of its side, and by that side only.
 */
describe('ROUTES and the two routers', () => {
  // No metrics: the routers would print an EMF line per request (telemetry.test.ts checks what they record).
  const deps = createDeps(
    readConfig({ BLOBSERVER_AUTH: 'userpass:alice:secret', BLOBSERVER_SIGNING_KEY_FILE: '/nonexistent/keys.json', POWERTOOLS_METRICS_DISABLED: 'true' }),
  );
  const sides = { read: createReadSide(deps), write: createWriteSide(deps) };
  // Without credentials every handler refuses before touching storage; the router's own
  // answer for an unknown route key is 404 "no such endpoint".
  const answer = async (side: 'read' | 'write', route: (typeof ROUTES)[number]) => {
    const path = route.path.replace('{blobref}', 'sha1-' + '0'.repeat(40)).replace('{token}', 'not-a-token');
    const e = toEvent({ method: route.method, url: path, headers: { host: 'x' }, body: Buffer.alloc(0), sourceIp: '127.0.0.1' }, { route, pathParameters: {} });
    e.routeKey = routeKey(route);
    return sides[side](e);
  };

  for (const route of ROUTES) {
    it(`${routeKey(route)} is handled by the ${route.side} side only`, async () => {
      const own = await answer(route.side, route);
      assert.doesNotMatch(String(own.body), /no such endpoint/, `${routeKey(route)} is not registered on the ${route.side} side`);
      assert.ok(own.statusCode === 401 || own.statusCode === 403, `${routeKey(route)}: ${own.statusCode} ${own.body}`);
      const other = await answer(route.side === 'read' ? 'write' : 'read', route);
      assert.equal(other.statusCode, 404);
      assert.match(String(other.body), /no such endpoint/);
    });
  }

  it("keeps DESIGN's split: uploads (and their completion), remove, credential changes and quotas write, everything else reads", () => {
    const writes = ROUTES.filter((r) => r.side === 'write')
      .map(routeKey)
      .sort();
    const rootWrites = ['GET /camli/upload-complete/{token}', 'POST /camli/remove', 'POST /camli/upload', 'POST /camli/upload/{token}'];
    // The same in every namespace (DESIGN §12).
    const nsWrites = rootWrites.map((k) => k.replace(' /', ' /{namespace}/'));
    // Adding and revoking credentials writes rows (docs/security.md), setting a quota the usage record; the admin routes are the root's alone.
    const adminWrites = ['POST /admin/credentials', 'POST /admin/credentials/{id}/revoke', 'POST /admin/quotas'];
    assert.deepEqual(writes, [...rootWrites, ...nsWrites, ...adminWrites].sort());
  });
});
