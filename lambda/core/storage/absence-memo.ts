import type { Logger } from '../telemetry.js';
import type { LockMark } from './creation-history.js';
import type { CreationLock } from './creation-lock.js';

/**
 * Refs a strongly consistent read found without a row, each with the row-creation lock's mark
 * taken before that read (creation-history.ts). Where one process answers both a client's
 * preupload and its upload (the local server), the upload takes these refs as read: it reserves
 * and stores them as new, and its holder of the lock reads again only those a row may have been
 * created for since (blob-writes.ts). Bounded: the oldest are forgotten first, and forgetting a
 * ref costs one read of its row.
 */
export class AbsenceMemo {
  private readonly marks = new Map<string, LockMark>();

  constructor(private readonly capacity = 50_000) {}

  /** Notes `refs`, read absent after `mark` was taken. */
  note(refs: Iterable<string>, mark: LockMark): void {
    for (const ref of refs) {
      this.marks.delete(ref);
      this.marks.set(ref, mark);
    }
    for (const oldest of this.marks.keys()) {
      if (this.marks.size <= this.capacity) break;
      this.marks.delete(oldest);
    }
  }

  /** Those of `refs` noted, with their marks; they are forgotten (an upload uses each once). */
  take(refs: readonly string[]): Map<string, LockMark> {
    const found = new Map<string, LockMark>();
    for (const ref of refs) {
      const mark = this.marks.get(ref);
      if (!mark) continue;
      found.set(ref, mark);
      this.marks.delete(ref);
    }
    return found;
  }
}

/** The lock's mark for a read sent now; none when it cannot be had (the rows are then read again under the lock). */
export async function markOrNone(parts: { creation: CreationLock; log: Logger }): Promise<LockMark | undefined> {
  try {
    return await parts.creation.mark();
  } catch (err) {
    parts.log.warn('reading the row-creation lock failed; rows read now are read again under it', { error: err as Error });
    return undefined;
  }
}
