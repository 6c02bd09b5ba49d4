import { remoteTargetSpec } from '../support/target.js';
import { defineLocateSuite } from './locate.suite.js';

/**
 * The batch locate extension (DESIGN §9) against an already running server, a real deployment
 * above all: its signed ranged S3 GETs are then S3's own. `npm run test:remote -- <BASE_URL>`,
 * credentials from BLOBSERVER_TEST_AUTH=userpass:USER:PASSWORD. Not a *.test.ts file, so
 * `npm test` does not pick it up; tests that need a sibling server report skipped.
 */
defineLocateSuite(remoteTargetSpec(process.env));
