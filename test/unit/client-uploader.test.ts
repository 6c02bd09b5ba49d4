import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { blobRefOf } from '../../client/hash.js';
import { BlobServerClient } from '../../client/http-client.js';
import { BlobServerError } from '../../client/errors.js';
import { backoffMs } from '../../client/retry.js';
import { Uploader } from '../../client/uploader.js';
import { startFakeServer, type FakeServer } from '../support/fake-blob-server.js';

const FAST_RETRY = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const blob = (size: number) => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes), bytes };
};

describe('client uploads against a fault-injecting server', () => {
  let fake: FakeServer;
  let client: BlobServerClient;
  before(async () => {
    fake = await startFakeServer({ maxUploadSize: 100_000 });
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.blobs.clear();
    fake.requests.length = 0;
    fake.fault = undefined;
    fake.offerForm = false;
    fake.minValidToken = 0;
    client = new BlobServerClient({ server: fake.url, retry: FAST_RETRY });
  });

  const uploads = () => fake.requests.filter((r) => r.path.startsWith('/camli/upload/'));

  it('packs blobs into requests under maxUploadSize and skips what the server has', async () => {
    const blobs = Array.from({ length: 40 }, () => blob(9_000));
    const [had, dup] = blobs;
    assert.ok(had && dup);
    fake.blobs.set(had.ref, Buffer.from(had.bytes));
    const uploader = new Uploader(client);
    for (const b of blobs) await uploader.add(b);
    await uploader.add(dup); // a duplicate is sent once
    const stats = await uploader.flush();
    assert.equal(stats.skippedBlobs, 1);
    assert.equal(stats.uploadedBlobs, 39);
    for (const b of blobs) assert.ok(fake.blobs.has(b.ref));
    // 39 x ~9.2 KB under 100 000 bytes per request: 10 per request, so 4 requests.
    assert.equal(uploads().length, 4);
    assert.deepEqual(
      uploads()
        .map((r) => r.parts.length)
        .sort(),
      [10, 10, 10, 9],
    );
    assert.equal(fake.requests.filter((r) => r.path === '/camli/preupload').length, 1);
  });

  it('keeps memory bounded: add waits, and still makes progress, when blobs outgrow the buffer', async () => {
    const uploader = new Uploader(client, { maxBufferedBytes: 20_000 });
    let peak = 0;
    const blobs = Array.from({ length: 30 }, () => blob(15_000));
    for (const b of blobs) {
      await uploader.add(b);
      peak = Math.max(peak, (uploader as unknown as { buffered: number }).buffered);
    }
    await uploader.flush();
    assert.ok(peak <= 20_000 + 15_000, `peak buffered ${peak}`);
    for (const b of blobs) assert.ok(fake.blobs.has(b.ref));
  });

  it('splits preupload at 1000 refs', async () => {
    const refs = Array.from({ length: 2500 }, (_, i) => blobRefOf(`r${i}`));
    const answer = await client.preupload(refs);
    assert.equal(answer.alreadyHave.length, 0);
    assert.equal(fake.requests.filter((r) => r.path === '/camli/preupload').length, 3);
  });

  it('retries 5xx, 429 and dropped connections, then succeeds', async () => {
    let n = 0;
    const script = [{ status: 503 }, 'drop', { status: 429, retryAfter: 0 }] as const;
    fake.fault = (r) => (r.path.startsWith('/camli/upload/') && n < script.length ? script[n++] : undefined);
    const b = blob(1000);
    assert.deepEqual(await client.uploadBatch([b]), [{ blobRef: b.ref, size: 1000 }]);
    assert.equal(uploads().length, 4);
    assert.ok(fake.blobs.has(b.ref));
  });

  it('gives up after the policy, with an error that says what failed', async () => {
    fake.fault = (r) => (r.path.startsWith('/camli/upload/') ? { status: 500 } : undefined);
    const b = blob(10);
    await assert.rejects(client.uploadBatch([b]), (err: BlobServerError) => {
      assert.ok(err instanceof BlobServerError);
      assert.equal(err.operation, 'upload');
      assert.equal(err.status, 500);
      assert.deepEqual(err.blobRefs, [b.ref]);
      assert.match(err.message, /upload: \/camli\/upload\/<token> answered 500: injected fault/);
      return true;
    });
    assert.equal(uploads().length, FAST_RETRY.attempts);
  });

  it('does not retry a 4xx other than 403/429', async () => {
    fake.fault = (r) => (r.path === '/camli/stat' ? { status: 400 } : undefined);
    await assert.rejects(client.stat([blobRefOf('x')]), /stat: \/camli\/stat answered 400/);
    assert.equal(fake.requests.length, 1);
  });

  it('asks for a fresh upload URL when the one it holds is refused (403)', async () => {
    const held = await client.uploadTarget();
    // The URL the client holds (and every older one) now counts as expired.
    fake.minValidToken = Number(held.uploadUrl.split('/').pop()) + 1;
    const b = blob(100);
    const before = fake.requests.length;
    await client.uploadBatch([b]);
    const seen = fake.requests.slice(before).map((r) => r.path.replace(/\d+$/, 'N'));
    assert.deepEqual(seen, ['/camli/upload/N', '/camli/preupload', '/camli/upload/N']);
    assert.ok(fake.blobs.has(b.ref));
  });

  it('sends a blob larger than maxUploadSize through the presigned form and follows the 303', async () => {
    fake.offerForm = true;
    const big = blob(250_000);
    const small = blob(500);
    const uploader = new Uploader(client);
    await uploader.add(big);
    await uploader.add(small);
    await uploader.flush();
    assert.ok(fake.blobs.has(big.ref));
    assert.ok(fake.blobs.has(small.ref));
    const s3 = fake.requests.find((r) => r.path === '/s3');
    assert.deepEqual(s3?.fields, { key: 'staging/${filename}', policy: 'p0l1cy' });
    assert.deepEqual(s3?.parts, ['file']);
    assert.ok(fake.requests.some((r) => r.method === 'GET' && r.path.startsWith('/complete/') && r.path.endsWith(`/${big.ref}`)));
    assert.ok(!uploads().some((r) => r.parts.includes(big.ref)));
  });

  it('says clearly when a blob is too big and the server offers no form', async () => {
    const big = blob(150_000);
    const uploader = new Uploader(client);
    await uploader.add(big);
    await assert.rejects(
      uploader.flush(),
      /blob sha224-[0-9a-f]+ is 150000 bytes, more than the upload URL takes \(100000\), and the server offers no uploadForm/,
    );
  });

  it('reports blobs the server did not store', async () => {
    const b = blob(10);
    await assert.rejects(client.uploadBatch([{ ref: blobRefOf('other'), bytes: b.bytes }]), /1 of 1 blobs not stored/);
  });

  it('get verifies what it receives', async () => {
    const b = blob(100);
    fake.blobs.set(b.ref, Buffer.from(b.bytes));
    assert.deepEqual(await client.get(b.ref), new Uint8Array(b.bytes));
    assert.equal(await client.get(blobRefOf('absent')), undefined);
    fake.blobs.set(b.ref, Buffer.from('tampered'));
    await assert.rejects(client.get(b.ref), /do not hash to it/);
  });

  it('backoff is exponential with full jitter, capped', () => {
    /** A random source that always answers `r`. */
    const always = (r: number) => () => r;
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffMs(policy, 0, always(1)), 100);
    assert.equal(backoffMs(policy, 3, always(1)), 800);
    assert.equal(backoffMs(policy, 6, always(1)), 1000);
    assert.equal(backoffMs(policy, 6, always(0.25)), 250);
  });
});
