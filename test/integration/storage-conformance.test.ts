import { defineStorageConformance } from '../support/storage-conformance.js';
import { openBackendStorage } from '../support/storage.js';
import { LANES } from '../support/test-server.js';

/** The conformance kit against DynamoDB + S3 implementations, on every emulator lane. */
for (const lane of LANES) {
  defineStorageConformance(
    lane.name,
    async () => {
      const { index, store, close } = await openBackendStorage(lane.factory, 'blobserver-conformance-');
      // LocalStack's S3 honours If-None-Match (the lane's enforcesPostPolicy covers it, lanes.test.ts checks it); s3rver does not.
      return { index, store, refusesOverwrite: lane.enforcesPostPolicy, close };
    },
    { skip: lane.unavailable() },
  );
}
