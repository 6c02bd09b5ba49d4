import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newBlobKey } from '../../lambda/core/storage/object-keys.js';
import { LAMBDA_EVENT_LIMIT, MAX_PARTS_PER_REQUEST } from '../../lambda/core/limits.js';
import { startLocalServer } from '../../local/server.js';
import { dynaliteBackend } from '../support/backends.js';
import { postFormRedirected } from '../support/upload-form.js';
import { basicAuth, multipartBody, startTestServer, USER, PASSWORD, type TestServer } from '../support/test-server.js';
import { blobForm, have, newBlob, part, parts, preupload, preuploadRaw, store, tokenOf, uploadParts, uploadRaw } from './seed.suite.js';

/**
 * Issue 8 (hardening) over real HTTP against the local server on dynalite + s3rver:
 * revocation of upload URLs, the parts cap, the reflected host, early 413s, restart after a
 * crash, ETag/If-None-Match/Range, and the storage generation in discovery.
 */

/** A raw HTTP/1.1 exchange over a socket: what is written, and everything read until `until` matches or the server closes. */
function rawExchange(url: string, head: string, opts: { body?: Buffer; until: RegExp }): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let seen = '';
    const done = () => {
      socket.destroy();
      resolve(seen);
    };
    socket.on('data', (d) => {
      seen += d.toString('latin1');
      if (opts.until.test(seen)) done();
    });
    socket.on('close', done);
    socket.on('error', (err) => (seen ? done() : reject(err)));
    socket.write(head);
    if (opts.body) socket.write(opts.body);
  });
}

/** A request with headers fetch will not send as given (Host). */
function rawRequest(url: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: basicAuth() };

