import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DYNAMODB_CALL_BOUNDS,
  FUNCTION_TIMEOUT_SECONDS,
  REMOVE_OBJECT_MIN_AGE_MS,
  ROW_WRITE_WINDOW_MS,
  S3_CALL_BOUNDS,
  SECRETS_MANAGER_CALL_BOUNDS,
  worstCaseCallMs,
} from '../../lambda/core/limits.js';

/** The time bounds the storage model's Guarantees rest on fit together (docs/storage-model.md). */
describe('AWS call bounds (limits.ts)', () => {
  it('every call that gets no answer fails inside the function timeout', () => {
    for (const [name, bounds] of Object.entries({ DYNAMODB_CALL_BOUNDS, S3_CALL_BOUNDS, SECRETS_MANAGER_CALL_BOUNDS }))
      assert.ok(worstCaseCallMs(bounds) < FUNCTION_TIMEOUT_SECONDS * 1000, `${name}: ${worstCaseCallMs(bounds)} ms`);
  });

  it('the worst case counts every attempt and the retry delays between them', () => {
    assert.equal(worstCaseCallMs({ connectTimeoutMs: 1, requestTimeoutMs: 1_000, maxAttempts: 3 }), 3_000 + 1_000 + 2_000);
    assert.equal(worstCaseCallMs({ connectTimeoutMs: 1, requestTimeoutMs: 1_000, maxAttempts: 1 }), 1_000);
  });

  it('a row write sent at the end of its window is over, retries included, long before a remove may delete its object', () => {
    assert.ok(ROW_WRITE_WINDOW_MS + worstCaseCallMs(DYNAMODB_CALL_BOUNDS) < REMOVE_OBJECT_MIN_AGE_MS / 4);
  });
});
