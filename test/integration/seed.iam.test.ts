import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { lane } from '../support/test-server.js';
import { localTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/**
 * The seed protocol (upload forms and large blobs included) with every AWS call of the read and
 * write functions checked against that function's role from the synthesized template
 * (test/support/iam-lane.ts), on dynalite + s3rver.
 */
const ledger = new PermissionLedger();
defineSeedSuite(localTargetSpec(permissionLane(lane('dynalite+s3rver'), ledger)));
reportPermissionLane(ledger, ['read', 'write']);
