import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identify } from '../../lambda/core/auth/auth.js';
import { CredentialCache, REVOCATION_BOUND_SECONDS } from '../../lambda/core/auth/credential-cache.js';
import { HttpError } from '../../lambda/core/http/errors.js';
import type { HttpEvent } from '../../lambda/core/http/http.js';
import { hashSecret, newCredentialId, newCredentialSecret, secretMatches } from '../../lambda/core/auth/credential-secrets.js';
import { namedNamespace, ROOT_NAMESPACE } from '../../lambda/core/namespace.js';
import { allows, CREDENTIAL_ID, OWNER_SCOPE, scopeProblem, type CredentialRecord } from '../../lambda/core/scopes.js';
import { MemoryCredentialRows } from '../../lambda/core/storage/credential-rows.js';

/** A cache over in-memory rows with a clock the test moves (no sleeping). */
async function fixture(ttl = REVOCATION_BOUND_SECONDS) {
  let now = 1_000_000;
  const rows = new MemoryCredentialRows();
  const cache = new CredentialCache(
    (id) => rows.get(id),
    () => now,
    ttl,
  );
  const secret = newCredentialSecret();
  const record: CredentialRecord = {
    id: newCredentialId(),
    label: 'phone',
    namespaces: ['photos'],
    operations: ['write'],
    createdAt: now,
    hash: await hashSecret(secret),
  };
  await rows.add(record);
  return { rows, cache, secret, record, advance: (s: number) => (now += s), now: () => now };
}

describe('credential secrets', () => {
  it('ids have their shape, secrets 256 random bits, and only the right secret matches its scrypt hash', async () => {
    const id = newCredentialId();
    assert.match(id, CREDENTIAL_ID);
    const secret = newCredentialSecret();
    assert.equal(Buffer.from(secret, 'base64url').length, 32);
    assert.ok(!secret.includes(':'));
    const hash = await hashSecret(secret);
    assert.match(hash, /^scrypt\$16384\$8\$1\$/);
    assert.ok(!hash.includes(secret));
    assert.equal(await secretMatches(secret, hash), true);
    assert.equal(await secretMatches(newCredentialSecret(), hash), false);
    assert.equal(await secretMatches(secret, 'sha256$whatever'), false);
    // A row asking for an absurd cost is refused, not computed.
    assert.equal(await secretMatches(secret, hash.replace('16384', String(2 ** 30))), false);
  });
});

describe('the credential cache (the revocation bound)', () => {
  it('reads a row at most once per lifetime and runs the slow hash once per secret', async () => {
    const { rows, cache, secret, record, advance } = await fixture();
    for (let i = 0; i < 20; i++) {
      assert.equal((await cache.authenticate(record.id, secret)).ok, true);
      advance(1);
    }
    assert.equal(rows.reads, 1, 'one read for 20 requests within the lifetime');
    assert.equal(cache.hashesRun, 1);
    advance(REVOCATION_BOUND_SECONDS);
    assert.equal((await cache.authenticate(record.id, secret)).ok, true);
    assert.equal(rows.reads, 2, 'read again once the cached row is as old as the bound');
    assert.equal(cache.hashesRun, 1, 'the verified result is kept across re-reads of an unchanged row');
  });

  it('a wrong secret is refused, and trying it again costs no second slow hash', async () => {
    const { cache, record } = await fixture();
    assert.deepEqual(await cache.authenticate(record.id, 'guess'), { ok: false, reason: 'wrong-secret' });
    assert.deepEqual(await cache.authenticate(record.id, 'guess'), { ok: false, reason: 'wrong-secret' });
    assert.equal(cache.hashesRun, 1);
    assert.deepEqual(await cache.authenticate('cred-00000000000000000000', 'x'), { ok: false, reason: 'unknown' });
  });

  it('a revocation holds within the bound: used until the cached row is 60 s old, refused from then on', async () => {
    const { rows, cache, secret, record, advance, now } = await fixture();
    assert.equal((await cache.authenticate(record.id, secret)).ok, true); // cached now
    const readAt = now();
    advance(5);
    await rows.revoke(record.id, now());
    // The worst case: a row read just before the revoke is used until it is REVOCATION_BOUND_SECONDS old.
    advance(REVOCATION_BOUND_SECONDS - 5 - 0.001);
    assert.equal((await cache.authenticate(record.id, secret)).ok, true, 'stale within the stated bound');
    assert.equal((await cache.usable(record.id)).ok, true);
    advance(0.001);
    assert.equal(now() - readAt, REVOCATION_BOUND_SECONDS);
    assert.deepEqual(await cache.authenticate(record.id, secret), { ok: false, reason: 'revoked' });
    assert.deepEqual(await cache.usable(record.id), { ok: false, reason: 'revoked' }, 'upload and completion URLs name the credential: refused too');
  });

  it('a shorter lifetime (BLOBSERVER_CREDENTIAL_CACHE_SECONDS) is a shorter bound; a longer one is refused', async () => {
    const { rows, cache, record, advance, now } = await fixture(5);
    assert.equal((await cache.usable(record.id)).ok, true);
    await rows.revoke(record.id, now());
    advance(4.999);
    assert.equal((await cache.usable(record.id)).ok, true);
    advance(0.001);
    assert.equal((await cache.usable(record.id)).ok, false);
    assert.throws(
      () =>
        new CredentialCache(
          async () => undefined,
          () => 0,
          REVOCATION_BOUND_SECONDS + 1,
        ),
    );
  });

  it('an expired credential is refused at its expiry, with no read: the clock is checked on every use', async () => {
    const { rows, cache, secret, record, advance, now } = await fixture();
    rows.rows.get(record.id)!.expiresAt = now() + 10;
    assert.equal((await cache.authenticate(record.id, secret)).ok, true);
    advance(10);
    assert.deepEqual(await cache.authenticate(record.id, secret), { ok: false, reason: 'expired' });
    assert.equal(rows.reads, 1);
  });

  it('forget drops a row at once (the revoking function does not wait for the bound)', async () => {
    const { rows, cache, record, now } = await fixture();
    assert.equal((await cache.usable(record.id)).ok, true);
    await rows.revoke(record.id, now());
    cache.forget(record.id);
    assert.deepEqual(await cache.usable(record.id), { ok: false, reason: 'revoked' });
  });
});

