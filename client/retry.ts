import { BlobServerError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff; doubled each retry, capped at maxDelayMs, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter exponential backoff: uniform in [0, min(max, base * 2^retry)]. */
export function backoffMs(policy: RetryPolicy, retry: number, random = Math.random): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not retryable, or the policy's
 * attempts are spent (then the last error is thrown). A server's Retry-After, when larger than
 * the backoff, is honoured through `retryAfterMs` on the error.
 */
export async function withRetry<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const retryable = err instanceof BlobServerError && err.retryable;
      if (!retryable) throw err;
      if (n + 1 >= policy.attempts) {
        // Say it was retried: a timeout of 10 s that took a minute to report needs explaining.
        if (n > 0) err.message += ` (tried ${n + 1} times)`;
        throw err;
      }
      const hinted = (err as { retryAfterMs?: number }).retryAfterMs ?? 0;
      await sleep(Math.max(hinted, backoffMs(policy, n)));
    }
  }
}

/**
 * Whether an HTTP status is worth retrying: server errors and throttling. Not 507 (Insufficient
 * Storage: the namespace is over its quota): the same upload would be refused again.
 */
export const retryableStatus = (status: number) => (status >= 500 && status !== 507) || status === 429 || status === 408;
