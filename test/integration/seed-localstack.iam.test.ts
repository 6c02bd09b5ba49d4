import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { lane } from '../support/test-server.js';
import { localTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/**
 * The seed protocol under the functions' roles (as seed.iam.test.ts) on LocalStack's S3, which
 * checks presigned URL signatures and POST policies: upload forms and GET redirects signed with
 * each side's session credentials are accepted by a real S3 implementation.
 */
const ledger = new PermissionLedger();
const L = permissionLane(lane('dynamodb-local+localstack'), ledger);
defineSeedSuite(localTargetSpec(L));
reportPermissionLane(ledger, L.unavailable());
