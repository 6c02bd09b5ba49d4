import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { basicAuth, lane, startTestServer } from '../support/test-server.js';
import { defineCredentialsSuite } from './credentials.suite.js';

/**
 * Scoped credentials (docs/security.md) with every AWS call of the read and write functions
 * checked against that function's role from the synthesized template: credential lookups
 * (BatchGetItem), the admin list (Query, read side) and add/revoke (conditional PutItem, write
 * side) need no grant beyond what each role already holds on the index table.
 */
const ledger = new PermissionLedger();
const iam = permissionLane(lane('dynalite+s3rver'), ledger);
defineCredentialsSuite(iam.name, iam.unavailable(), async () => {
  const ts = await startTestServer(iam.factory, { BLOBSERVER_ALLOW_REMOVE: 'true', BLOBSERVER_CREDENTIAL_CACHE_SECONDS: '2' });
  const other = await ts.startSibling({});
  return { url: ts.url, ownerAuth: basicAuth(), boundSeconds: 2, otherInstance: other.url, allowRemove: true, close: () => ts.close() };
});
reportPermissionLane(ledger, ['read', 'write']);
