import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchUsage, setQuota } from '../../client/admin/admin-client.js';
import { BlobServerError } from '../../client/errors.js';
import { BlobServerClient } from '../../client/http-client.js';
import { Uploader } from '../../client/uploader.js';
import { blobRefOf } from '../../client/hash.js';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { namedNamespace } from '../../lambda/core/namespace.js';
import { USAGE_PARTITION } from '../../lambda/core/storage/dynamodb-usage.js';
import { runCli } from '../support/cli.js';
import { runFsck } from '../support/run-script.js';
import { awsClientsFor } from '../support/storage.js';
import { lane, PASSWORD, startTestServer, USER, type TestServer } from '../support/test-server.js';

/**
 * `blobserver admin usage|quota` and the client's answer to a 507 (issue 27), against a local
 * server on dynalite: the CLI sets and clears quotas and prints usage, `put` over quota says so
 * in one line and exits 1, and the library never retries a 507 as a transient error.
 */
describe('quotas from the client and the CLI', () => {
  let ts: TestServer;
  let work: string;
  const auth = `userpass:${USER}:${PASSWORD}`;
  const env = () => ({ CAMLI_CONFIG_DIR: join(work, 'no-config'), BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: auth });
  const cli = async (...args: string[]) => {
    const r = await runCli(args, env());
    return { ...r, out: r.stdout.toString('utf8') };
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'quotas-cli-'));
    ts = await startTestServer(lane('dynalite+s3rver').factory);
  });
  after(async () => {
    await ts?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('admin quota set / usage / quota clear, human and --json', async () => {
    const set = await cli('admin', 'quota', 'set', 'photos', '--bytes', '2KiB', '--blobs', '10');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.out, 'photos\t0 of 2048 bytes\t0 of 10 blobs\n');
    const usage = await cli('admin', 'usage', '--namespace', 'photos', '--json');
    assert.equal(usage.code, 0, usage.stderr);
    assert.deepEqual(JSON.parse(usage.out), { usage: [{ namespace: 'photos', bytes: 0, blobs: 0, maxBytes: 2048, maxBlobs: 10 }] });
    const all = await cli('admin', 'usage');
    assert.match(all.out, /^photos\t0 of 2048 bytes\t0 of 10 blobs$/m);
    const cleared = await cli('admin', 'quota', 'clear', 'photos');
    assert.equal(cleared.out, 'photos\t0 bytes\t0 blobs\n');
    const bad = await cli('admin', 'quota', 'set', 'photos', '--bytes', 'lots');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^blobserver: --bytes must be a whole number of bytes .*\(see blobserver --help\)\n$/);
    const badNs = await cli('admin', 'quota', 'set', 'No Such', '--blobs', '1');
    assert.equal(badNs.code, 1);
    assert.match(badNs.stderr, /^blobserver: admin: \/admin\/quotas answered 400: "No Such" is not a namespace name/);
  });

  it('put over quota fails in one line naming the quota, and stores nothing', async () => {
    const ns = `cli-${randomBytes(4).toString('hex')}`;
    assert.equal((await cli('admin', 'quota', 'set', ns, '--bytes', '1000')).code, 0);
    const file = join(work, 'big.bin');
    await writeFile(file, randomBytes(3000));
    const put = await runCli(['--server', `${ts.url}/${ns}`, 'put', '--blob', file], env());
    assert.equal(put.code, 1);
    const lines = put.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, put.stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^blobserver: upload: .* answered 507: namespace ${ns} is over its quota: it holds 0 of 1000 bytes; this upload needs 3000 more bytes`),
    );
    assert.doesNotMatch(put.stderr, /tried \d+ times/);
    const usage = await cli('admin', 'usage', '--namespace', ns, '--json');
    assert.deepEqual(JSON.parse(usage.out).usage[0], { namespace: ns, bytes: 0, blobs: 0, maxBytes: 1000 });
  });

  it('the library reports a 507 as a BlobServerError that is not retryable, after one upload request', async () => {
    const ns = `lib-${randomBytes(4).toString('hex')}`;
    const admin = new BlobServerClient({ server: ts.url, auth });
    // Room for preupload (nothing held yet), none for the 30 bytes that follow.
    assert.deepEqual(await setQuota(admin, ns, { maxBytes: 5 }), { namespace: ns, bytes: 0, blobs: 0, maxBytes: 5 });
    const calls: string[] = [];
    const client = new BlobServerClient({
      server: `${ts.url}/${ns}`,
      auth,
      fetch: (input, init) => {
        calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname.replace(/\/upload\/.+/, '/upload/<token>')}`);
        return fetch(input, init);
      },
    });
    const uploader = new Uploader(client);
    const blobs = [randomBytes(10), randomBytes(20)].map((bytes) => ({ ref: blobRefOf(bytes), bytes }));
    for (const b of blobs) await uploader.add(b);
    const err = await uploader.flush().then(
      () => assert.fail('flush succeeded over quota'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BlobServerError, String(err));
    assert.equal(err.status, 507);
    assert.equal(err.retryable, false);
    assert.match(err.message, /over its quota/);
    assert.equal(calls.filter((c) => c.includes('/camli/upload')).length, 1, calls.join('\n'));
    assert.deepEqual(await fetchUsage(admin, ns), [{ namespace: ns, bytes: 0, blobs: 0, maxBytes: 5 }]);
  });

  it('npm run fsck recounts usage from the rows, and --repair fixes the drift a crash left', async () => {
    const ns = `fsck-${randomBytes(4).toString('hex')}`;
    const client = new BlobServerClient({ server: `${ts.url}/${ns}`, auth });
    const uploader = new Uploader(client);
    for (const bytes of [randomBytes(100), randomBytes(250)]) await uploader.add({ ref: blobRefOf(bytes), bytes });
    await uploader.flush();
    // A crash between a reservation and its rows, an hour ago: counted high.
    await ts.server.deps.usageTable.ledger(namedNamespace(ns)).adjust({ bytes: 777, blobs: 3 });
    const { ddb } = awsClientsFor(ts.backend.env);
    try {
      await ddb.send(
        new UpdateItemCommand({
          TableName: ts.server.config.tableName,
          Key: { shard: { S: USAGE_PARTITION }, blobRef: { S: ns } },
          UpdateExpression: 'SET updatedAt = :t',
          ExpressionAttributeValues: { ':t': { N: String(Date.now() - 3600_000) } },
        }),
      );
    } finally {
      ddb.destroy();
    }
    const report = await runFsck(ts.backend.env, '--namespace', ns);
    assert.equal(report.code, 0, report.out);
    assert.match(
      report.out,
      new RegExp(`usage \\(namespace ${ns}\\): 350 bytes in 2 blobs; the usage record said 1127 bytes in 5 blobs \\(run with --repair\\)`),
    );
    const repair = await runFsck(ts.backend.env, '--namespace', ns, '--repair');
    assert.match(repair.out, /the usage record said 1127 bytes in 5 blobs \(repaired\)/, repair.out);
    assert.deepEqual(await fetchUsage(new BlobServerClient({ server: ts.url, auth }), ns), [{ namespace: ns, bytes: 350, blobs: 2 }]);
    const clean = await runFsck(ts.backend.env, '--namespace', ns);
    assert.match(clean.out, /350 bytes in 2 blobs, as recorded/, clean.out);
  });
});
