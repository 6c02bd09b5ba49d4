import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { localTargetSpec } from '../support/target.js';
import { lane } from '../support/test-server.js';
import { defineQuotaSuite } from './quotas.suite.js';

/**
 * Quotas and usage (issue 27) with every AWS call of the read and write functions checked
 * against that function's role from the synthesized template (test/support/iam-lane.ts): the
 * usage record's UpdateItem (reservations, refunds, removes, quotas) is the write side's, its
 * reads (BatchGetItem, Query) both sides'.
 */
const ledger = new PermissionLedger();
defineQuotaSuite(localTargetSpec(permissionLane(lane('dynalite+s3rver'), ledger)));
reportPermissionLane(ledger, ['read', 'write']);
