import { PermissionLedger, permissionLane } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { lane } from '../support/test-server.js';
import { defineNamespaceSuite } from './namespaces.suite.js';

/**
 * Namespaces (DESIGN §12) with every AWS call of the read and write functions checked against
 * that function's role from the synthesized template (test/support/iam-lane.ts): the grants
 * cover the namespaced keys (`ns/<name>/...`), the shared staging area and the rows.
 */
const ledger = new PermissionLedger();
defineNamespaceSuite(permissionLane(lane('dynalite+s3rver'), ledger));
reportPermissionLane(ledger, ['read', 'write']);
