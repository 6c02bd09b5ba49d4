import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import { isNotFound } from '../../lambda/core/aws/aws-errors.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
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

/**
 * Writes carry a checksum S3 verifies (lambda/core/aws/checksums.ts); the front checks it as S3
 * does, where s3rver does not. Known values of "123456789" for each algorithm S3 offers.
 */
describe('local S3 front: checksums on writes', () => {
  let dir: string;
  let s3rver: Emulator;
  let front: Emulator;
  let direct: S3Client;
  let viaFront: S3Client;
  const bucket = 'checksum-test';
  const check = Buffer.from('123456789');
  const known: Record<string, [member: string, hex: string]> = {
    CRC32: ['ChecksumCRC32', 'cbf43926'],
    CRC32C: ['ChecksumCRC32C', 'e3069283'],
    CRC64NVME: ['ChecksumCRC64NVME', 'ae8b14860a799888'],
    SHA1: ['ChecksumSHA1', 'f7c3bc1d808e04732adf679965ccc34ca7ae3441'],
    SHA256: ['ChecksumSHA256', '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225'],
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-front-sums-'));
    s3rver = await startS3rver(dir);
    front = await startS3Front(s3rver.endpoint, undefined, { verify: S3RVER_CREDENTIALS });
    const config = { ...readConfig({}), credentials: S3RVER_CREDENTIALS, s3ForcePathStyle: true };
    direct = s3ClientFor(config, s3rver.endpoint);
    viaFront = s3ClientFor(config, front.endpoint);
    await ensureBucket(direct, bucket);
  });
  after(async () => {
    await front?.close();
    await s3rver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const stored = async (key: string) => {
    try {
      return Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  for (const [algorithm, [member, hex]] of Object.entries(known)) {
    it(`stores a PUT whose ${algorithm} matches, and refuses one whose ${algorithm} does not (400 BadDigest, nothing stored)`, async () => {
      const good = Buffer.from(hex, 'hex').toString('base64');
      await viaFront.send(new PutObjectCommand({ Bucket: bucket, Key: `good-${algorithm}`, Body: check, [member]: good }));
      assert.deepEqual(await stored(`good-${algorithm}`), check);
      const bad = Buffer.from(hex, 'hex');
      bad[0]! ^= 1;
      await assert.rejects(
        viaFront.send(new PutObjectCommand({ Bucket: bucket, Key: `bad-${algorithm}`, Body: check, [member]: bad.toString('base64') })),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.name === 'BadDigest' && err.$metadata?.httpStatusCode === 400,
      );
      assert.equal(await stored(`bad-${algorithm}`), undefined);
    });
  }

  it('a blob object whose bytes change after the store computed its checksum is refused, not stored', async () => {
    const store = new S3BlobStore(viaFront, bucket);
    const bytes = randomBytes(5000);
    await store.create('blobs/intact', bytes);
    assert.deepEqual(await stored('blobs/intact'), bytes);
    // Corrupt the body on its way out, after the checksum was computed (as a bad NIC or proxy would).
    const corrupting = s3ClientFor({ ...readConfig({}), credentials: S3RVER_CREDENTIALS, s3ForcePathStyle: true }, front.endpoint);
    corrupting.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: unknown };
        if (Buffer.isBuffer(request.body)) {
          const altered = Buffer.from(request.body);
          altered[100]! ^= 0xff;
          request.body = altered;
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'corruptBody' },
    );
    await assert.rejects(new S3BlobStore(corrupting, bucket).create('blobs/corrupted', bytes), (err: Error) => err.name === 'BadDigest');
    assert.equal(await stored('blobs/corrupted'), undefined);
    corrupting.destroy();
  });
});