describe('scopes', () => {
  const photos = namedNamespace('photos');
  it('checks operations per namespace; `/` is the root namespace, `*` every namespace', () => {
    const phone = { namespaces: ['photos'], operations: ['write'] as const };
    assert.equal(allows(phone, ['write'], photos), true);
    assert.equal(allows(phone, ['read'], photos), false);
    assert.equal(allows(phone, ['read', 'write'], photos), true, 'stat: read or write');
    assert.equal(allows(phone, ['write'], ROOT_NAMESPACE), false);
    assert.equal(allows(phone, [], photos), true);
    assert.equal(allows(phone, [], namedNamespace('other')), false);
    assert.equal(allows({ namespaces: ['/'], operations: ['read'] }, ['read'], ROOT_NAMESPACE), true);
    assert.equal(allows({ namespaces: ['/'], operations: ['read'] }, ['read'], photos), false);
    assert.equal(allows(OWNER_SCOPE, ['admin'], ROOT_NAMESPACE), true);
    assert.equal(allows({ namespaces: ['*'], operations: ['read', 'write'] }, ['remove'], photos), false);
  });

  it('refuses a malformed scope, and admin over anything but every namespace', () => {
    assert.equal(scopeProblem(['photos', '/'], ['read', 'write']), undefined);
    assert.equal(scopeProblem(['*'], ['admin']), undefined);
    assert.match(scopeProblem([], ['read'])!, /at least one/);
    assert.match(scopeProblem(['Photos'], ['read'])!, /not a namespace name/);
    assert.match(scopeProblem(['camli'], ['read'])!, /reserved/);
    assert.match(scopeProblem(['photos'], ['fly'])!, /"fly" is not one of/);
    assert.match(scopeProblem(['photos'], ['admin'])!, /admin is over every namespace/);
  });
});

describe('who a request is from (identify)', () => {
  const withBasic = (user?: string, pass = '') =>
    ({ headers: user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } }) as unknown as HttpEvent;
  const owner = { username: 'alice', password: 'pw' };

  it('the owner is admin over everything; a stored credential has its own scope; a wrong secret is a 401 without the reason', async () => {
    const { cache, secret, record } = await fixture();
    const o = await identify(withBasic('alice', 'pw'), owner, cache);
    assert.deepEqual([o.credentialId, o.principal, o.scope], ['owner', 'alice', OWNER_SCOPE]);
    const c = await identify(withBasic(record.id, secret), owner, cache);
    assert.deepEqual([c.credentialId, c.principal, c.scope.namespaces, c.scope.operations], [record.id, record.id, ['photos'], ['write']]);
    await assert.rejects(
      identify(withBasic(record.id, 'nope'), owner, cache),
      (e: unknown) => e instanceof HttpError && e.status === 401 && e.message === 'invalid credentials',
    );
  });

  it("an owner whose user name has a credential id's shape is still the owner", async () => {
    const { cache } = await fixture();
    const odd = { username: 'cred-0123456789abcdef0123', password: 'pw' };
    assert.equal((await identify(withBasic(odd.username, 'pw'), odd, cache)).credentialId, 'owner');
  });

  it('an open server takes no credentials as the owner, and a stored credential as itself (scopes can be tried there)', async () => {
    const { cache, secret, record } = await fixture();
    assert.equal((await identify(withBasic(), undefined, cache)).credentialId, 'anonymous');
    assert.equal((await identify(withBasic('bob', 'whatever'), undefined, cache)).credentialId, 'anonymous');
    assert.equal((await identify(withBasic(record.id, secret), undefined, cache)).credentialId, record.id);
  });
});
