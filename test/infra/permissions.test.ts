import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOB_PREFIX, GENERATION_KEY, PACK_PREFIX, STAGING_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { listBucketFor, s3ObjectArn } from '../support/aws-request-auth.js';
import { synthesizedRoles } from '../support/iam-lane.js';
import { evaluate } from '../support/iam-policy.js';

/**
 * The synthesized roles, evaluated as IAM would (test/support/iam-policy.ts): S3 answers a
 * GET/HEAD of a missing key with 404 only to a caller that may s3:ListBucket it (with the key as
 * s3:prefix), else 403. Each function must learn "missing" for every key it reads, and may list nothing else.
 */
const bucket = 'blobs-bucket';
const roles = await synthesizedRoles({}, { bucket, table: 'index' });
const blobKey = `${BLOB_PREFIX}sha224-${'a'.repeat(56)}/0123456789abcdef01234567`;
const packKey = `${PACK_PREFIX}2026-11-30/0123456789abcdef01234567`;
const stagedKey = `${STAGING_PREFIX}${'b'.repeat(32)}/sha224-${'a'.repeat(56)}`;

const may = (role: keyof typeof roles, action: string, key: string) => evaluate(roles[role], { action, resource: s3ObjectArn(bucket, key) }).allowed;
const knowsMissing = (role: keyof typeof roles, key: string) => evaluate(roles[role], listBucketFor(bucket, key)).allowed;

describe('missing keys: 404 where a function reads, a real denial everywhere else', () => {
  it('read side: blobs, packs and the storage generation read as missing; staged uploads and the rest of the bucket do not', () => {
    for (const key of [blobKey, packKey, GENERATION_KEY]) {
      assert.ok(may('read', 's3:GetObject', key), `read may GET ${key}`);
      assert.ok(knowsMissing('read', key), `read learns that ${key} is missing`);
    }
    for (const key of [stagedKey, 'other/thing', '']) assert.ok(!knowsMissing('read', key), `read may not list ${key || 'the whole bucket'}`);
  });

  it('write side: blobs, packs and staged uploads read as missing; the generation and the rest of the bucket do not', () => {
    for (const key of [blobKey, packKey, stagedKey]) {
      assert.ok(may('write', 's3:GetObject', key), `write may GET ${key}`);
      assert.ok(knowsMissing('write', key), `write learns that ${key} is missing`);
    }
    for (const key of [GENERATION_KEY, 'other/thing', '']) assert.ok(!knowsMissing('write', key), `write may not list ${key || 'the whole bucket'}`);
  });

  it('no function may list a prefix it cannot read (a listing names keys, i.e. blobrefs)', () => {
    for (const role of ['read', 'write'] as const) {
      for (const st of roles[role].filter((s) => [s.Action].flat().includes('s3:ListBucket'))) {
        const prefixes = [st.Condition?.['StringLike']?.['s3:prefix'] ?? []].flat();
        assert.ok(prefixes.length > 0, `${role}: s3:ListBucket without an s3:prefix condition`);
        for (const p of prefixes) assert.ok(may(role, 's3:GetObject', p.replace(/\*$/, 'x')), `${role} may list ${p} but not read it`);
      }
    }
  });
});
