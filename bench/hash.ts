import { createHash, randomBytes } from 'node:crypto';
import type { HashName } from '../lambda/core/blobref.js';
import { KiB, MiB, mbPerSecond, timeRuns } from './measure.js';

/** Raw node:crypto throughput: what hashing alone costs, the ceiling for the upload path. */
export interface RawHashFigures {
  /** MB/s hashing 64 separate 64 KiB buffers (one digest each), as a batch of small blobs needs. */
  small: number;
  /** MB/s hashing one 4 MiB buffer. */
  large: number;
}

export const SMALL_PART = 64 * KiB;
export const SMALL_PARTS = 64;
export const LARGE_PART = 4 * MiB;

/** Hashes each buffer on its own, one digest per buffer, as verifying one blob per part does. */
export function rawHasher(hash: HashName, buffers: readonly Buffer[]): () => void {
  return () => {
    for (const b of buffers) createHash(hash).update(b).digest();
  };
}

export async function rawHashThroughput(hash: HashName, reps: number): Promise<RawHashFigures> {
  const smalls = Array.from({ length: SMALL_PARTS }, () => randomBytes(SMALL_PART));
  const large = [randomBytes(LARGE_PART)];
  return {
    small: mbPerSecond(SMALL_PART * SMALL_PARTS, await timeRuns(reps, rawHasher(hash, smalls))),
    large: mbPerSecond(LARGE_PART, await timeRuns(reps, rawHasher(hash, large))),
  };
}