describe('hardening [dynalite+s3rver]', () => {
  let ts: TestServer;
  let target: { url: string; authorization: string };
  before(async () => {
    ts = await startTestServer(dynaliteBackend);
    target = { url: ts.url, authorization: basicAuth() };
  });
  after(async () => {
    await ts?.close();
  });

  describe('upload URLs are revoked with the credentials (item 2)', () => {
    const keyFile = () => {
      assert.equal(ts.server.config.signingKeys.kind, 'file');
      return (ts.server.config.signingKeys as { path: string }).path;
    };

    it("alice's URL is refused by a server (same keys, same store) where only bob is configured, and works where alice still is", async (t) => {
      const { uploadUrl } = await preupload(target);
      const moveTo = (url: string) => {
        const u = new URL(uploadUrl);
        u.host = new URL(url).host;
        return u.toString();
      };
      const bobOnly = await ts.startSibling({ BLOBSERVER_AUTH: 'userpass:bob:another password', BLOBSERVER_SIGNING_KEY_FILE: keyFile() });
      t.after(() => bobOnly.close());
      const b = newBlob();
      const refused = await uploadParts(moveTo(bobOnly.url), [part(b)]);
      assert.equal(refused.status, 403, refused.text);
      assert.deepEqual(await have(target, b.ref), []);

      const aliceToo = await ts.startSibling({ BLOBSERVER_SIGNING_KEY_FILE: keyFile() });
      t.after(() => aliceToo.close());
      const accepted = await uploadParts(moveTo(aliceToo.url), [part(b)]);
      assert.equal(accepted.status, 200, accepted.text);
      assert.deepEqual(accepted.json.received, [{ blobRef: b.ref, size: b.data.length }]);
    });

    it("alice's uploadForm completion is refused where only bob is configured (nothing stored), and completes where alice still is", async (t) => {
      const { uploadForm } = await preupload(target);
      const b = newBlob(3000);
      // S3 takes the POST (the form's policy knows nothing of credentials) and redirects to the completion URL.
      const location = new URL(await postFormRedirected(uploadForm, b.data, b.ref));
      const completeOn = async (url: string) => {
        location.host = new URL(url).host;
        const r = await fetch(location, { redirect: 'manual' });
        return { status: r.status, text: await r.text() };
      };
      const bobOnly = await ts.startSibling({ BLOBSERVER_AUTH: 'userpass:bob:another password', BLOBSERVER_SIGNING_KEY_FILE: keyFile() });
      t.after(() => bobOnly.close());
      const refused = await completeOn(bobOnly.url);
      assert.equal(refused.status, 403, refused.text);
      assert.deepEqual(await have(target, b.ref), []);

      const aliceToo = await ts.startSibling({ BLOBSERVER_SIGNING_KEY_FILE: keyFile() });
      t.after(() => aliceToo.close());
      const accepted = await completeOn(aliceToo.url);
      assert.equal(accepted.status, 200, accepted.text);
      assert.deepEqual(JSON.parse(accepted.text).received, [{ blobRef: b.ref, size: b.data.length }]);
      assert.deepEqual(await have(target, b.ref), [{ blobRef: b.ref, size: b.data.length }]);
    });

    it("an open server's URL is refused once credentials are set", async (t) => {
      const open = await ts.startSibling({ BLOBSERVER_AUTH: '', BLOBSERVER_SIGNING_KEY_FILE: keyFile() });
      t.after(() => open.close());
      const a = await preuploadRaw(open.url, blobForm([]), undefined);
      assert.equal(a.status, 200, a.text);
      const u = new URL(a.json.uploadUrl);
      u.host = new URL(ts.url).host; // the main server: same keys, credentials set
      const b = newBlob();
      const refused = await uploadParts(u.toString(), [part(b)]);
      assert.equal(refused.status, 403, refused.text);
      assert.deepEqual(await have(target, b.ref), []);
    });

    it('an upload that stores nothing answers the same URL with the seconds it has left, never a fresh one', async (t) => {
      const { uploadUrl, uploadUrlExpirationSeconds: ttl } = await preupload(target);
      // 100 s later (the server's own clock), so a fresh token cannot equal the old one.
      const deps = ts.server.deps;
      const clock = deps.nowSeconds;
      deps.nowSeconds = () => clock() + 100;
      t.after(() => (deps.nowSeconds = clock));
      const bad = newBlob();
      const answers = [
        await uploadRaw(uploadUrl, multipartBody([]).body, multipartBody([]).contentType),
        await uploadParts(uploadUrl, [{ ...part(bad), data: Buffer.from('not these bytes') }]),
      ];
      for (const a of answers) {
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.json.received, []);
        assert.equal(a.json.uploadUrl, uploadUrl, 'the same URL, not extended');
        assert.ok(a.json.uploadUrlExpirationSeconds <= ttl - 100 && a.json.uploadUrlExpirationSeconds > 0, a.text);
        assert.ok(a.json.maxUploadSize > 0);
      }
      const ok = await uploadParts(uploadUrl, [part(newBlob())]);
      assert.equal(ok.status, 200, ok.text);
      assert.notEqual(tokenOf(ok.json.uploadUrl), tokenOf(uploadUrl), 'an upload that stored something gets a fresh URL');
      assert.equal(ok.json.uploadUrlExpirationSeconds, ttl);
    });
  });

  describe('parts per request (item 4)', () => {
    it(`refuses ${MAX_PARTS_PER_REQUEST + 1} parts with 400 naming the cap, storing none of them`, async () => {
      const blobs = Array.from({ length: MAX_PARTS_PER_REQUEST + 1 }, () => newBlob(8));
      const { uploadUrl } = await preupload(target);
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.equal(a.status, 400, a.text);
      assert.match(a.json.errorText ?? '', new RegExp(`at most ${MAX_PARTS_PER_REQUEST}`));
      assert.deepEqual(await have(target, blobs[0]!.ref, blobs[MAX_PARTS_PER_REQUEST]!.ref), []);
    });
  });

  describe('reflected host (item 5)', () => {
    const form = blobForm([]);
    const headers = (extra: Record<string, string>) => ({ ...auth, 'content-type': 'application/x-www-form-urlencoded', ...extra });

    it('refuses a scheme other than http/https with 400', async () => {
      const a = await rawRequest(ts.url, '/camli/preupload', headers({ 'x-forwarded-proto': 'javascript' }), form);
      assert.equal(a.status, 400, a.text);
      assert.match(JSON.parse(a.text).errorText, /http or https/);
    });

    it('refuses a Host that is not a host name with an optional port with 400', async () => {
      for (const host of ['evil.example:666/camli', 'evil.example:99999', 'user@evil.example']) {
        const a = await rawRequest(ts.url, '/camli/preupload', headers({ host }), form);
        assert.equal(a.status, 400, `${host}: ${a.text}`);
        assert.doesNotMatch(a.text, /uploadUrl/);
      }
    });

    it('builds the URL from a well-formed host and scheme', async () => {
      const a = await rawRequest(ts.url, '/camli/preupload', headers({ host: 'blobs.example:8443', 'x-forwarded-proto': 'https' }), form);
      assert.equal(a.status, 200, a.text);
      assert.match(JSON.parse(a.text).uploadUrl, /^https:\/\/blobs\.example:8443\/camli\/upload\//);
    });
  });

  describe('early 413 on the local server (item 6)', () => {
    const big = LAMBDA_EVENT_LIMIT * 8;
    const post = (path: string, extra: string) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n${extra}\r\n`;

    it('answers a declared over-size body with 413 before any of it is sent', async () => {
      const { uploadUrl } = await preupload(target);
      const seen = await rawExchange(ts.url, post(new URL(uploadUrl).pathname, `Content-Length: ${big}\r\n`), { until: /\r\n\r\n/ });
      assert.match(seen, /^HTTP\/1\.1 413 /);
    });

    it('answers Expect: 100-continue with an over-size Content-Length with 413, never 100 Continue', async () => {
      const seen = await rawExchange(
        ts.url,
        post('/camli/upload', `Content-Length: ${big}\r\nExpect: 100-continue\r\nAuthorization: ${auth.authorization}\r\n`),
        {
          until: /\r\n\r\n/,
        },
      );
      assert.match(seen, /^HTTP\/1\.1 413 /);
      assert.doesNotMatch(seen, /100 Continue/);
    });

    it('still answers Expect: 100-continue for a body within the cap with 100 Continue', async () => {
      const seen = await rawExchange(ts.url, post('/camli/upload', `Content-Length: 10\r\nExpect: 100-continue\r\nAuthorization: ${auth.authorization}\r\n`), {
        until: /100 Continue\r\n\r\n/,
      });
      assert.match(seen, /^HTTP\/1\.1 100 Continue/);
    });

    it('cuts a chunked body that never ends at the cap with 413', async () => {
      const { uploadUrl } = await preupload(target);
      const chunk = Buffer.alloc(1 << 20, 0x61);
      const chunks = Buffer.concat(
        Array.from({ length: Math.ceil(LAMBDA_EVENT_LIMIT / chunk.length) + 1 }, () =>
          Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
        ),
      );
      // No terminating 0-length chunk: the body never ends unless the server stops reading it.
      const seen = await rawExchange(ts.url, post(new URL(uploadUrl).pathname, 'Transfer-Encoding: chunked\r\n'), { body: chunks, until: /\r\n\r\n/ });
      assert.match(seen, /^HTTP\/1\.1 413 /);
    });
  });

  describe('HTTP caching and ranges on GET (item 9)', () => {
    const get = (ref: string, headers: Record<string, string> = {}, method = 'GET') =>
      fetch(`${ts.url}/camli/${ref}`, { method, headers: { ...auth, ...headers } });

    it('answers ETag (the quoted blobref) and If-None-Match with 304 and no body', async () => {
      const b = newBlob(100);
      await store(target, b);
      const full = await get(b.ref);
      assert.equal(full.status, 200);
      assert.equal(full.headers.get('etag'), `"${b.ref}"`);
      assert.equal(full.headers.get('accept-ranges'), 'bytes');
      // Blob bytes are never sniffed into HTML or script by a browser (issue 25).
      assert.equal(full.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await full.arrayBuffer()), b.data);
      const head = await get(b.ref, {}, 'HEAD');
      assert.equal(head.headers.get('etag'), `"${b.ref}"`);
      const cached = await get(b.ref, { 'if-none-match': `"${b.ref}"` });
      assert.equal(cached.status, 304);
      assert.equal(cached.headers.get('etag'), `"${b.ref}"`);
      assert.equal((await cached.arrayBuffer()).byteLength, 0);
      assert.equal((await get(b.ref, { 'if-none-match': '"sha224-other"' })).status, 200);
    });

    it('answers a single Range with 206 and exactly those bytes; past the end 416; several ranges in full', async () => {
      const b = newBlob(100);
      await store(target, b);
      for (const [range, start, end] of [
        ['bytes=10-19', 10, 19],
        ['bytes=-5', 95, 99],
        ['bytes=90-', 90, 99],
      ] as const) {
        const r = await get(b.ref, { range });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers.get('x-content-type-options'), 'nosniff', range);
        assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/100`);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), b.data.subarray(start, end + 1), range);
      }
      const past = await get(b.ref, { range: 'bytes=100-' });
      assert.equal(past.status, 416);
      assert.equal(past.headers.get('content-range'), 'bytes */100');
      assert.ok((JSON.parse(await past.text()) as { errorText?: string }).errorText);
      const several = await get(b.ref, { range: 'bytes=0-1,5-6' });
      assert.equal(several.status, 200);
      assert.deepEqual(Buffer.from(await several.arrayBuffer()), b.data);
    });
  });

  describe('storage generation in discovery (item 10)', () => {
    const discover = async (url: string) => {
      const r = await fetch(`${url}/?camli.mode=config`, { headers: auth });
      assert.equal(r.status, 200);
      return (await r.json()) as { storageGeneration?: string; storageInitTime?: string };
    };

    it('is the same on every instance of one store and across restarts, and new for a new store', async (t) => {
      const first = await discover(ts.url);
      assert.match(first.storageGeneration ?? '', /^[0-9a-f]{32}$/);
      assert.ok(!Number.isNaN(Date.parse(first.storageInitTime ?? '')));
      const sibling = await ts.startSibling({});
      assert.deepEqual(await discover(sibling.url), first, 'another instance on the same store');
      await sibling.close();
      await ts.restart();
      target.url = ts.url;
      assert.deepEqual(await discover(ts.url), first, 'after a restart');

      const other = await startTestServer(dynaliteBackend);
      t.after(() => other.close());
      assert.notEqual((await discover(other.url)).storageGeneration, first.storageGeneration, 'a new store');
    });
  });
});

