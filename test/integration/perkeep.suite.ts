import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { after, afterEach, before, describe, it } from 'node:test';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { INDEX_SCHEMA, SHARDS, shardOf } from '../../lambda/core/storage/index-schema.js';
import { legacyBlobKey, newBlobKey } from '../../lambda/core/storage/object-keys.js';
import { MAX_BLOB_SIZE, MAX_ENUMERATE_LIMIT, MAX_INLINE_BLOB_SIZE, MAX_REFS_PER_REQUEST, PRESIGNED_GET_TTL_SECONDS } from '../../lambda/core/limits.js';
import { ROUTES, routeKey, type Route } from '../../lambda/routes.js';
import type { LocalServer } from '../../local/server.js';
import { DYNAMODB_FAILURE, S3_FAILURE, type ProxiedRequest } from '../support/aws-proxy.js';
import { emulatorCredentials, isPutObjectOf, objectKeyOf } from '../support/storage.js';
import { basicAuth, multipartBody, startTestServer, type Lane, type Part, type TestServer } from '../support/test-server.js';
import type { DiscoveryDoc } from '../support/discovery.js';
import { assertJsonError, request, type Reply, type RequestOptions } from '../support/http.js';
import { postFormRedirected, type UploadForm } from '../support/upload-form.js';
import { blobForm, newBlob, part, type Blob } from './seed.suite.js';
import { follow } from './upload-form.suite.js';

/**
 * Perkeep's current protocol (DESIGN §4) and its credentials (§5) over real HTTP against the
 * local server: discovery, stat, batch upload, get/head, enumerate-blobs, remove. One
 * definition, run once per emulator lane. Servers sit behind request-recording, fault-injecting
 * proxies; what is stored is read from the emulators directly, never taken from the server.
 */

// ---------- HTTP helpers ----------

interface SizedRef {
  blobRef: string;
  size: number;
}

interface CallOptions extends Omit<RequestOptions, 'method'> {
  /** The Authorization header; null sends none. Default: the right credentials. */
  auth?: string | null;
}

/** The credentials the suite's server takes (set by definePerkeepSuite); null for an open server. */
let serverAuth: string | null = basicAuth();

function call<T = Record<string, unknown>>(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Reply<T>> {
  return request<T>(`${base}${path}`, { ...opts, method, auth: opts.auth === undefined ? serverAuth : opts.auth });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const sized = (...blobs: Blob[]): SizedRef[] => blobs.map((b) => ({ blobRef: b.ref, size: b.data.length }));

/** Perkeep's sort: plain string order of the blobref. */
const byRef = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function batchUpload(base: string, parts: Part[], opts: CallOptions = {}) {
  const { body, contentType } = multipartBody(parts);
  return call<{ received: SizedRef[]; errorText?: string }>(base, 'POST', '/camli/upload', {
    ...opts,
    headers: { 'content-type': contentType, ...opts.headers },
    body,
  });
}

/** Upload through POST /camli/upload and insist that every blob was received. */
async function upload(base: string, ...blobs: Blob[]): Promise<void> {
  for (let i = 0; i < blobs.length; i += 100) {
    const chunk = blobs.slice(i, i + 100);
    const r = await batchUpload(
      base,
      chunk.map((b) => part(b)),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { received: sized(...chunk) });
  }
}

async function statPost(base: string, refs: string[], fields?: Record<string, string>) {
  return call<{ stat: SizedRef[]; canLongPoll: boolean }>(base, 'POST', '/camli/stat', { headers: FORM, body: blobForm(refs, fields) });
}

async function statGet(base: string, refs: string[], fields?: Record<string, string>) {
  return call<{ stat: SizedRef[]; canLongPoll: boolean }>(base, 'GET', `/camli/stat?${blobForm(refs, fields)}`);
}

/** The refs among these that stat (POST) calls stored. */
async function stored(base: string, ...refs: string[]): Promise<string[]> {
  const r = await statPost(base, refs);
  assert.equal(r.status, 200, r.text);
  return r.json!.stat.map((s) => s.blobRef);
}

interface Page {
  blobs: SizedRef[];
  continueAfter?: string;
  canLongPoll?: boolean;
}

async function enumerate(base: string, query: Record<string, string> = {}) {
  return call<Page>(base, 'GET', `/camli/enumerate-blobs?${new URLSearchParams(query)}`);
}

/** Every page from `after` on, following continueAfter until it is absent. */
async function enumerateAll(base: string, limit: number, after = ''): Promise<Page[]> {
  const pages: Page[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const r = await enumerate(base, { after, limit: String(limit) });
    assert.equal(r.status, 200, r.text);
    pages.push(r.json!);
    if (r.json!.continueAfter === undefined) return pages;
    after = r.json!.continueAfter;
  }
  assert.fail('enumerate never ended');
}

const operations = (reqs: ProxiedRequest[], op: string) => reqs.filter((r) => r.operation === op).length;

/** Whether a request seen in front of S3 is a DeleteObject of this blob's own object. */
const isDeleteObjectOf = (req: ProxiedRequest, ref: string) => req.method === 'DELETE' && objectKeyOf(req).startsWith(legacyBlobKey(ref));

/** The blobref a DynamoDB DeleteItem seen by a proxy removes. */
function deleteItemRef(req: ProxiedRequest): string | undefined {
  if (req.operation !== 'DeleteItem') return undefined;
  return (JSON.parse(req.body.toString('utf8')) as { Key?: Record<string, { S?: string }> }).Key?.[INDEX_SCHEMA.sortKey]?.S;
}

/** Index rows (pointing at objects that do not exist) written straight into DynamoDB, not through the server, in BatchWriteItem chunks. */
async function writeRows(ts: TestServer, rows: SizedRef[]): Promise<void> {
  const env = ts.backend.env;
  const ddb = new DynamoDBClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
    credentials: emulatorCredentials(env),
  });
  // BatchWriteItem chunks of 25, several at once, unprocessed items retried.
  const storedAt = new Date().toISOString();
  const failed = await new DynamoBlobIndex(ddb, ts.server.config.tableName).put(
    rows.map((r) => ({ ...r, key: legacyBlobKey(r.blobRef), storedAt })),
    Date.now() + 3600_000,
  );
  assert.deepEqual(failed, []);
  ddb.destroy();
}

