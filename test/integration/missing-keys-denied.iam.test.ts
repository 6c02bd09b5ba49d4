import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFsck } from '../support/run-script.js';
import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { basicAuth, lane, startTestServer, type TestServer } from '../support/test-server.js';
import { postFormRedirected, stagedKeyOf } from '../support/upload-form.js';
import { newBlob, part, preupload, store, uploadParts, type Blob } from './seed.suite.js';
import { follow } from './upload-form.suite.js';

/**
 * Missing keys on an S3 stricter than the one the stack's grants were argued for: every GET or
 * HEAD of a missing key answers 403, even inside the prefixes each role may list (AWS does not
 * document whether a prefix-conditioned s3:ListBucket counts for a read's implicit check). The
 * server then decides absence with a listing of exactly that key
 * (lambda/core/aws/object-absence.ts), so a lost object is repaired by re-uploading its bytes,
 * GET answers 404, completions answer as under 404, and fsck finds and repairs the damage,
 * as under the 404s of missing-keys.iam.test.ts.
 */
describe('missing keys answered 403 inside the granted prefixes [dynalite+s3rver+iam]', () => {
  const ledger = new PermissionLedger({ missingKeysDenied: true });
  let ts: TestServer;
  const target = () => ({ url: ts.url, authorization: basicAuth() });
  const get = (b: Blob) => fetch(`${ts.url}/camli/${b.ref}`, { headers: { authorization: basicAuth() } });
  const sizeAt = (key: string) => ts.server.deps.storage.store.size(key);
  /** Deletes a blob's object behind the server's back. */
  const lose = async (b: Blob): Promise<string> => {
    const row = await ts.server.deps.storage.locate(b.ref);
    assert.ok(row, `no row for ${b.ref}`);
    await ts.server.deps.storage.store.delete(row.key);
    assert.equal(await sizeAt(row.key), undefined);
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

  it('a blob whose own object was lost: GET answers 404; re-uploading its bytes repairs it', async () => {
    const b = newBlob(200_000);
    await store(target(), b);
    const denied = ledger.missingAs403.length;
    await lose(b);
    const lost = await get(b);
    await lost.arrayBuffer();
    assert.equal(lost.status, 404);
    const again = await reupload(b);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json.received, [{ blobRef: b.ref, size: b.data.length }], again.text);
    const repaired = await get(b);
    assert.equal(repaired.status, 200);
    assert.ok(Buffer.from(await repaired.arrayBuffer()).equals(b.data));
    assert.ok(ledger.missingAs403.length > denied, 'S3 answered the missing key 403');
    assert.deepEqual(ledger.denied, [], 'no call of the functions was refused');
  });

  it('blobs whose pack was lost: GET answers 404 for each; re-uploading them repairs both', async () => {
    const [a, b] = [newBlob(300), newBlob(500)];
    await store(target(), a, b);
    await lose(a);
    assert.deepEqual(await Promise.all([a, b].map(async (x) => (await get(x)).status)), [404, 404]);
    const again = await reupload(a, b);
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
    assert.equal(await sizeAt(stagedKeyOf(location)), undefined);
    const replay = await follow(location);
    assert.equal(replay.status, 200, replay.text);
    assert.deepEqual(replay.json.received, [{ blobRef: b.ref, size: b.data.length }]);
  });

  it('a completion whose staged object is gone and whose blob is not stored is refused (400)', async () => {
    const b = newBlob(50_000);
    const location = await postFormRedirected((await preupload(target())).uploadForm, b.data, b.ref);
    await ts.server.deps.staging.delete(stagedKeyOf(location));
    const answer = await follow(location);
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.json.errorText ?? '', /nothing is staged/);
  });

  it('fsck reports a row whose object is lost as damage and --repair deletes it; the store is clean after', async () => {
    const b = newBlob(100_000);
    await store(target(), b);
    await lose(b);
    const env = { ...ts.backend.env, BLOBSERVER_BUCKET: ts.server.config.bucketName, BLOBSERVER_TABLE: ts.server.config.tableName };
    const report = await runFsck(env);
    assert.equal(report.code, 1, report.out);
    assert.match(report.out, new RegExp(`missing-object ${b.ref}`));
    const repair = await runFsck(env, '--repair');
    assert.match(repair.out, /repaired: [1-9]\d* damaged rows? deleted/, repair.out);
    assert.equal(await ts.server.deps.storage.locate(b.ref), undefined);
    const after = await runFsck(env);
    assert.doesNotMatch(after.out, /missing-object/, after.out);
  });
});
