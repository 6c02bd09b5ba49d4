import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BatchReader } from '../../client/batch-read.js';
import { blobRefOf } from '../../client/hash.js';
import { BlobServerClient } from '../../client/http-client.js';
import { putPath } from '../../client/node/put-tree.js';
import { Uploader } from '../../client/uploader.js';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { dynaliteBackend } from '../support/backends.js';
import { startFakeServer, type FakeServer } from '../support/fake-blob-server.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';
import { treeListing } from '../support/tree.js';

/**
 * Batch reads (DESIGN §9) end to end: a tree stored by the client is restored by the real
 * `blobserver get` through the batch locate extension, byte for byte, with its requests
 * counted by proxies in front of the local server (each request there is a function
 * invocation in the cloud) and in front of S3 (every GET, the server's own and the client's
 * straight ones through the S3 front). And the fallback: a server without the extension.
 */

const BIN = fileURLToPath(new URL('../../client/bin/blobserver.js', import.meta.url));
const AUTH = `userpass:${USER}:${PASSWORD}`;

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('batch reads: blobserver get restores through the locate extension', () => {
  let ts: TestServer;
  let front: AwsProxy;
  let work: string;
  let tree: string;

  before(async () => {
    ts = await startTestServer(dynaliteBackend, {}, { proxy: true });
    front = await startAwsProxy(ts.url);
    work = await mkdtemp(join(tmpdir(), 'blobserver-batch-read-'));
    tree = join(work, 'tree');
    await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
    // Many small files (one chunk each), a few large ones (packed chunks, nested bytes schemas).
    for (let i = 0; i < 600; i++) await writeFile(join(tree, `small-${String(i).padStart(4, '0')}`), randomBytes(2000 + ((i * 977) % 30000)));
    await writeFile(join(tree, 'large-1'), randomBytes(3_000_000));
    await writeFile(join(tree, 'sub', 'large-2'), randomBytes(2_500_000));
    await writeFile(join(tree, 'sub', 'zeros'), Buffer.alloc(1_000_000));
    await writeFile(join(tree, 'sub', 'deeper', 'empty'), '');
    await symlink('small-0001', join(tree, 'link'));
  });
  after(async () => {
    await front?.close();
    await ts?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('restores a tree stored by put byte for byte, with at most 0.02 server requests and 0.1 S3 GETs per blob', async (t) => {
    const client = new BlobServerClient({ server: front.endpoint, auth: AUTH });
    const uploader = new Uploader(client, { concurrency: 4 });
    const ref = await putPath(tree, uploader);
    const { blobs } = await uploader.flush();

    const serverBefore = front.requests.length;
    const s3GetsBefore = ts.proxies!.s3.requests.filter((r) => r.method === 'GET').length;
    const out = join(work, 'out');
    await mkdir(out);
    const run = await cli(['get', ref, '-o', out], { BLOBSERVER_URL: front.endpoint, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: join(work, 'none') });
    assert.equal(run.code, 0, run.stderr);
    const serverRequests = front.requests.length - serverBefore;
    const s3Gets = ts.proxies!.s3.requests.filter((r) => r.method === 'GET').length - s3GetsBefore;

    t.diagnostic(
      `${blobs} blobs: ${serverRequests} server requests (${(serverRequests / blobs).toFixed(4)}/blob), ${s3Gets} S3 GETs (${(s3Gets / blobs).toFixed(4)}/blob)`,
    );
    assert.deepEqual(await treeListing(join(out, 'tree')), await treeListing(tree));
    const locates = front.requests.slice(serverBefore).filter((r) => r.url.startsWith('/camli/locate')).length;
    assert.ok(locates > 0, 'the extension was used');
    assert.ok(serverRequests / blobs <= 0.02, `${serverRequests} server requests for ${blobs} blobs`);
    assert.ok(s3Gets / blobs <= 0.1, `${s3Gets} S3 GETs for ${blobs} blobs`);
  });

  it('falls back to GET /camli/<ref> for a blob whose range cannot be fetched, and reads blobs in order', async () => {
    const client = new BlobServerClient({ server: front.endpoint, auth: AUTH });
    const data = [randomBytes(200_000), randomBytes(200_000), randomBytes(50)];
    const refs = data.map((d) => blobRefOf(d));
    const uploader = new Uploader(client);
    for (const [i, d] of data.entries()) await uploader.add({ ref: refs[i]!, bytes: d });
    await uploader.flush();
    // S3 refuses every presigned GET (the server's own reads are signed in a header): the reader must still deliver, through the server.
    ts.proxies!.s3.setFault((r) =>
      r.method === 'GET' && r.url.includes('X-Amz-Signature=')
        ? { status: 403, body: '<Error><Code>AccessDenied</Code></Error>', contentType: 'application/xml' }
        : undefined,
    );
    try {
      const reader = new BatchReader(client);
      const unknown = blobRefOf(randomBytes(8));
      const got = [];
      for await (const b of reader.readMany([...refs, unknown])) got.push(b);
      assert.deepEqual(
        got.map((g) => g.ref),
        [...refs, unknown],
      );
      for (const [i, d] of data.entries()) assert.ok(Buffer.from(got[i]!.bytes!).equals(d));
      assert.equal(got[3]!.bytes, undefined);
      assert.ok(reader.stats.ranges > 0 && reader.stats.serverGets >= 2, JSON.stringify(reader.stats));
    } finally {
      ts.proxies!.s3.setFault(undefined);
    }
  });
});

describe('batch reads from a server without the extension', () => {
  let fake: FakeServer;
  before(async () => {
    fake = await startFakeServer();
  });
  after(async () => {
    await fake?.close();
  });

  it('reads every blob through GET /camli/<ref>, verified, in order', async () => {
    const data = Array.from({ length: 20 }, (_, i) => randomBytes(100 + i));
    for (const d of data) fake.blobs.set(blobRefOf(d), d);
    const bad = randomBytes(30);
    const badRef = blobRefOf(randomBytes(30));
    fake.blobs.set(badRef, bad); // served under a ref it does not hash to
    const reader = new BatchReader(new BlobServerClient({ server: fake.url, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }), { concurrency: 4 });
    const got = [];
    for await (const b of reader.readMany(data.map((d) => blobRefOf(d)))) got.push(b);
    assert.ok(got.every((g, i) => Buffer.from(g.bytes!).equals(data[i]!)));
    assert.equal(reader.stats.locates, 0);
    assert.ok(!fake.requests.some((r) => r.path === '/camli/locate'));
    await assert.rejects(reader.get(badRef), /do not hash/);
  });
});
