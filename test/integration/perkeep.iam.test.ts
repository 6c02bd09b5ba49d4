import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { lane } from '../support/test-server.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/**
 * Perkeep's protocol (discovery, stat, get, enumerate, remove) with every AWS call of the read and
 * write functions checked against that function's role from the synthesized template
 * (test/support/iam-lane.ts), on dynalite + s3rver.
 */
const ledger = new PermissionLedger();
definePerkeepSuite({ kind: 'local', lane: permissionLane(lane('dynalite+s3rver'), ledger) });
reportPermissionLane(ledger, ['read', 'write']);
