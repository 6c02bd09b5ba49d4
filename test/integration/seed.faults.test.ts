import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DYNAMODB_FAILURE, S3_FAILURE, type AwsProxy } from '../support/aws-proxy.js';
import { isPackPut, isPutObjectOf, rowWriteRefs } from '../support/storage.js';
import { basicAuth, lane, startTestServer, type TestServer } from '../support/test-server.js';
import { blobForm, have, newBlob, part, parts, preupload, preuploadRaw, store, uploadParts, type Blob } from './seed.suite.js';

/**
 * The upload path when S3 or DynamoDB fail mid-batch (DESIGN §3: never report a blob that is
 * not durably stored, never leave an index row without its object). Proxies between the
 * server and dynalite/s3rver inject the faults; what was stored is read directly from the
 * emulators, never taken from the server's word. Run on the embedded emulators and on LocalStack.
 */
for (const l of [lane('dynalite+s3rver'), lane('dynamodb-local+localstack')]) {
  describe(`seed upload under storage faults [${l.name}]`, { skip: l.unavailable() }, () => {
    let ts: TestServer;
    let s3: AwsProxy;
    let dynamodb: AwsProxy;
    const target = () => ({ url: ts.url, authorization: basicAuth() });

    before(async () => {
      ts = await startTestServer(l.factory, {}, { proxy: true });
      ({ s3, dynamodb } = ts.proxies!);
    });
    afterEach(() => {
      s3.setFault(undefined);
      dynamodb.setFault(undefined);
    });
    after(async () => {
      await ts?.close();
    });

    /** Both halves of a blob as the emulators hold them. */
    const stored = async (b: Blob) => ({ object: await ts.storage.objectBytes(b.ref), row: await ts.storage.row(b.ref) });

    /** The invariant: an index row only ever exists next to its object, with the object's size. */
    const assertNoRowWithoutObject = async (blobs: Blob[]) => {
      for (const b of blobs) {
        const { object, row } = await stored(b);
        if (row) {
          assert.ok(object, `index row without its object for ${b.ref}`);
          assert.equal(row.size, object.length, `row size of ${b.ref}`);
        }
      }
    };

    it('S3 failing for a large blob and DynamoDB for another request: only what has object and row is received', async () => {
      // One request: two small blobs (one pack) and a large one (its own object), which S3 refuses.
      const [s3Fails, ok1, ok2] = [newBlob(1_100_000), newBlob(300), newBlob(400, 'sha1')];
      s3.setFault((req) => (isPutObjectOf(req, s3Fails.ref) ? S3_FAILURE : undefined));
      const { uploadUrl } = await preupload(target());
      const a = await uploadParts(uploadUrl, [part(s3Fails), part(ok1), part(ok2)]);
      assert.ok(
        s3.requests.some((r) => isPutObjectOf(r, s3Fails.ref)),
        'no PutObject for the S3-failing blob',
      );
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json.received, [
        { blobRef: ok1.ref, size: 300 },
        { blobRef: ok2.ref, size: 400 },
      ]);
      assert.match(a.json.errorText ?? '', new RegExp(s3Fails.ref));
      assert.doesNotMatch(a.json.errorText ?? '', new RegExp(`${ok1.ref}|${ok2.ref}`));
      assert.doesNotMatch(a.text, /\n\s+at |node_modules|\.ts:\d+/, 'stack trace leaked into the answer');
      assert.deepEqual(await stored(s3Fails), { object: undefined, row: undefined });

      // Another request whose row write DynamoDB refuses (its new blobs' rows go out together, in
      // one BatchWriteItem under the namespace's creation lock, blob-writes.ts): the pack is
      // written, and none of its blobs is received.
      const indexFails = [newBlob(200), newBlob(250)] as const;
      dynamodb.setFault((req) => (rowWriteRefs(req).includes(indexFails[0].ref) ? DYNAMODB_FAILURE : undefined));
      const b = await uploadParts(
        (await preupload(target())).uploadUrl,
        indexFails.map((x) => part(x)),
      );
      assert.ok(
        dynamodb.requests.some((r) => rowWriteRefs(r).includes(indexFails[0].ref)),
        'no row write for the index-failing blobs',
      );
      assert.equal(b.status, 200, b.text);
      assert.deepEqual(b.json.received, []);
      for (const x of indexFails) assert.match(b.json.errorText ?? '', new RegExp(x.ref));
      for (const x of indexFails) assert.equal((await stored(x)).row, undefined, 'index row for a blob whose row write failed');
      for (const x of [ok1, ok2]) {
        const now = await stored(x);
        assert.deepEqual(now.object, x.data, `object of ${x.ref}`);
        assert.equal(now.row?.size, x.data.length, `row of ${x.ref}`);
      }
      await assertNoRowWithoutObject([s3Fails, ok1, ok2, ...indexFails]);
      assert.deepEqual(await have(target(), s3Fails.ref, ...indexFails.map((x) => x.ref), ok1.ref, ok2.ref), a.json.received);

      // Once storage recovers, the client's retry stores them.
      s3.setFault(undefined);
      dynamodb.setFault(undefined);
      await store(target(), s3Fails, ...indexFails);
      for (const x of [s3Fails, ...indexFails]) {
        const now = await stored(x);
        assert.deepEqual(now.object, x.data);
        assert.equal(now.row?.size, x.data.length);
      }
    });

    it('S3 refusing the pack: none of its blobs is received, no row', async () => {
      const blobs = [newBlob(10), newBlob(20), newBlob(30)];
      s3.setFault((req) => (isPackPut(req) ? S3_FAILURE : undefined));
      const { uploadUrl } = await preupload(target());
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.ok(s3.requests.some(isPackPut), 'no pack was written');
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json.received, []);
      for (const b of blobs) assert.equal((await stored(b)).row, undefined);
    });

    it('S3 down for every write: nothing received, no index row', async () => {
      const blobs = [newBlob(10), newBlob(20), newBlob(30)];
      s3.setFault((req) => (req.method === 'PUT' ? S3_FAILURE : undefined));
      const { uploadUrl } = await preupload(target());
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json.received, []);
      for (const b of blobs) assert.match(a.json.errorText ?? '', new RegExp(b.ref));
      for (const b of blobs) assert.deepEqual(await stored(b), { object: undefined, row: undefined });
    });

    it('DynamoDB refusing every row write: nothing received, no index row, orphan objects are harmless', async () => {
      const blobs = [newBlob(10), newBlob(20)];
      // An upload's new rows go out in BatchWriteItems; a lost object's row is re-pointed by a conditional PutItem (blob-writes.ts).
      dynamodb.setFault((req) => (req.operation === 'PutItem' || req.operation === 'BatchWriteItem' ? DYNAMODB_FAILURE : undefined));
      const { uploadUrl } = await preupload(target());
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json.received, []);
      for (const b of blobs) assert.equal((await stored(b)).row, undefined);
      assert.deepEqual(await have(target(), ...blobs.map((b) => b.ref)), []);
      dynamodb.setFault(undefined);
      await store(target(), ...blobs);
      await assertNoRowWithoutObject(blobs);
      assert.deepEqual(
        await have(target(), ...blobs.map((b) => b.ref)),
        blobs.map((b) => ({ blobRef: b.ref, size: b.data.length })),
      );
    });

    it('a transient S3 failure is retried and the blob stored', async () => {
      const b = newBlob(500);
      let failures = 0;
      s3.setFault((req) => (isPutObjectOf(req, b.ref) && failures++ === 0 ? S3_FAILURE : undefined));
      const { uploadUrl } = await preupload(target());
      const a = await uploadParts(uploadUrl, [part(b)]);
      assert.equal(a.status, 200, a.text);
      assert.ok(failures >= 2, 'the failing PutObject was not retried');
      assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: 500 }]);
      assert.deepEqual((await stored(b)).object, b.data);
    });

    it('the index read before storing fails: nothing stored, 200 with errorText', async () => {
      const blobs = [newBlob(10), newBlob(20)];
      const { uploadUrl } = await preupload(target());
      const putsBefore = s3.requests.filter((r) => r.method === 'PUT').length;
      dynamodb.setFault((req) => (req.operation === 'BatchGetItem' || req.operation === 'GetItem' ? DYNAMODB_FAILURE : undefined));
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.ok(a.status === 200 || (a.status >= 500 && a.status < 600), a.text);
      assert.deepEqual(a.json.received ?? [], []);
      assert.ok(a.json.errorText, a.text);
      assert.doesNotMatch(a.text, /\n\s+at |node_modules|\.ts:\d+/, 'stack trace leaked into the answer');
      dynamodb.setFault(undefined);
      for (const b of blobs) assert.deepEqual(await stored(b), { object: undefined, row: undefined });
      assert.equal(s3.requests.filter((r) => r.method === 'PUT').length, putsBefore, 'S3 was written although the index was unreadable');
    });

    it('preupload when the index is unreadable: 5xx JSON errorText without internals', async () => {
      dynamodb.setFault((req) => (req.operation === 'BatchGetItem' ? DYNAMODB_FAILURE : undefined));
      const a = await preuploadRaw(ts.url, blobForm([newBlob().ref]), basicAuth());
      assert.ok(a.status >= 500 && a.status < 600, `status ${a.status}: ${a.text}`);
      assert.equal(typeof a.json.errorText, 'string', a.text);
      assert.doesNotMatch(a.text, /\n\s+at |node_modules|\.ts:\d+|InternalFailure|injected fault/, 'internals leaked into the answer');
      assert.equal(a.json.uploadUrl, undefined);
    });
  });
}
