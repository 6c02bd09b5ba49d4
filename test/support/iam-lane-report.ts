import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SIDE_TOKEN_PREFIX, type FunctionRole, type PermissionLedger } from './iam-lane.js';

/**
 * The end of a permission-lane test file: prints what each function's role was used for (and
 * the grants never used), and fails if any call of a function was refused by its own role, if any
 * call came with no lane session (neither a role's nor the harness's: it escaped the lane), or if
 * one of the `roles` the file drives made no checked call (the lane ran less than it claims).
 * `skip`: the lane's reason not to run here.
 */
export function reportPermissionLane(ledger: PermissionLedger, roles: FunctionRole[], skip?: string): void {
  describe('permission lane', { skip }, () => {
    after(() => console.error(ledger.summary()));
    it('every AWS call of each function was allowed by its own role in the synthesized template', () => {
      assert.deepEqual(ledger.denied, []);
    });
    it('every AWS call carried a lane session (a role, or the harness)', () => {
      assert.deepEqual(ledger.unsigned, []);
    });
    it(`each of the roles ${roles.join(', ')} made checked calls`, () => {
      const checked = (role: FunctionRole) => [role, `${role}+allowRemove`].some((r) => ledger.used.has(`${SIDE_TOKEN_PREFIX}${r}`));
      assert.deepEqual(
        roles.filter((r) => !checked(r)),
        [],
        'no call of these roles reached the lane',
      );
    });
  });
}
