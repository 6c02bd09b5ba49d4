import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REFUSE } from '../../lambda/core/http/errors.js';
import type { HttpEvent, HttpResult } from '../../lambda/core/http/http.js';
import { createRouter } from '../../lambda/core/routing/router.js';
import { createLogger } from '../../lambda/core/telemetry.js';

const event = (routeKey: string) => ({ routeKey, requestContext: { requestId: 'req-1' } }) as unknown as HttpEvent;
const body = (r: HttpResult) => JSON.parse(r.body as string) as { errorText: string; code?: string };

describe('the router answers refusals from the catalogue', () => {
  const router = createRouter(
    {
      'GET /auth': async () => {
        throw REFUSE.authenticationRequired();
      },
      'GET /boom': async () => {
        throw new Error('secret internals');
      },
    },
    { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) },
  );

  it('as JSON errorText with a stable code, the status and the refusal headers', async () => {
    const r = await router(event('GET /auth'));
    assert.equal(r.statusCode, 401);
    assert.deepEqual(body(r), { errorText: 'authentication required (HTTP Basic)', code: 'authentication_required' });
    assert.equal(r.headers?.['www-authenticate'], 'Basic realm="camlistore"');
  });

  it('an unknown route as 404 no_such_endpoint', async () => {
    const r = await router(event('GET /nowhere'));
    assert.equal(r.statusCode, 404);
    assert.equal(body(r).code, 'no_such_endpoint');
  });

  it('any other failure as 500 internal_error with the request id, never its internals', async () => {
    const r = await router(event('GET /boom'));
    assert.equal(r.statusCode, 500);
    assert.deepEqual(body(r), { errorText: 'internal server error (request id req-1)', code: 'internal_error' });
  });
});