/** A blob stored through the storage module, not through HTTP (too large for one upload request). */
async function storeDirectly(server: LocalServer, b: Blob): Promise<void> {
  const out = await server.deps.storage.storeVerifiedBlobs([{ ref: b.ref, bytes: b.data }]);
  assert.deepEqual(out.errors, []);
}

// ---------- the suite ----------

/**
 * Where the suite runs: a local server on an emulator lane (every test), or an already running
 * server (`npm run test:remote`), where the tests that need the server's storage, its AWS
 * proxies or siblings with other settings report skipped.
 */
export type PerkeepTarget =
  | { kind: 'local'; lane: Lane }
  | { kind: 'remote'; name: string; url?: string | undefined; authorization?: string | undefined; skip?: string | undefined };

export function definePerkeepSuite(target: PerkeepTarget): void {
  const lane = target.kind === 'local' ? target.lane : undefined;
  const remote = target.kind === 'remote' ? target : undefined;
  const skip = lane ? lane.unavailable() : (remote?.skip ?? (remote?.url ? undefined : 'no remote server: run `npm run test:remote -- <BASE_URL>`'));
  const localOnly = remote ? 'needs a local server: its storage, AWS proxies or siblings with other settings' : false;
  if (remote) serverAuth = remote.authorization ?? null;

  describe(`Perkeep protocol [${lane?.name ?? remote!.name}]`, { skip }, () => {
    /** The local server (undefined remotely); removal disabled (the default). */
    let ts: TestServer;
    /** Same storage and proxies, BLOBSERVER_ALLOW_REMOVE=true (undefined remotely). */
    let removable: LocalServer | undefined;
    /** The server's base URL. */
    let base: string;
    before(async () => {
      if (!lane) {
        base = remote!.url!;
        return;
      }
      ts = await startTestServer(lane.factory, {}, { proxy: true });
      removable = await ts.startSibling({ BLOBSERVER_ALLOW_REMOVE: 'true' });
      base = ts.url;
    });
    afterEach(() => {
      ts?.proxies?.s3.setFault(undefined);
      ts?.proxies?.dynamodb.setFault(undefined);
    });
    after(async () => {
      await ts?.close();
    });

    describe('discovery (GET /)', () => {
      const expectDiscovery = (r: Reply<DiscoveryDoc>) => {
        assert.equal(r.status, 200, r.text);
        // Perkeep's client refuses anything but exactly this.
        assert.equal(r.headers.get('content-type'), 'text/javascript');
        const d = r.json;
        assert.ok(d, 'a JSON body');
        assert.equal(d.blobRoot, '/');
        assert.deepEqual(d.blobHashFuncs, ['sha224', 'sha1']);
        assert.equal(d.statusRoot, '/status/');
        assert.equal(d.searchRoot, '', 'no search handler: clients must not try one');
        assert.equal(d.signing, undefined, 'no signing handler');
        // Perkeep's client keys its have-cache by these (issue 8 item 10).
        assert.match(String(d.storageGeneration), /^[0-9a-f]{32}$/);
        assert.ok(!Number.isNaN(Date.parse(String(d.storageInitTime))), String(d.storageInitTime));
        assert.equal(d.hasLegacySHA1Index, false);
      };

      it('answers Accept: text/x-camli-configuration with the discovery document', async () => {
        expectDiscovery(await call(base, 'GET', '/', { headers: { accept: 'text/x-camli-configuration' } }));
        expectDiscovery(await call(base, 'GET', '/', { headers: { accept: 'text/html, TEXT/X-Camli-Configuration;q=0.9' } }));
      });

      it('answers ?camli.mode=config with the discovery document', async () => {
        expectDiscovery(await call(base, 'GET', '/?camli.mode=config'));
      });

      it('answers a plain GET / with a pointer, not the document', async () => {
        const r = await call(base, 'GET', '/', { headers: { accept: 'text/html' } });
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
        assert.match(r.text, /text\/x-camli-configuration/);
        assert.equal(r.json, undefined);
      });

      it('serves status.json under the advertised statusRoot', async () => {
        const d = (await call(base, 'GET', '/?camli.mode=config')).json as { statusRoot: string };
        const r = await call(base, 'GET', `${d.statusRoot}status.json`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual((r.json as { errors: unknown }).errors, []);
      });
    });

    describe('credentials (DESIGN §5)', () => {
      /** A namespace route's requests go to this namespace (DESIGN §12); the root's to the root. */
      const NS = 'creds';
      /** The namespace prefix of a route's requests, and the route as the root namespace's. */
      const inNamespace = (route: Route): { prefix: string; rootPath: string } =>
        route.path.startsWith('/{namespace}')
          ? { prefix: `/${NS}`, rootPath: route.path === '/{namespace}/{rest+}' ? '/' : route.path.slice('/{namespace}'.length) || '/' }
          : { prefix: '', rootPath: route.path };
      /** A well-formed request for a route, so only the credentials can be what is refused. */
      const requestFor = (route: Route, b: Blob, fresh: Blob, credentialId?: string): { path: string; opts: CallOptions } => {
        const { prefix, rootPath } = inNamespace(route);
        const path = prefix + rootPath.replace('{blobref}', b.ref);
        if (route.method === 'POST' && rootPath === '/camli/upload') {
          const { body, contentType } = multipartBody([part(fresh)]);
          return { path, opts: { headers: { 'content-type': contentType }, body } };
        }
        // Issue 27's admin routes take JSON: clearing a limit nobody set changes nothing; a new
        // read-only credential for the test's namespace (revoked by the revoke route's test).
        const asJson = (body: unknown): CallOptions => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (rootPath === '/admin/quotas') return { path, opts: asJson({ namespace: NS, maxBytes: null }) };
        if (route.method === 'POST' && rootPath === '/admin/credentials')
          return { path, opts: asJson({ label: 'route test', namespaces: [NS], operations: ['read'] }) };
        if (rootPath === '/admin/credentials/{id}/revoke') return { path: path.replace('{id}', credentialId ?? '{id}'), opts: {} };
        if (route.method === 'POST') return { path, opts: { headers: FORM, body: blobForm([b.ref]) } };
        if (rootPath === '/camli/stat') return { path: `${path}?${blobForm([b.ref])}`, opts: {} };
        if (rootPath === '/') return { path: `${prefix}/?camli.mode=config`, opts: {} };
        return { path, opts: {} };
      };
      // Signed-token routes (upload URL, upload-form completion) take no credentials: their token is the capability.
      const guarded = ROUTES.filter((r) => r.auth === 'basic');

      it('covers every route but the signed-token ones (a new route cannot slip through)', () => {
        assert.ok(guarded.length >= 10, `only ${guarded.length} routes`);
        for (const key of [
          'GET /',
          'POST /camli/stat',
          'GET /camli/stat',
          'GET /camli/{blobref}',
          'HEAD /camli/{blobref}',
          'GET /camli/enumerate-blobs',
          'POST /camli/upload',
          'POST /camli/remove',
        ]) {
          assert.ok(
            guarded.some((r) => routeKey(r) === key),
            `${key} is not a route`,
          );
        }
      });

      for (const route of guarded) {
        const open = remote && !remote.authorization ? 'the server is open (no BLOBSERVER_TEST_AUTH)' : false;
        it(`${routeKey(route)}: 401 with a Basic challenge without valid credentials, and no effect`, {
          skip: open || (inNamespace(route).rootPath === '/camli/remove' && localOnly),
        }, async () => {
          const [b, fresh] = [newBlob(50), newBlob(60)];
          const { prefix } = inNamespace(route);
          await upload(`${base}${prefix}`, b);
          // Removal is refused with 403 by the default server: ask the one that would remove.
          const server = inNamespace(route).rootPath === '/camli/remove' ? removable!.url : base;
          // The revoke route needs a credential to revoke: one the owner adds.
          let credentialId: string | undefined;
          if (route.path === '/admin/credentials/{id}/revoke') {
            const added = await call<{ id: string }>(
              base,
              'POST',
              '/admin/credentials',
              requestFor(ROUTES.find((r) => r.method === 'POST' && r.path === '/admin/credentials')!, b, fresh).opts,
            );
            assert.equal(added.status, 201, added.text);
            credentialId = added.json!.id;
          }
          const { path, opts } = requestFor(route, b, fresh, credentialId);
          for (const auth of [null, basicAuth('alice', 'wrong password'), basicAuth('mallory', 'correct horse battery staple'), 'Bearer abc']) {
            const r = await call(server, route.method, path, { ...opts, auth });
            assert.equal(r.status, 401, `${auth}: ${r.text}`);
            assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /);
            if (route.method !== 'HEAD') assertJsonError(r, 401);
          }
          // Nothing happened: the blob is still there, the fresh one was not stored.
          assert.deepEqual(await stored(`${server}${prefix}`, b.ref, fresh.ref), [b.ref]);
          if (ts) assert.equal(await ts.storage.object(fresh.ref), undefined);
          // And with the right credentials the same request is not refused.
          const ok = await call(server, route.method, path, opts);
          assert.ok(ok.status < 400, `${routeKey(route)} with credentials: ${ok.status} ${ok.text}`);
        });
      }
    });

    describe('stat (GET and POST /camli/stat)', () => {
      it('lists stored blobs with their sizes in request order, omits absent ones, canLongPoll false', async () => {
        const [a, b, absent] = [newBlob(33), newBlob(44, 'sha1'), newBlob(55)];
        await upload(base, a, b);
        for (const r of [await statPost(base, [b.ref, absent.ref, a.ref]), await statGet(base, [b.ref, absent.ref, a.ref])]) {
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(r.json, { stat: sized(b, a), canLongPoll: false });
        }
        const none = await statGet(base, [absent.ref]);
        assert.deepEqual(none.json, { stat: [], canLongPoll: false });
      });

      it('shares preupload parsing and answer: same refusals, same stored set', async () => {
        const [a, absent] = [newBlob(20), newBlob(21)];
        await upload(base, a);
        // [what, form, status, also by GET] (1001 refs do not fit in a URL: POST only).
        const forms: Array<[string, string, number, boolean]> = [
          ['valid', blobForm([a.ref, absent.ref, a.ref]), 200, true],
          ['no camliversion', blobForm([a.ref], {}), 400, true],
          ['malformed blob2', blobForm([a.ref, 'sha1-XYZ']), 400, true],
          ['too many refs', blobForm(Array.from({ length: MAX_REFS_PER_REQUEST + 1 }, () => newBlob(4).ref)), 400, false],
          ['gap after blob1', `camliversion=1&blob1=${a.ref}&blob3=${absent.ref}`, 200, true],
        ];
        for (const [what, form, status, byGet] of forms) {
          const viaPreupload = await call<{ alreadyHave?: SizedRef[]; errorText?: string }>(base, 'POST', '/camli/preupload', { headers: FORM, body: form });
          const viaStat = [await call<{ stat?: SizedRef[]; errorText?: string }>(base, 'POST', '/camli/stat', { headers: FORM, body: form })];
          if (byGet) viaStat.push(await call<{ stat?: SizedRef[]; errorText?: string }>(base, 'GET', `/camli/stat?${form}`));
          assert.equal(viaPreupload.status, status, `${what}: ${viaPreupload.text}`);
          for (const r of viaStat) {
            if (status !== 200) {
              assertJsonError(r, status);
              assert.equal(r.json!.errorText, viaPreupload.json!.errorText, what);
            } else {
              assert.equal(r.status, 200, `${what}: ${r.text}`);
              assert.deepEqual(r.json!.stat, [{ blobRef: a.ref, size: 20 }], what);
              assert.deepEqual(viaPreupload.json!.alreadyHave, r.json!.stat, what);
            }
          }
        }
        assertJsonError(await call(base, 'GET', `/camli/stat?${blobForm([a.ref, 'sha1-XYZ'])}`), 400, /blob2/);
      });

      it('ignores maxwaitsec (no long polling): answers at once', async () => {
        const started = Date.now();
        const r = await statPost(base, [newBlob().ref], { camliversion: '1', maxwaitsec: '20' });
        assert.deepEqual(r.json, { stat: [], canLongPoll: false });
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      });
    });

    describe('batch upload (POST /camli/upload)', () => {
      it('stores verified parts and answers 200 {received, errorText} for the refused ones', { skip: localOnly }, async () => {
        const [good, goodSha1, mismatched, typeless] = [newBlob(300), newBlob(200, 'sha1'), newBlob(100), newBlob(150)];
        const impostor = newBlob(100);
        const r = await batchUpload(base, [part(good), { name: mismatched.ref, data: impostor.data }, part(goodSha1), part(typeless, { contentType: null })]);
        // 200, never the optional 303: Perkeep's client follows that without credentials.
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.json!).sort(), ['errorText', 'received']);
        assert.deepEqual(r.json!.received, sized(good, goodSha1));
        assert.match(r.json!.errorText!, new RegExp(mismatched.ref));
        assert.match(r.json!.errorText!, new RegExp(typeless.ref));
        for (const b of [good, goodSha1]) {
          assert.deepEqual(await ts.storage.objectBytes(b.ref), b.data);
          assert.equal((await ts.storage.row(b.ref))?.size, b.data.length);
        }
        for (const b of [mismatched, typeless]) {
          assert.equal(await ts.storage.object(b.ref), undefined);
          assert.equal(await ts.storage.row(b.ref), undefined);
        }
      });

      it('answers without errorText when every part is stored, and re-uploading does not rewrite', { skip: localOnly }, async () => {
        const b = newBlob(400);
        await upload(base, b);
        const puts = () => ts.proxies!.s3.requests.filter((q) => isPutObjectOf(q, b.ref)).length;
        assert.equal(puts(), 1);
        await upload(base, b); // asserts {received: [b]} and no errorText
        assert.equal(puts(), 1, 'the stored blob was written again');
      });

      it('refuses a body that is not multipart (400) and one over maxUploadSize (413); nothing stored', { skip: localOnly }, async (t) => {
        const b = newBlob(2000);
        const notMultipart = await call(base, 'POST', '/camli/upload', { headers: FORM, body: blobForm([b.ref]) });
        assertJsonError(notMultipart, 400);
        const small = await ts.startSibling({ BLOBSERVER_MAX_UPLOAD_SIZE: '1000' });
        t.after(() => small.close());
        assertJsonError(await batchUpload(small.url, [part(b)]), 413, /maxUploadSize/);
        assert.equal(await ts.storage.object(b.ref), undefined);
        assert.equal(await ts.storage.row(b.ref), undefined);
      });
    });

    describe('get and head (GET/HEAD /camli/<blobref>)', () => {
      it('GET serves the bytes with explicit Content-Length, application/octet-stream and X-Camli-Blob-Size', async () => {
        for (const b of [newBlob(1234), newBlob(1, 'sha1')]) {
          await upload(base, b);
          const r = await call(base, 'GET', `/camli/${b.ref}`);
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(r.bytes, b.data);
          assert.equal(r.headers.get('content-type'), 'application/octet-stream');
          assert.equal(r.headers.get('content-length'), String(b.data.length));
          assert.equal(r.headers.get('x-camli-blob-size'), String(b.data.length));
        }
      });

      it('HEAD answers 200 with the real length and no body', async () => {
        const b = newBlob(4321);
        await upload(base, b);
        const r = await call(base, 'HEAD', `/camli/${b.ref}`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-length'), '4321');
        assert.equal(r.headers.get('x-camli-blob-size'), '4321');
        assert.equal(r.headers.get('content-type'), 'application/octet-stream');
        assert.equal(r.bytes.length, 0);
      });

      it('answers 404 for an absent blob (GET with a JSON errorText, HEAD without a body)', async () => {
        const absent = newBlob(10);
        assertJsonError(await call(base, 'GET', `/camli/${absent.ref}`), 404);
        const head = await call(base, 'HEAD', `/camli/${absent.ref}`);
        assert.equal(head.status, 404);
        assert.equal(head.bytes.length, 0);
      });

      it('answers 400 for a malformed blobref', async () => {
        const sha1 = newBlob(8, 'sha1').ref;
        const bad = [
          sha1.toUpperCase().replace('SHA1', 'sha1'),
          sha1.slice(0, -1),
          `${sha1}0`,
          `md5-${'a'.repeat(32)}`,
          'sha224-xyz',
          'nonsense',
          `${sha1}%20`,
        ];
        for (const ref of bad) {
          assertJsonError(await call(base, 'GET', `/camli/${ref}`), 400);
          assert.equal((await call(base, 'HEAD', `/camli/${ref}`)).status, 400, ref);
        }
      });

      it('never serves an object that has no index row', { skip: localOnly }, async () => {
        const orphan = newBlob(77);
        await ts.server.deps.storage.store.create(newBlobKey(orphan.ref), orphan.data);
        assert.ok(await ts.storage.object(orphan.ref), 'the object should exist');
        assertJsonError(await call(base, 'GET', `/camli/${orphan.ref}`), 404);
        assert.equal((await call(base, 'HEAD', `/camli/${orphan.ref}`)).status, 404);
        assert.deepEqual(await stored(base, orphan.ref), []);
      });

      it('answers 500 without internals, never the bytes, when the stored object does not match its ref', { skip: localOnly }, async () => {
        const b = newBlob(64);
        await upload(base, b);
        // Objects are immutable: point the row at another object of the same size with other bytes.
        const { index, store } = ts.server.deps.storage;
        const row = (await index.get([b.ref])).get(b.ref)!;
        const other = newBlobKey(b.ref);
        await store.create(other, newBlob(64).data);
        assert.deepEqual(await index.put([{ blobRef: b.ref, size: 64, key: other, storedAt: new Date().toISOString() }]), []);
        assert.notEqual(row.key, other);
        const r = await call(base, 'GET', `/camli/${b.ref}`);
        assertJsonError(r, 500, /request id/);
        assert.doesNotMatch(r.text, /does not match|blobs\//);
      });

      it(`serves a blob of exactly ${MAX_INLINE_BLOB_SIZE} bytes inline, within Lambda's 6 MB response cap`, { skip: localOnly }, async () => {
        const b = newBlob(MAX_INLINE_BLOB_SIZE);
        await storeDirectly(ts.server, b);
        const r = await call(base, 'GET', `/camli/${b.ref}`);
        assert.equal(r.status, 200, r.text.slice(0, 300));
        assert.equal(r.headers.get('content-length'), String(MAX_INLINE_BLOB_SIZE));
        assert.ok(r.bytes.equals(b.data), 'bytes differ');
      });

      it(`a blob of the ${MAX_BLOB_SIZE}-byte limit, uploaded through uploadForm (DESIGN §6), is served back by GET (307 to S3), HEAD, stat and enumerate`, async () => {
        const b = newBlob(MAX_BLOB_SIZE);
        const pre = await call<{ uploadForm: UploadForm }>(base, 'POST', '/camli/preupload', { headers: FORM, body: blobForm([b.ref]) });
        assert.equal(pre.status, 200, pre.text);
        const done = await follow(await postFormRedirected(pre.json!.uploadForm, b.data, b.ref));
        assert.deepEqual(done.json.received, sized(b), done.text);
        const r = await call(base, 'GET', `/camli/${b.ref}`, { redirect: 'follow' });
        assert.equal(r.status, 200);
        assert.ok(r.bytes.equals(b.data), 'GET served other bytes');
        const head = await call(base, 'HEAD', `/camli/${b.ref}`);
        assert.equal(head.headers.get('x-camli-blob-size'), String(MAX_BLOB_SIZE));
        assert.deepEqual(await stored(base, b.ref), [b.ref]);
        const page = await enumerate(base, { after: b.ref.slice(0, -1), limit: '1' });
        assert.deepEqual(page.json!.blobs, sized(b));
      });

      it('redirects a larger blob (307) to a short-lived presigned S3 URL that serves the bytes', { skip: localOnly }, async () => {
        const b = newBlob(MAX_INLINE_BLOB_SIZE + 1);
        await storeDirectly(ts.server, b);
        const r = await call(base, 'GET', `/camli/${b.ref}`);
        assert.equal(r.status, 307, r.text.slice(0, 300));
        assert.equal(r.headers.get('cache-control'), 'no-store');
        assert.equal(r.headers.get('x-camli-blob-size'), String(b.data.length));
        const location = new URL(r.headers.get('location') ?? assert.fail('no Location'));
        assert.ok(location.pathname.includes(`/${legacyBlobKey(b.ref)}/`), location.pathname);
        assert.ok(location.searchParams.get('X-Amz-Signature'), 'not presigned');
        assert.equal(Number(location.searchParams.get('X-Amz-Expires')), PRESIGNED_GET_TTL_SECONDS);
        // Go's client (Perkeep's) keeps the caller's Authorization on a same-hostname redirect,
        // which S3 refuses next to a presigned query: the hostnames must differ.
        assert.notEqual(location.hostname, new URL(base).hostname);
        const fetched = await fetch(location);
        assert.equal(fetched.status, 200);
        assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(b.data), 'presigned URL served other bytes');
        // Following the redirect with a client that drops credentials across hosts works end to end.
        const followed = await call(base, 'GET', `/camli/${b.ref}`, { redirect: 'follow' });
        assert.equal(followed.status, 200);
        assert.ok(followed.bytes.equals(b.data));
        // HEAD needs no redirect: it carries the length itself.
        const head = await call(base, 'HEAD', `/camli/${b.ref}`);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(b.data.length));
      });

      it('uses the redirect for smaller blobs when BLOBSERVER_MAX_INLINE_GET_SIZE is lowered', { skip: localOnly }, async (t) => {
        const low = await ts.startSibling({ BLOBSERVER_MAX_INLINE_GET_SIZE: '100' });
        t.after(() => low.close());
        const [small, big] = [newBlob(100), newBlob(101)];
        // Stored by the low-limit server: it packs nothing above its inline limit (a packed blob has no object of its own to redirect to).
        await upload(low.url, small, big);
        assert.equal((await call(low.url, 'GET', `/camli/${small.ref}`)).status, 200);
        const r = await call(low.url, 'GET', `/camli/${big.ref}`);
        assert.equal(r.status, 307);
        const fetched = await fetch(r.headers.get('location')!);
        assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(big.data));
      });
    });

    describe('enumerate (GET /camli/enumerate-blobs)', { skip: localOnly }, () => {
      /** A server of its own, so the listing holds exactly these blobs. */
      let en: TestServer;
      let all: Blob[];
      let refs: string[];
      before(async () => {
        en = await startTestServer(lane!.factory, {}, { proxy: true });
        all = [...Array.from({ length: 125 }, () => newBlob(16, 'sha1')), ...Array.from({ length: 125 }, () => newBlob(16, 'sha224'))];
        await upload(en.url, ...all);
        refs = all.map((b) => b.ref).sort(byRef);
      });
      /** The i-th stored ref in listing order (the test fails if there are fewer). */
      const refAt = (i: number): string => {
        const ref = refs[i];
        assert.ok(ref, `a ref at ${i} of ${refs.length}`);
        return ref;
      };
      afterEach(() => en.proxies!.dynamodb.setFault(undefined));
      after(async () => {
        await en?.close();
      });

      it('pages through 250 mixed sha1/sha224 blobs: sorted, strictly after, no gaps or repeats, continueAfter until the end', async () => {
        const pages = await enumerateAll(en.url, 100);
        assert.deepEqual(
          pages.map((p) => p.blobs.length),
          [100, 100, 50],
        );
        assert.deepEqual(
          pages.map((p) => p.continueAfter),
          [refs[99], refs[199], undefined],
        );
        const listed = pages.flatMap((p) => p.blobs);
        assert.deepEqual(
          listed.map((b) => b.blobRef),
          refs,
        );
        assert.ok(listed.every((b) => b.size === 16));
        // Every sha1- ref sorts before every sha224- ref (md5- would come first; we accept neither).
        assert.ok(listed.slice(0, 125).every((b) => b.blobRef.startsWith('sha1-')));
        assert.ok(listed.slice(125).every((b) => b.blobRef.startsWith('sha224-')));
        assert.ok(pages.every((p) => p.canLongPoll === false));
      });

      it('defaults to 100 per page and clamps nothing below the maximum', async () => {
        const r = await enumerate(en.url);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json!.blobs.length, 100);
        assert.equal(r.json!.continueAfter, refs[99]);
        const whole = await enumerate(en.url, { limit: '250' });
        assert.equal(whole.json!.blobs.length, 250);
        assert.equal(whole.json!.continueAfter, undefined, 'nothing follows the last blob');
        const huge = await enumerate(en.url, { limit: '99999999999999999999' });
        assert.equal(huge.json!.blobs.length, 250);
      });

      it('starts strictly after `after`, whether it is a stored ref, between refs, or outside them', async () => {
        const firstAfter = async (after: string) => (await enumerate(en.url, { after, limit: '1' })).json!.blobs[0]?.blobRef;
        assert.equal(await firstAfter(refAt(10)), refs[11], 'after a stored ref');
        assert.equal(await firstAfter(`${refs[10]}0`), refs[11], 'between two refs');
        assert.equal(await firstAfter(refAt(10).slice(0, -1)), refs[10], 'a prefix of a stored ref');
        assert.equal(await firstAfter(''), refs[0]);
        assert.equal(await firstAfter(`md5-${'f'.repeat(32)}`), refs[0], 'md5- sorts before sha1-');
        assert.equal(await firstAfter('sha2'), refs[125], 'between sha1- and sha224-');
        assert.equal(await firstAfter(`sha1-${'f'.repeat(40)}`), refs[125]);
        const end = await enumerate(en.url, { after: refAt(249) });
        assert.deepEqual(end.json, { blobs: [], canLongPoll: false });
        const beyond = await enumerate(en.url, { after: 'zzz' });
        assert.deepEqual(beyond.json, { blobs: [], canLongPoll: false });
        // Paging from the middle covers exactly the rest.
        const rest = (await enumerateAll(en.url, 7, refAt(200))).flatMap((p) => p.blobs.map((b) => b.blobRef));
        assert.deepEqual(rest, refs.slice(201));
      });

      it('refuses a limit that is not a positive integer and an absurd after with 400', async () => {
        for (const limit of ['0', '-1', 'abc', '1.5', '10e3']) assertJsonError(await enumerate(en.url, { limit }), 400, /limit/);
        assertJsonError(await enumerate(en.url, { after: 'x'.repeat(1000) }), 400, /after/);
      });

      it('costs one strongly consistent Query per range shard it reaches, never a scan or a GSI', async () => {
        const reqs = en.proxies!.dynamodb.requests;
        const count = async (limit: number) => {
          const from = reqs.length;
          const r = await enumerate(en.url, { limit: String(limit) });
          assert.equal(r.json!.blobs.length, limit);
          const seen = reqs.slice(from);
          for (const q of seen) {
            const body = JSON.parse(q.body.toString('utf8')) as { ConsistentRead?: boolean; IndexName?: string };
            assert.equal(body.ConsistentRead, true, 'an eventually consistent listing');
            assert.equal(body.IndexName, undefined, 'a GSI query');
          }
          return { query: operations(seen, 'Query'), scan: operations(seen, 'Scan'), total: seen.length };
        };
        // limit + 1 rows: the shards up to and including the one holding the (limit+1)-th ref.
        const reached = (limit: number) => SHARDS.indexOf(shardOf(refAt(limit))) + 1;
        assert.deepEqual(await count(10), { query: reached(10), scan: 0, total: reached(10) });
        assert.deepEqual(await count(250), { query: SHARDS.length, scan: 0, total: SHARDS.length });
      });

      it('lists exactly what stat says: a blob removed a moment ago is neither listed nor stat-ed', async (t) => {
        const removing = await en.startSibling({ BLOBSERVER_ALLOW_REMOVE: 'true' });
        t.after(() => removing.close());
        const gone = all.find((b) => b.ref === refs[1])!;
        const r = await call(removing.url, 'POST', '/camli/remove', { headers: FORM, body: blobForm([gone.ref]) });
        assert.equal(r.status, 200, r.text);
        const page = await enumerate(en.url, { limit: '2' });
        assert.deepEqual(
          page.json!.blobs.map((b) => b.blobRef),
          [refs[0], refs[2]],
        );
        assert.deepEqual(await stored(en.url, gone.ref), []);
        all = all.filter((b) => b !== gone);
        refs = refs.filter((ref) => ref !== gone.ref);
      });
    });

    describe(`enumerate limit clamp (${MAX_ENUMERATE_LIMIT})`, { skip: localOnly }, () => {
      let big: TestServer;
      let refs: string[];
      before(async () => {
        big = await startTestServer(lane!.factory);
        // 16 random bytes each: 4 would give two equal refs in about one run of a hundred (birthday bound).
        const rows = Array.from({ length: MAX_ENUMERATE_LIMIT + 5 }, () => ({ blobRef: newBlob(16).ref, size: 16 }));
        assert.equal(new Set(rows.map((r) => r.blobRef)).size, rows.length);
        await writeRows(big, rows);
        refs = rows.map((r) => r.blobRef).sort(byRef);
      });
      after(async () => {
        await big?.close();
      });

      it(`answers at most ${MAX_ENUMERATE_LIMIT} for a larger limit, with continueAfter to the rest`, async () => {
        const first = await enumerate(big.url, { limit: String(MAX_ENUMERATE_LIMIT * 3) });
        assert.equal(first.status, 200, first.text.slice(0, 300));
        assert.equal(first.json!.blobs.length, MAX_ENUMERATE_LIMIT);
        assert.equal(first.json!.continueAfter, refs[MAX_ENUMERATE_LIMIT - 1]);
        const rest = await enumerate(big.url, { limit: String(MAX_ENUMERATE_LIMIT + 1), after: first.json!.continueAfter! });
        assert.deepEqual(
          rest.json!.blobs.map((b) => b.blobRef),
          refs.slice(MAX_ENUMERATE_LIMIT),
        );
        assert.equal(rest.json!.continueAfter, undefined);
      });
    });

    describe('remove (POST /camli/remove)', () => {
      const remove = (base: string, refs: string[], fields: Record<string, string> = {}) =>
        call<{ removed: string[]; errorText?: string; error?: string }>(base, 'POST', '/camli/remove', { headers: FORM, body: blobForm(refs, fields) });

      it('is refused with 403 and a JSON errorText unless enabled; nothing is removed', { skip: localOnly }, async () => {
        const b = newBlob(90);
        await upload(base, b);
        const r = await remove(base, [b.ref]);
        assertJsonError(r, 403, /remov/);
        assert.equal(r.json!.error, r.json!.errorText, "Perkeep's client reports `error`");
        assert.deepEqual(await stored(base, b.ref), [b.ref]);
        assert.ok(await ts.storage.object(b.ref));
        assert.ok(await ts.storage.row(b.ref));
        assert.equal(ts.proxies!.dynamodb.requests.filter((q) => deleteItemRef(q) === b.ref).length, 0);
      });

      it('when enabled removes the row; stat, get, head and enumerate stop showing the blob', { skip: localOnly }, async () => {
        const [gone, kept] = [newBlob(91), newBlob(92, 'sha1')];
        await upload(base, gone, kept);
        const justBefore = gone.ref.slice(0, -1);
        const firstFrom = async () => (await enumerate(base, { after: justBefore, limit: '1' })).json!.blobs[0]?.blobRef;
        assert.equal(await firstFrom(), gone.ref, 'listed before removal');
        // Perkeep's client sends blob1..N without camliversion.
        const r = await remove(removable!.url, [gone.ref]);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { removed: [gone.ref] });
        assert.equal(await ts.storage.row(gone.ref), undefined);
        assert.equal(await ts.storage.object(gone.ref), undefined);
        assert.deepEqual(await stored(base, gone.ref, kept.ref), [kept.ref]);
        assert.equal((await call(base, 'GET', `/camli/${gone.ref}`)).status, 404);
        assert.equal((await call(base, 'HEAD', `/camli/${gone.ref}`)).status, 404);
        assert.notEqual(await firstFrom(), gone.ref, 'still listed after removal');
        assert.deepEqual((await call(base, 'GET', `/camli/${kept.ref}`)).bytes, kept.data);
      });

      /** Ages a blob's row past REMOVE_OBJECT_MIN_AGE_MS, as if it had been stored long ago. */
      const age = async (ref: string) => {
        const { index } = ts.server.deps.storage;
        const row = (await index.get([ref])).get(ref)!;
        assert.deepEqual(await index.put([{ ...row, storedAt: new Date(Date.now() - 3600_000).toISOString() }], Date.now() + 60_000), []);
      };

      it("deletes an old blob's own object after its row", { skip: localOnly }, async () => {
        const b = newBlob(97);
        await upload(base, b);
        const key = (await ts.storage.row(b.ref))!.key;
        await age(b.ref);
        const r = await remove(removable!.url, [b.ref]);
        assert.deepEqual(r.json, { removed: [b.ref] });
        const s3 = ts.proxies!.s3.requests;
        const deletes = s3.filter((q) => isDeleteObjectOf(q, b.ref));
        assert.deepEqual(deletes.map(objectKeyOf), [key]);
        assert.equal(await ts.storage.row(b.ref), undefined);
        assert.equal(await ts.storage.object(b.ref), undefined);
      });

      it('leaves a young object (a retried row write could still land) and packs to fsck', { skip: localOnly }, async () => {
        const [own, packed1, packed2] = [newBlob(98), newBlob(99), newBlob(100)];
        await upload(base, own);
        await upload(base, packed1, packed2);
        assert.ok((await ts.storage.row(packed1.ref))!.key.startsWith('packs/'));
        const r = await remove(removable!.url, [own.ref, packed1.ref]);
        assert.deepEqual(r.json, { removed: [own.ref, packed1.ref] });
        assert.ok(!ts.proxies!.s3.requests.some((q) => q.method === 'DELETE' && [own.ref, packed1.ref].some((ref) => isDeleteObjectOf(q, ref))));
        assert.equal(await ts.storage.row(own.ref), undefined);
        assert.ok(await ts.storage.object(own.ref), 'the unreferenced object waits for fsck');
        assert.deepEqual(await stored(base, own.ref, packed1.ref, packed2.ref), [packed2.ref]);
        assert.deepEqual((await call(base, 'GET', `/camli/${packed2.ref}`)).bytes, packed2.data, 'the pack still serves its other blob');
      });

      it('an object-delete failure after the row is gone still removes the blob (the object is left to fsck)', { skip: localOnly }, async () => {
        const b = newBlob(93);
        await upload(base, b);
        await age(b.ref);
        ts.proxies!.s3.setFault((req) => (isDeleteObjectOf(req, b.ref) ? S3_FAILURE : undefined));
        const r = await remove(removable!.url, [b.ref]);
        assert.ok(
          ts.proxies!.s3.requests.some((q) => isDeleteObjectOf(q, b.ref)),
          'the object delete was never tried',
        );
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { removed: [b.ref] });
        assert.equal(await ts.storage.row(b.ref), undefined);
        assert.ok(await ts.storage.object(b.ref));
        assert.deepEqual(await stored(base, b.ref), []);
        assert.equal((await call(base, 'GET', `/camli/${b.ref}`)).status, 404);
      });

      it('leaves the object untouched when the row delete fails', { skip: localOnly }, async () => {
        const b = newBlob(94);
        await upload(base, b);
        ts.proxies!.dynamodb.setFault((req) => (deleteItemRef(req) === b.ref ? DYNAMODB_FAILURE : undefined));
        const r = await remove(removable!.url, [b.ref]);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json!.removed, []);
        assert.match(r.json!.errorText!, new RegExp(b.ref));
        assert.ok(!ts.proxies!.s3.requests.some((q) => isDeleteObjectOf(q, b.ref)), 'the object delete was tried anyway');
        assert.ok(await ts.storage.row(b.ref));
        assert.ok(await ts.storage.object(b.ref));
        ts.proxies!.dynamodb.setFault(undefined);
        assert.deepEqual(await stored(base, b.ref), [b.ref]);
      });

      it('follows the form rules: a malformed ref is 400 naming its key and removes nothing; absent refs count as removed', { skip: localOnly }, async () => {
        const b = newBlob(95);
        await upload(base, b);
        assertJsonError(await remove(removable!.url, [b.ref, 'sha1-nope']), 400, /blob2/);
        assertJsonError(
          await remove(
            removable!.url,
            Array.from({ length: MAX_REFS_PER_REQUEST + 1 }, () => newBlob(4).ref),
          ),
          400,
        );
        assert.deepEqual(await stored(base, b.ref), [b.ref]);
        const absent = newBlob(96).ref;
        assert.deepEqual((await remove(removable!.url, [absent])).json, { removed: [absent] });
        assert.deepEqual((await remove(removable!.url, [])).json, { removed: [] });
        // camliversion is accepted too (our own clients send it).
        assert.deepEqual((await remove(removable!.url, [b.ref], { camliversion: '1' })).json, { removed: [b.ref] });
      });
    });
  });
}