describe('local restart after a crash (item 7)', () => {
  it('starts on a data directory where s3rver left empty metadata files, every acknowledged blob intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blobserver-crash-'));
    const env = { BLOBSERVER_DATA_DIR: dir, PORT: '0', BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
    try {
      let server = await startLocalServer(env);
      const blobs = [newBlob(300), newBlob(5000)];
      await store({ url: server.url, authorization: basicAuth() }, ...blobs);
      await server.close();

      // What kill -9 in the middle of s3rver's PutObject leaves: the object's bytes, an empty
      // metadata file. Once for an upload that was never acknowledged (its own fresh key), once
      // next to the acknowledged blobs' pack (no later write touches an acknowledged object's
      // key, but start-up must not trip over such a file either).
      const bucketDir = join(dir, 's3', server.config.bucketName);
      const inflight = newBlob(64);
      const inflightKey = newBlobKey(inflight.ref);
      await mkdir(dirname(join(bucketDir, inflightKey)), { recursive: true });
      await writeFile(join(bucketDir, `${inflightKey}._S3rver_object`), inflight.data.subarray(0, 10));
      await writeFile(join(bucketDir, `${inflightKey}._S3rver_metadata.json`), '');
      const objects = (await readdir(bucketDir, { recursive: true })).filter((f) => f.endsWith('._S3rver_object'));
      const pack = objects.find((f) => f.startsWith('packs/'));
      assert.ok(pack, `no pack among ${objects.join(', ')}`);
      await writeFile(join(bucketDir, pack.replace(/\._S3rver_object$/, '._S3rver_metadata.json')), '');

      server = await startLocalServer(env);
      try {
        for (const b of blobs) {
          const r = await fetch(`${server.url}/camli/${b.ref}`, { headers: auth });
          assert.equal(r.status, 200, `${b.ref}: ${r.status}`);
          assert.deepEqual(Buffer.from(await r.arrayBuffer()), b.data);
        }
        // The unacknowledged one is absent and uploads normally.
        const target = { url: server.url, authorization: basicAuth() };
        assert.deepEqual(await have(target, inflight.ref), []);
        await store(target, inflight);
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
