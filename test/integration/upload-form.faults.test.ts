import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { LocalServer } from '../../local/server.js';
import { DYNAMODB_FAILURE, S3_FAILURE, type AwsProxy, type FaultRule, type ProxiedRequest } from '../support/aws-proxy.js';
import { dynaliteBackend } from '../support/backends.js';
import { objectKeyOf, rowWriteRefs } from '../support/storage.js';
import { basicAuth, startTestServer, type TestServer } from '../support/test-server.js';
import { postFormRedirected, stagedKeyOf } from '../support/upload-form.js';
import { blobForm, have, newBlob, preupload, type Blob } from './seed.suite.js';
import { follow } from './upload-form.suite.js';

/**
 * The completion of an uploadForm upload (DESIGN §6) when S3 or DynamoDB fail at each of its
 * steps, and when a remove of the same blob runs in the middle of it. Proxies between the
 * server and dynalite/s3rver inject the faults and hold requests; what is stored is read from
 * the emulators directly. The promise under test: never `received` unless stored; nothing
 * indexed from a failed step; the staged upload kept until the blob is stored, so following
 * the same redirect again finishes the job.
 */
describe('uploadForm completion under storage faults [dynalite+s3rver]', () => {
  let ts: TestServer;
  let s3: AwsProxy;
  let dynamodb: AwsProxy;
  /** Same storage and proxies, BLOBSERVER_ALLOW_REMOVE=true. */
  let removable: LocalServer;
  const target = () => ({ url: ts.url, authorization: basicAuth() });

  before(async () => {
    ts = await startTestServer(dynaliteBackend, {}, { proxy: true });
    ({ s3, dynamodb } = ts.proxies!);
    removable = await ts.startSibling({ BLOBSERVER_ALLOW_REMOVE: 'true' });
  });
  afterEach(() => {
    s3.setFault(undefined);
    dynamodb.setFault(undefined);
    s3.setHold(undefined);
    dynamodb.setHold(undefined);
  });
  after(async () => {
    await ts?.close();
  });

  const staged = (req: ProxiedRequest, method: string) => req.method === method && objectKeyOf(req).startsWith('staging/');
  const isCopy = (req: ProxiedRequest) => req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined;

  /** A blob POSTed through a fresh form (S3 has it staged); returns S3's redirect. */
  const staged303 = async (b: Blob) => postFormRedirected((await preupload(target())).uploadForm, b.data, b.ref);

  /** Whether stat, GET and the stored row agree that `b` is wholly present (true) or wholly absent (false). */
  const presence = async (b: Blob): Promise<boolean> => {
    const listed = (await have(target(), b.ref)).length === 1;
    const get = await fetch(`${ts.url}/camli/${b.ref}`, { headers: { authorization: basicAuth() } });
    const bytes = Buffer.from(await get.arrayBuffer());
    if (listed) {
      assert.equal(get.status, 200, `stat lists ${b.ref} but GET answers ${get.status}`);
      assert.ok(bytes.equals(b.data), 'GET served other bytes');
      assert.equal((await ts.storage.row(b.ref))?.size, b.data.length);
    } else {
      assert.equal(get.status, 404, `stat does not list ${b.ref} but GET answers ${get.status}`);
      assert.equal(await ts.storage.row(b.ref), undefined);
    }
    return listed;
  };

  const steps: [string, () => AwsProxy, (b: Blob) => FaultRule][] = [
    ['the index lookup', () => dynamodb, () => (req) => (req.operation === 'BatchGetItem' || req.operation === 'GetItem' ? DYNAMODB_FAILURE : undefined)],
    ['reading the staged upload', () => s3, () => (req) => (staged(req, 'GET') ? S3_FAILURE : undefined)],
    ['copying it to the blob object', () => s3, () => (req) => (isCopy(req) ? S3_FAILURE : undefined)],
    ['writing the index row', () => dynamodb, (b) => (req) => (rowWriteRefs(req).includes(b.ref) ? DYNAMODB_FAILURE : undefined)],
  ];
  for (const [step, proxyOf, ruleFor] of steps) {
    it(`${step} fails: 503 with errorText, nothing indexed, the upload kept; following the redirect again stores it`, async () => {
      const b = newBlob(50_000);
      const location = await staged303(b);
      const proxy = proxyOf();
      const rule = ruleFor(b);
      const seenBefore = proxy.requests.length;
      proxy.setFault(rule);
      const a = await follow(location);
      proxy.setFault(undefined);
      assert.ok(
        proxy.requests.slice(seenBefore).some((r) => rule(r) !== undefined),
        'the fault was never hit',
      );

      assert.equal(a.status, 503, a.text);
      assert.deepEqual(a.json.received, []);
      assert.match(a.json.errorText ?? '', /storage error.*follow the same redirect again/);
      assert.doesNotMatch(a.text, /\n\s+at |node_modules|\.ts:\d+|injected fault|InternalError/, 'internals leaked');
      assert.equal(a.json.uploadUrl, undefined, 'nothing stored: no fresh capability');
      assert.equal(await presence(b), false);
      assert.equal(await ts.storage.sizeAt(stagedKeyOf(location)), b.data.length, 'the staged upload was lost');

      const again = await follow(location);
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.json.received, [{ blobRef: b.ref, size: b.data.length }]);
      assert.equal(await presence(b), true);
      assert.equal(await ts.storage.sizeAt(stagedKeyOf(location)), undefined);
    });
  }

  it('deleting the staged upload fails: the blob is stored and received; the staged copy is left to the lifecycle rule', async () => {
    const b = newBlob(30_000);
    const location = await staged303(b);
    s3.setFault((req) => (staged(req, 'DELETE') ? S3_FAILURE : undefined));
    const a = await follow(location);
    s3.setFault(undefined);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }]);
    assert.equal(await presence(b), true);
    assert.equal(await ts.storage.sizeAt(stagedKeyOf(location)), b.data.length);
    // A replay finds the blob stored and clears the leftover.
    const again = await follow(location);
    assert.deepEqual(again.json.received, a.json.received);
    assert.equal(await ts.storage.sizeAt(stagedKeyOf(location)), undefined);
  });

  it('a row whose object was lost: the form upload of the right bytes repairs it (the row alone is not trusted)', async () => {
    const b = newBlob(60_000);
    assert.deepEqual((await follow(await staged303(b))).json.received, [{ blobRef: b.ref, size: b.data.length }]);
    const row = await ts.server.deps.storage.locate(b.ref);
    assert.ok(row);
    await ts.server.deps.storage.store.delete(row.key); // the object is lost, the row stays
    const again = await follow(await staged303(b));
    assert.deepEqual(again.json.received, [{ blobRef: b.ref, size: b.data.length }], again.text);
    assert.equal(await presence(b), true);
  });

  const remove = async (b: Blob) => {
    const r = await fetch(`${removable.url}/camli/remove`, {
      method: 'POST',
      headers: { authorization: basicAuth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: blobForm([b.ref], {}),
    });
    assert.equal(r.status, 200, await r.text());
  };

  it('a remove while the completion holds its row write: the blob ends wholly present, and a later remove takes it', async () => {
    const b = newBlob(40_000);
    const location = await staged303(b);
    dynamodb.setHold((req) => rowWriteRefs(req).includes(b.ref));
    const completion = follow(location);
    const held = await dynamodb.nextHeld(); // the object is copied, the row not yet written
    dynamodb.setHold(undefined);
    await remove(b); // finds no row: nothing to remove yet
    await held.release();
    const a = await completion;
    assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }], a.text);
    assert.equal(await presence(b), true);
    await remove(b);
    assert.equal(await presence(b), false);
  });

  it('a remove between the row write and the staged delete: the blob ends wholly absent, and uploading again makes it present', async () => {
    const b = newBlob(40_000);
    const location = await staged303(b);
    s3.setHold((req) => staged(req, 'DELETE'));
    const completion = follow(location);
    const held = await s3.nextHeld(); // row written, staged upload not yet deleted
    s3.setHold(undefined);
    await remove(b);
    await held.release();
    const a = await completion;
    assert.equal(a.status, 200, a.text);
    assert.equal(await presence(b), false);
    const again = await follow(await staged303(b));
    assert.deepEqual(again.json.received, [{ blobRef: b.ref, size: b.data.length }], again.text);
    assert.equal(await presence(b), true);
  });
});
