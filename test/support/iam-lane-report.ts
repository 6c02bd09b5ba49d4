import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { PermissionLedger } from './iam-lane.js';

/**
 * The end of a permission-lane test file: prints what each function's role was used for (and
 * the grants never used) and fails if any call of a function was refused by its own role
 * (`skip`: the lane's reason not to run here).
 */
export function reportPermissionLane(ledger: PermissionLedger, skip?: string): void {
  describe('permission lane', { skip }, () => {
    after(() => console.error(ledger.summary()));
    it('every AWS call of each function was allowed by its own role in the synthesized template', () => {
      assert.deepEqual(ledger.denied, []);
      assert.ok(ledger.used.size > 0, 'no call carried a side token: the lane did not run under the roles');
    });
  });
}
