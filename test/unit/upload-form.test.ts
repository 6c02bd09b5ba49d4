import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readConfig, ConfigError } from '../../lambda/core/config.js';
import { MAX_ALLOWED_BLOB_SIZE, MAX_BLOB_SIZE } from '../../lambda/core/limits.js';
import { keyringOf, mintUploadToken } from '../../lambda/core/auth/tokens.js';
import { mintCompletionToken, verifyCompletionToken } from '../../lambda/core/upload/upload-form.js';
import { credentialsBinding } from '../../lambda/core/auth/auth.js';

const KEY = Buffer.from('a signing key of thirty-two byte');
const OTHER = Buffer.from('another key of thirty-two bytes!');
const ring = keyringOf([KEY]);
const NOW = 1_700_000_000;
const ID = '0123456789abcdef0123456789abcdef';
/** The credentials binding (auth.ts credentialsBinding) in force when a token is minted and checked. */
const BOUND = credentialsBinding({ username: 'alice', password: 'secret' });

describe('completion tokens (the uploadForm redirect)', () => {
  it('round-trip principal, staging prefix and expiry', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.stringMatching(/^[0-9a-f]{32}$/),
        fc.integer({ min: 1, max: 10 ** 6 }),
        (principal, id, ttl) => {
          const check = verifyCompletionToken(ring, mintCompletionToken(ring, principal, id, NOW + ttl, BOUND), NOW, BOUND);
          assert.deepEqual(check, { ok: true, grant: { principal, prefix: `staging/${id}/`, expiresAt: NOW + ttl } });
        },
      ),
    );
  });

  it('expire at their expiry second', () => {
    const token = mintCompletionToken(ring, 'alice', ID, NOW + 10, BOUND);
    assert.equal(verifyCompletionToken(ring, token, NOW + 9.9, BOUND).ok, true);
    assert.deepEqual(verifyCompletionToken(ring, token, NOW + 10, BOUND), { ok: false, reason: 'expired' });
  });

  it('refuse any change to any field, and non-canonical spellings', () => {
    const token = mintCompletionToken(ring, 'alice', ID, NOW + 100, BOUND);
    const [keyId, exp, p, id, sig, ...rest] = token.split('.');
    assert.ok(
      keyId !== undefined && exp !== undefined && p !== undefined && id !== undefined && sig !== undefined && rest.length === 0,
      `five fields: ${token}`,
    );
    const variants = [
      [keyId, String(Number(exp) + 1), p, id, sig],
      [keyId, `0${exp}`, p, id, sig],
      [keyId, exp, Buffer.from('bob').toString('base64url'), id, sig],
      [keyId, exp, p, ID.replace('0', '1'), sig],
      [keyId, exp, p, id.toUpperCase(), sig],
      [keyId, exp, p, id, sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))],
      [keyId, exp, p, id],
    ];
    for (const v of variants) assert.equal(verifyCompletionToken(ring, v.join('.'), NOW, BOUND).ok, false, v.join('.'));
    assert.deepEqual(verifyCompletionToken(keyringOf([OTHER]), token, NOW, BOUND), { ok: false, reason: 'unknown-key' });
  });

  it('are revoked by a change of the credentials in force', () => {
    const token = mintCompletionToken(ring, 'alice', ID, NOW + 100, BOUND);
    assert.equal(verifyCompletionToken(ring, token, NOW, credentialsBinding({ username: 'alice', password: 'changed' })).ok, false);
    assert.equal(verifyCompletionToken(ring, token, NOW, credentialsBinding(undefined)).ok, false);
    assert.equal(verifyCompletionToken(ring, token, NOW, BOUND).ok, true);
  });

  it('an upload-URL token is not a completion token, whatever its fields', () => {
    const { token } = mintUploadToken(ring, 'alice', NOW, 100, BOUND);
    assert.equal(verifyCompletionToken(ring, token, NOW, BOUND).ok, false);
    const [k, e, p, s] = token.split('.');
    assert.equal(verifyCompletionToken(ring, [k, e, p, ID, s].join('.'), NOW, BOUND).ok, false);
  });
});

describe('BLOBSERVER_MAX_BLOB_SIZE', () => {
  it(`defaults to ${MAX_BLOB_SIZE} (Perkeep's 16 MiB), accepts up to ${MAX_ALLOWED_BLOB_SIZE}, refuses more`, () => {
    assert.equal(readConfig({}).maxBlobSize, MAX_BLOB_SIZE);
    assert.equal(readConfig({ BLOBSERVER_MAX_BLOB_SIZE: '1000' }).maxBlobSize, 1000);
    assert.equal(readConfig({ BLOBSERVER_MAX_BLOB_SIZE: String(MAX_ALLOWED_BLOB_SIZE) }).maxBlobSize, MAX_ALLOWED_BLOB_SIZE);
    assert.throws(() => readConfig({ BLOBSERVER_MAX_BLOB_SIZE: String(MAX_ALLOWED_BLOB_SIZE + 1) }), ConfigError);
    assert.throws(() => readConfig({ BLOBSERVER_MAX_BLOB_SIZE: '16MB' }), ConfigError);
  });
});
