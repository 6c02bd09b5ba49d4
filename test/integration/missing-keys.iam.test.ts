import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { basicAuth, lane, startTestServer, type TestServer } from '../support/test-server.js';
import { postFormRedirected, stagedKeyOf } from '../support/upload-form.js';
import { newBlob, part, preupload, store, uploadParts, type Blob } from './seed.suite.js';
import { follow } from './upload-form.suite.js';

/**
 * Missing keys as deployed: without s3:ListBucket, S3 answers a GET/HEAD of a missing key with
 * 403 AccessDenied, not 404. Under the permission lane (each function's role from the
 * synthesized template, S3 answering as it does for that role) a lost object is repaired by
 * re-uploading its bytes (storage-model.md, Guarantee 7), GET of it never answers 5xx, and a
 * completion whose staged object is already gone answers as the docs say. The same steps under
 * the roles without their KnowMissingKeys statements (the stack before it had them) show the
 * defect, so these tests would catch its return.
 */
const sameSteps = [
  { name: 'roles as synthesized', ledger: new PermissionLedger(), defect: false },
  { name: 'roles without s3:ListBucket (the defect)', ledger: new PermissionLedger({ withoutSids: ['KnowMissingKeys'] }), defect: true },
] as const;

for (const { name, ledger, defect } of sameSteps) {
  describe(`missing keys under ${name} [dynalite+s3rver+iam]`, () => {
    let ts: TestServer;
    const target = () => ({ url: ts.url, authorization: basicAuth() });
    const get = (b: Blob) => fetch(`${ts.url}/camli/${b.ref}`, { headers: { authorization: basicAuth() } });
    /** Deletes a blob's object behind the server's back (the harness's own client, outside any role). */
    const lose = async (b: Blob): Promise<string> => {
      const row = await ts.server.deps.storage.locate(b.ref);
      assert.ok(row, `no row for ${b.ref}`);
      await ts.server.deps.storage.store.delete(row.key);
      assert.equal(await ts.storage.sizeAt(row.key), undefined);
      return row.key;
    };
    const reupload = async (...blobs: Blob[]) =>
      uploadParts(
        (await preupload(target())).uploadUrl,
        blobs.map((b) => part(b)),
      );

    before(async () => {
      ts = await startTestServer(permissionLane(lane('dynalite+s3rver'), ledger).factory);
    });
    after(async () => {
      await ts?.close();
    });

    it('a blob whose own object was lost: GET answers 404, not 5xx; re-uploading its bytes repairs it', async () => {
      const b = newBlob(200_000);
      await store(target(), b);
      await lose(b);
      const lost = await get(b);
      await lost.arrayBuffer();
      const again = await reupload(b);
      if (defect) {
        assert.equal(lost.status, 500, 'S3 answered 403 for the missing key and the server took it for a failure');
        assert.match(again.json.errorText ?? '', /not stored/);
        return;
      }
      assert.equal(lost.status, 404);
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.json.received, [{ blobRef: b.ref, size: b.data.length }], again.text);
      const repaired = await get(b);
      assert.equal(repaired.status, 200);
      assert.ok(Buffer.from(await repaired.arrayBuffer()).equals(b.data));
    });

    it('blobs whose pack was lost: GET answers 404 for each; re-uploading them repairs both', async () => {
      const [a, b] = [newBlob(300), newBlob(500)];
      await store(target(), a, b);
      await lose(a); // the pack holds both
      const statuses = await Promise.all([a, b].map(async (x) => (await get(x)).status));
      const again = await reupload(a, b);
      if (defect) {
        assert.deepEqual(statuses, [500, 500]);
        assert.match(again.json.errorText ?? '', /not stored/);
        return;
      }
      assert.deepEqual(statuses, [404, 404]);
      assert.deepEqual(
        again.json.received,
        [a, b].map((x) => ({ blobRef: x.ref, size: x.data.length })),
        again.text,
      );
      for (const x of [a, b]) assert.ok(Buffer.from(await (await get(x)).arrayBuffer()).equals(x.data));
    });

    it('following a completion redirect again once its staged object was promoted answers 200 with the blob', async () => {
      const b = newBlob(70_000);
      const location = await postFormRedirected((await preupload(target())).uploadForm, b.data, b.ref);
      const first = await follow(location);
      assert.equal(first.status, 200, first.text);
      assert.equal(await ts.storage.sizeAt(stagedKeyOf(location)), undefined, 'the staged object was deleted once adopted');
      const replay = await follow(location);
      if (defect) {
        assert.equal(replay.status, 503, replay.text);
        return;
      }
      assert.equal(replay.status, 200, replay.text);
      assert.deepEqual(replay.json.received, [{ blobRef: b.ref, size: b.data.length }]);
    });

    it('a completion whose staged object is gone and whose blob is not stored is refused (400), not retried forever', async () => {
      const b = newBlob(50_000);
      const location = await postFormRedirected((await preupload(target())).uploadForm, b.data, b.ref);
      await ts.server.deps.staging.delete(stagedKeyOf(location)); // expired by the lifecycle rule, say
      const answer = await follow(location);
      if (defect) {
        assert.equal(answer.status, 503, answer.text);
        return;
      }
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.json.errorText ?? '', /nothing is staged/);
    });
  });
}

reportPermissionLane(sameSteps[0].ledger, ['read', 'write']);
