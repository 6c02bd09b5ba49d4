import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import { readConfig } from '../../lambda/core/config.js';
import { S3RVER_CREDENTIALS, startS3rver, type Emulator } from '../../local/emulators.js';
import { ensureBucket } from '../../lambda/core/storage/provision.js';
import { startS3Front } from '../../local/s3-front.js';
import { request } from '../support/http.js';

/**
 * The local server's S3 front serves presigned GETs as S3 does where s3rver does not: the
 * SigV4 query signature is checked over the signed headers, expired URLs are refused, and
 * suffix ranges answer the object's last bytes. Real s3rver behind it, the real SDK presigner.
 */
describe('local S3 front: presigned ranged GETs', () => {
  let dir: string;
  let s3rver: Emulator;
  let front: Emulator;
  let direct: S3Client;
  let viaFront: S3Client;
  const bucket = 'front-test';
  const bytes = randomBytes(1000);
  const key = 'packs/2026-01-01/some pack';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-front-'));
    s3rver = await startS3rver(dir);
    front = await startS3Front(s3rver.endpoint, undefined, { verify: S3RVER_CREDENTIALS });
    const config = { ...readConfig({}), credentials: S3RVER_CREDENTIALS, s3ForcePathStyle: true };
    direct = s3ClientFor(config, s3rver.endpoint);
    viaFront = s3ClientFor(config, front.endpoint);
    await ensureBucket(direct, bucket);
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
  });
  after(async () => {
    await front?.close();
    await s3rver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const presign = (range?: string, options: { signingDate?: Date; expiresIn?: number } = {}) =>
    getSignedUrl(viaFront, new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }), {
      expiresIn: 60,
      signableHeaders: new Set(['range']),
      ...options,
    });

  it('answers a signed suffix range with the last N bytes (206, Content-Range)', async () => {
    const url = await presign('bytes=-10');
    const r = await request(url, { headers: { range: 'bytes=-10' } });
    assert.equal(r.status, 206, r.text);
    assert.deepEqual(r.bytes, bytes.subarray(990));
    assert.equal(r.headers.get('content-range'), 'bytes 990-999/1000');
    assert.equal(r.headers.get('content-length'), '10');
  });

  it('answers a suffix longer than the object with the whole object, and bytes=-0 with 416', async () => {
    const longer = await request(await presign('bytes=-5000'), { headers: { range: 'bytes=-5000' } });
    assert.equal(longer.status, 206);
    assert.deepEqual(longer.bytes, bytes);
    assert.equal(longer.headers.get('content-range'), 'bytes 0-999/1000');
    const none = await request(await presign('bytes=-0'), { headers: { range: 'bytes=-0' } });
    assert.equal(none.status, 416);
    assert.match(none.text, /InvalidRange/);
  });

  it('serves a signed ordinary range, and refuses it tampered or dropped (403 SignatureDoesNotMatch)', async () => {
    const url = await presign('bytes=100-199');
    const ok = await request(url, { headers: { range: 'bytes=100-199' } });
    assert.equal(ok.status, 206);
    assert.deepEqual(ok.bytes, bytes.subarray(100, 200));
    for (const headers of [{ range: 'bytes=100-999' }, { range: 'bytes=-10' }, {}] as Record<string, string>[]) {
      const r = await request(url, { headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(r.text, /SignatureDoesNotMatch/);
    }
    const u = new URL(url);
    u.searchParams.set('X-Amz-Expires', '61');
    assert.equal((await request(u.toString(), { headers: { range: 'bytes=100-199' } })).status, 403, 'a lengthened expiry is refused');
  });

  it('refuses an expired URL (403 AccessDenied)', async () => {
    const url = await presign('bytes=0-9', { signingDate: new Date(Date.now() - 120_000), expiresIn: 60 });
    const r = await request(url, { headers: { range: 'bytes=0-9' } });
    assert.equal(r.status, 403);
    assert.match(r.text, /Request has expired/);
  });

  it('serves an unsigned suffix range on an unranged URL too', async () => {
    const r = await request(await presign(), { headers: { range: 'bytes=-3' } });
    assert.equal(r.status, 206);
    assert.deepEqual(r.bytes, bytes.subarray(997));
  });
});
