import { DynamoBlobIndex } from '../../lambda/core/blob-index.js';
import { S3BlobStore } from '../../lambda/core/blob-store.js';
import { readConfig } from '../../lambda/core/config.js';
import { dynamoClientFor, s3ClientFor } from '../../lambda/core/aws-clients.js';
import { ensureBucket, ensureTable } from '../../local/provision.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStorageConformance } from '../support/storage-conformance.js';
import { LANES } from '../support/test-server.js';

/** The conformance kit against DynamoDB + S3 implementations, on every emulator lane. */
for (const lane of LANES) {
  defineStorageConformance(
    lane.name,
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'blobserver-conformance-'));
      const backend = await lane.factory(dir);
      const e = backend.env;
      const config = { ...readConfig(e), credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY } };
      const ddb = dynamoClientFor(config);
      const s3 = s3ClientFor(config);
      await Promise.all([ensureTable(ddb, config.tableName), ensureBucket(s3, config.bucketName)]);
      return {
        index: new DynamoBlobIndex(ddb, config.tableName),
        store: new S3BlobStore(s3, config.bucketName),
        // LocalStack's S3 honours If-None-Match (the lane's enforcesPostPolicy covers it, lanes.test.ts checks it); s3rver does not.
        refusesOverwrite: lane.enforcesPostPolicy,
        close: async () => {
          ddb.destroy();
          s3.destroy();
          await backend.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    { skip: lane.unavailable() },
  );
}
