import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { readConfig } from '../../lambda/core/config.js';
import { dynamoClientFor, s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import type { HttpResult } from '../../lambda/core/http/http.js';
import { ensureKeyFile } from '../../local/keys.js';
import { ensureBucket, ensureTable } from '../../lambda/core/storage/provision.js';
import { matchRoute, toEvent } from '../../local/event.js';
import { dynaliteBackend, type Backend } from '../support/backends.js';
import { basicAuth, multipartBody } from '../support/test-server.js';

/**
 * The Lambda entry points themselves (`handler` of lambda/read.ts and lambda/write.ts),
 * configured only by environment variables as in the cloud, against real emulators: the
 * path the local server does not take (it builds its deps itself).
 */
describe('Lambda entry points configured from the environment', () => {
  let dir: string;
  let backend: Backend;
  let read: (e: ReturnType<typeof toEvent>) => Promise<HttpResult>;
  let write: typeof read;

  const event = (method: string, url: string, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)) =>
    toEvent(
      { method, url, headers: { host: 'api.example', 'x-forwarded-proto': 'https', ...headers }, body, sourceIp: '127.0.0.1' },
      matchRoute(method, url.split('?')[0]!),
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-entry-'));
    backend = await dynaliteBackend(dir);
    Object.assign(process.env, backend.env, {
      BLOBSERVER_TABLE: 'entry-index',
      BLOBSERVER_BUCKET: 'entry-blobs',
      BLOBSERVER_AUTH: 'userpass:alice:correct horse battery staple',
      BLOBSERVER_SIGNING_KEY_FILE: join(dir, 'keys.json'),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const config = readConfig();
    await Promise.all([ensureTable(dynamoClientFor(config), config.tableName), ensureBucket(s3ClientFor(config), config.bucketName)]);
    await ensureKeyFile(join(dir, 'keys.json'));
    read = (await import('../../lambda/read.js')).handler;
    write = (await import('../../lambda/write.js')).handler;
  });

  after(async () => {
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('preupload -> upload -> stat -> get round-trips a blob through both functions', async () => {
    const bytes = Buffer.from('through the Lambda entry points');
    const ref = blobRefOf(bytes);
    const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth() };

    const pre = await read(event('POST', '/camli/preupload', form, Buffer.from(`camliversion=1&blob1=${ref}`)));
    assert.equal(pre.statusCode, 200);
    const { uploadUrl, alreadyHave } = JSON.parse(pre.body!);
    assert.deepEqual(alreadyHave, []);
    assert.match(uploadUrl, /^https:\/\/api\.example\/camli\/upload\/[^/]+$/);

    const { body, contentType } = multipartBody([{ name: ref, data: bytes }]);
    const up = await write(event('POST', new URL(uploadUrl).pathname, { 'content-type': contentType }, body));
    assert.equal(up.statusCode, 200);
    assert.deepEqual(JSON.parse(up.body!).received, [{ blobRef: ref, size: bytes.length }]);

    const stat = await read(event('GET', `/camli/stat?camliversion=1&blob1=${ref}`, { authorization: basicAuth() }));
    assert.deepEqual(JSON.parse(stat.body!).stat, [{ blobRef: ref, size: bytes.length }]);

    const got = await read(event('GET', `/camli/${ref}`, { authorization: basicAuth() }));
    assert.equal(got.statusCode, 200);
    assert.deepEqual(Buffer.from(got.body!, got.isBase64Encoded ? 'base64' : 'utf8'), bytes);
  });

  it('refuses a caller without credentials (the environment says which)', async () => {
    const res = await read(event('GET', '/camli/stat?camliversion=1', {}));
    assert.equal(res.statusCode, 401);
  });
});
