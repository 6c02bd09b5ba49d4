import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestAuth } from '../support/aws-request-auth.js';
import { HARNESS_TOKEN, PermissionLedger } from '../support/iam-lane.js';

/**
 * The permission lane's ledger (test/support/iam-lane.ts) before any role is consulted: the
 * harness's own identity passes and is counted; a call with no lane session is refused with S3's
 * own AccessDenied and recorded, so the file fails (reportPermissionLane) instead of passing it unchecked.
 */
const WHERE = { region: 'us-east-1', account: '000000000000' };
const get = (headers: Record<string, string> = {}) =>
  requestAuth({ method: 'GET', url: '/blobserver-blobs/blobs/sha224-00/x', headers, body: Buffer.alloc(0) }, WHERE);

describe('the permission lane ledger', () => {
  it('refuses and records a call that carries no lane session', () => {
    const ledger = new PermissionLedger();
    const answer = ledger.beforeForward(get(), 'GET');
    assert.equal(answer?.status, 403);
    assert.match(answer?.body ?? '', /<Code>AccessDenied<\/Code>/);
    assert.deepEqual(ledger.unsigned, [{ operation: 'GetObject', resource: 'arn:aws:s3:::blobserver-blobs/blobs/sha224-00/x' }]);
  });

  it("passes the harness's own calls unchecked, and counts them", () => {
    const ledger = new PermissionLedger();
    assert.equal(ledger.beforeForward(get({ 'x-amz-security-token': HARNESS_TOKEN }), 'GET'), undefined);
    assert.equal(ledger.harnessCalls, 1);
    assert.deepEqual(ledger.unsigned, []);
  });
});
