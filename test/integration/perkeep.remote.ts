import { remoteTargetSpec } from '../support/target.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/**
 * Perkeep's protocol against an already running server (LocalStack deployment, AWS, or a
 * local server started by hand): `npm run test:remote -- <BASE_URL>`, credentials from
 * BLOBSERVER_TEST_AUTH=userpass:USER:PASSWORD. Not a *.test.ts file, so `npm test` does not
 * pick it up. Tests that need the server's storage, its AWS proxies or other settings report skipped.
 */
const spec = remoteTargetSpec(process.env);
const server = spec.unavailable ? undefined : await spec.open();
definePerkeepSuite({ kind: 'remote', name: spec.name, url: server?.url, authorization: server?.authorization });
