import { remoteTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/**
 * The seed protocol against an already running server (LocalStack deployment, AWS, or a
 * local server started by hand): `npm run test:remote -- <BASE_URL>`, credentials from
 * BLOBSERVER_TEST_AUTH=userpass:USER:PASSWORD. Not a *.test.ts file, so `npm test` does not
 * pick it up. Tests that need server control or direct storage access report skipped.
 */
defineSeedSuite(remoteTargetSpec(process.env));
