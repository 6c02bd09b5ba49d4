import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { LEGACY_TABLE_NAME } from '../../lambda/core/config.js';
import { legacyBlobKey } from '../../lambda/core/storage/object-keys.js';
import { createTable, ensureBucket, tableExists } from '../../lambda/core/storage/provision.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import type { Backend } from '../support/backends.js';
import { blobHttp, wholeness, type TestBlob } from '../support/blob-http.js';
import { awsClientsFor } from '../support/storage.js';
import { LANES, PASSWORD, USER } from '../support/test-server.js';

/**
 * Data written by the first storage model (table keyed by blobRef with a listing GSI, one
 * object per blob at `blobs/<ref>`): the local server copies the rows into today's table on
 * start (the code `npm run migrate` runs against a deployment), then serves those blobs from
 * where they are.
 */
for (const lane of LANES) {
  describe(`migration from the first storage model [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let dir: string;
    let backend: Backend | undefined;
    let server: LocalServer | undefined;
    after(async () => {
      await server?.close();
      await backend?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the local server migrates a legacy table on start, once; legacy blobs are served, listed, removable', async () => {
      dir = await mkdtemp(join(tmpdir(), 'blobserver-migrate-'));
      backend = await lane.factory(dir);
      const e = backend.env;
      const { config, ddb, s3 } = awsClientsFor(e);
      // The first model's table, exactly as its provisioner created it.
      await createTable(ddb, {
        TableName: LEGACY_TABLE_NAME,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'blobRef', AttributeType: 'S' },
          { AttributeName: 'listing', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'blobRef', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byBlobRef',
            KeySchema: [
              { AttributeName: 'listing', KeyType: 'HASH' },
              { AttributeName: 'blobRef', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['size'] },
          },
        ],
      });
      await ensureBucket(s3, config.bucketName);
      const legacy: TestBlob[] = Array.from({ length: 30 }, (_, i) => {
        const data = randomBytes(100 + i);
        return { ref: blobRefOf(data, i % 2 ? 'sha1' : 'sha224'), data };
      });
      for (const b of legacy) await s3.send(new PutObjectCommand({ Bucket: config.bucketName, Key: legacyBlobKey(b.ref), Body: b.data }));
      for (let i = 0; i < legacy.length; i += 25) {
        await ddb.send(
          new BatchWriteItemCommand({
            RequestItems: {
              [LEGACY_TABLE_NAME]: legacy.slice(i, i + 25).map((b) => ({
                PutRequest: {
                  Item: { blobRef: { S: b.ref }, size: { N: String(b.data.length) }, storedAt: { S: '2025-01-01T00:00:00.000Z' }, listing: { S: 'blobs' } },
                },
              })),
            },
          }),
        );
      }

      const env = {
        ...e,
        BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
        BLOBSERVER_ALLOW_REMOVE: 'true',
        POWERTOOLS_LOG_LEVEL: 'CRITICAL',
        BLOBSERVER_DATA_DIR: join(dir, 'data'),
        PORT: '0',
      };
      server = await startLocalServer(env);
      assert.equal(await tableExists(ddb, LEGACY_TABLE_NAME), false, 'the legacy table is left behind (a restart would copy it again)');
      const http = blobHttp(() => server!.url);
      for (const b of legacy) assert.equal(wholeness(await http.view(b)), 'present', b.ref);
      const en = (await (
        await fetch(`${server.url}/camli/enumerate-blobs?limit=100`, {
          headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
        })
      ).json()) as {
        blobs: { blobRef: string }[];
      };
      assert.deepEqual(
        en.blobs.map((b) => b.blobRef),
        legacy.map((b) => b.ref).sort(),
      );
      const [first, second, third] = legacy;
      assert.ok(first && second && third);
      // Re-sending a legacy blob is not a rewrite: its object is where the row says.
      assert.deepEqual(await http.upload([first]), [first.ref]);
      assert.equal((await server.deps.storage.locate(first.ref))!.key, legacyBlobKey(first.ref));
      assert.deepEqual(await http.remove([second.ref]), [second.ref]);

      // A restart finds nothing more to migrate: the removal sticks.
      await server.close();
      server = await startLocalServer(env);
      assert.equal(wholeness(await http.view(second)), 'absent');
      assert.equal(wholeness(await http.view(third)), 'present');
      ddb.destroy();
      s3.destroy();
    });
  });
}
