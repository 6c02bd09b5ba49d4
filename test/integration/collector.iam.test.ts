import { PermissionLedger, permissionLane, SIDE_TOKEN_PREFIX } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { lane } from '../support/test-server.js';
import { defineCollectorSuite } from './collector.suite.js';

/**
 * The scheduled collector's whole run (plan, rows, days, packs, finish; a remove and an upload
 * racing it) with every AWS call it makes checked against the collector function's own role from
 * the synthesized template (test/support/iam-lane.ts), on dynalite + s3rver.
 */
const ledger = new PermissionLedger();
defineCollectorSuite(permissionLane(lane('dynalite+s3rver'), ledger), { collectorSessionToken: `${SIDE_TOKEN_PREFIX}collector` });
reportPermissionLane(ledger, ['collector']);
