import { ROOT_NAMESPACE } from '../../lambda/core/namespace.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { credentialsBinding } from '../../lambda/core/auth/auth.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
import type { HttpEvent } from '../../lambda/core/http/http.js';
import { cappedLifetime } from '../../lambda/core/aws/signing-lifetime.js';
import { StagingArea } from '../../lambda/core/upload/staging.js';
import { keyringOf } from '../../lambda/core/auth/tokens.js';
import { freshUploadForm, verifyCompletionToken } from '../../lambda/core/upload/upload-form.js';
import { fieldOf, policyOf } from '../support/upload-form.js';

describe('presigned lifetimes never outlive the signing credentials', () => {
  it('cappedLifetime: the wanted seconds, cut to the whole seconds the credentials have left, at least 1', () => {
    const now = 1_700_000_000_000;
    assert.equal(cappedLifetime(7200, now), 7200, 'credentials without expiration (static keys) cut nothing');
    assert.equal(cappedLifetime(7200, now, new Date(now + 3600_000)), 3600);
    assert.equal(cappedLifetime(300, now, new Date(now + 3600_000)), 300);
    assert.equal(cappedLifetime(300, now, new Date(now + 59_999)), 59);
    assert.equal(cappedLifetime(300, now, new Date(now - 1000)), 1);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 6 }), fc.integer({ min: -(10 ** 7), max: 10 ** 10 }), (wanted, leftMs) => {
        const got = cappedLifetime(wanted, now, new Date(now + leftMs));
        assert.ok(got >= 1 && got <= wanted);
        // Never past the expiry, unless forced up to the 1-second floor.
        assert.ok(got === 1 || now + got * 1000 <= now + leftMs);
        if (leftMs >= wanted * 1000) assert.equal(got, wanted);
      }),
    );
  });

  const NOW_MS = Date.now();
  const GRACE = 600;
  const session = (leftSeconds: number) =>
    new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'ASIA', secretAccessKey: 'secret', sessionToken: 'session', expiration: new Date(NOW_MS + leftSeconds * 1000) },
    });
  const event = { headers: {}, requestContext: { domainName: 'api.example', stage: '$default', http: { method: 'POST' } } } as unknown as HttpEvent;
  const ring = keyringOf([Buffer.from('a signing key of thirty-two byte')]);
  const binding = credentialsBinding({ username: 'alice', password: 'secret' });
  const formFrom = (client: S3Client) =>
    freshUploadForm(
      {
        namespace: ROOT_NAMESPACE,
        settings: {
          uploadUrlTtlSeconds: 7200,
          maxBlobSize: 1 << 20,
          maxUploadSize: 1 << 20,
          allowRemove: false,
          maxInlineGetSize: 1 << 20,
          completionGraceSeconds: GRACE,
        },
        nowSeconds: () => NOW_MS / 1000,
        staging: new StagingArea(client, 'bkt'),
      },
      event,
      'alice',
      { keyring: ring, binding },
    );

  it('uploadForm: its expiry and its POST policy end when session credentials expire in 100 s, its completion URL a grace later', async () => {
    const { uploadForm } = await formFrom(session(100));
    assert.equal(uploadForm.expirationSeconds, 100);
    const policyEnds = Date.parse(policyOf(uploadForm).expiration);
    assert.ok(policyEnds <= NOW_MS + 100_000 + 1000, `policy expires ${new Date(policyEnds).toISOString()}`);
    const token = new URL(fieldOf(uploadForm, 'success_action_redirect')).pathname.split('/').pop()!;
    const now = NOW_MS / 1000;
    // The completion runs on the write side's own credentials: a POST S3 accepted before the
    // form died is completed within the grace (docs/large-blobs.md).
    assert.equal(verifyCompletionToken(ring, token, now + 100 + GRACE - 1, binding).ok, true);
    assert.deepEqual(verifyCompletionToken(ring, token, now + 100 + GRACE + 1, binding), { ok: false, reason: 'expired' });
  });

  it('uploadForm: long-lived credentials leave the configured lifetime as it is', async () => {
    const { uploadForm } = await formFrom(session(12 * 3600));
    assert.equal(uploadForm.expirationSeconds, 7200);
  });

  it('GET redirect: the presigned URL names at most the seconds the credentials have left', async () => {
    const short = new URL(await new S3BlobStore(session(42), 'bkt').presignedGetUrl('blobs/r/1', 300));
    const expires = Number(short.searchParams.get('X-Amz-Expires'));
    assert.ok(expires >= 40 && expires <= 42, `X-Amz-Expires=${expires}`);
    const long = new URL(await new S3BlobStore(session(3600), 'bkt').presignedGetUrl('blobs/r/1', 300));
    assert.equal(long.searchParams.get('X-Amz-Expires'), '300');
  });
});
