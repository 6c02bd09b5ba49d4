import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS, authenticate, type Credentials } from '../../lambda/core/auth/auth.js';
import { HttpError } from '../../lambda/core/http/errors.js';
import type { HttpEvent } from '../../lambda/core/http/http.js';

const EXPECTED: Credentials = { username: 'alice', password: 'correct horse: battery staple' };

const withAuthorization = (value?: string): HttpEvent => ({ headers: value === undefined ? {} : { authorization: value } }) as unknown as HttpEvent;
const basic = (userpass: string, scheme = 'Basic') => `${scheme} ${Buffer.from(userpass, 'utf8').toString('base64')}`;

function assertChallenged(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.status, 401);
    assert.match(err.headers['www-authenticate'] ?? '', /^Basic realm="[^"]+"$/);
    return true;
  });
}

describe('HTTP Basic authentication', () => {
  it('accepts the right credentials (the password has a colon: user ends at the first one) and names the user', () => {
    assert.equal(authenticate(withAuthorization(basic('alice:correct horse: battery staple')), EXPECTED), 'alice');
  });

  it('refuses the part of the password before its colon', () => {
    assertChallenged(() => authenticate(withAuthorization(basic('alice:correct horse')), EXPECTED));
  });

  it('accepts a lower-case scheme name', () => {
    assert.equal(authenticate(withAuthorization(basic('alice:correct horse: battery staple', 'basic')), EXPECTED), 'alice');
  });

  const refused: Record<string, string | undefined> = {
    'no Authorization header': undefined,
    'wrong password': basic('alice:wrong'),
    'wrong user': basic('bob:correct horse: battery staple'),
    'password as user': basic('correct horse: battery staple:alice'),
    'empty password': basic('alice:'),
    'no colon': basic('alice'),
    'password with a trailing space': basic('alice:correct horse: battery staple '),
    'Bearer scheme': 'Bearer abc',
    'Basic without credentials': 'Basic',
    'non-base64 credentials': 'Basic ***',
  };
  for (const [why, header] of Object.entries(refused)) {
    it(`answers ${why} with 401 and a WWW-Authenticate challenge`, () => {
      assertChallenged(() => authenticate(withAuthorization(header), EXPECTED));
    });
  }

  it('finds the header whatever its case', () => {
    const event = { headers: { Authorization: basic('alice:correct horse: battery staple') } } as unknown as HttpEvent;
    assert.equal(authenticate(event, EXPECTED), 'alice');
  });

  it('lets everyone in as anonymous when no credentials are configured', () => {
    assert.equal(authenticate(withAuthorization(), undefined), ANONYMOUS);
    assert.equal(authenticate(withAuthorization(basic('x:y')), undefined), ANONYMOUS);
  });
});
