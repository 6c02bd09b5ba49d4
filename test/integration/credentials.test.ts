import { LANES, startTestServer } from '../support/test-server.js';
import { defineCredentialsSuite } from './credentials.suite.js';
import { basicAuth } from '../support/test-server.js';

/** Scoped credentials (docs/security.md) on every emulator lane, with a revocation bound of 2 s (the default is 60). */
for (const lane of LANES) {
  defineCredentialsSuite(lane.name, lane.unavailable(), async () => {
    const ts = await startTestServer(lane.factory, { BLOBSERVER_ALLOW_REMOVE: 'true', BLOBSERVER_CREDENTIAL_CACHE_SECONDS: '2' });
    // A second server on the same storage: another warm function, with its own cache.
    const other = await ts.startSibling({});
    return { url: ts.url, ownerAuth: basicAuth(), boundSeconds: 2, otherInstance: other.url, allowRemove: true, close: () => ts.close() };
  });
}
