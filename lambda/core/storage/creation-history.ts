/**
 * What one process knows of a namespace's row-creation history (creation-lock.ts), so that rows a
 * read found absent need not be read again under the lock. Every take of the lock adds one to a
 * count kept with it, and a lock's life has a birth (a token set when its item is made), so each
 * holder is named by (birth, count). This process records the counts of its own takes and the
 * refs whose rows each of those holders wrote (or was about to write: a write whose answer was
 * lost may have landed). Since rows are created only under the lock, a row read absent after a
 * mark can have been created since only by the holders counted from the mark to the current
 * take: when all of those were this process's, only the refs they wrote can have rows; when any
 * was not (or was forgotten), any of them can. Pure bookkeeping: no I/O.
 */

/** A point in the lock's history, taken before a read of rows. */
export interface LockMark {
  /** The birth of the lock's life the mark is in. */
  birth: string;
  /** The first count whose holder may have written rows the read did not see. */
  from: number;
}

/** How many of its own holders a process remembers; a mark older than that is read again. */
export const REMEMBERED_TAKES = 256;

export class CreationHistory {
  private birth: string | undefined;
  /** Counts of this process's takes in the current life, oldest first, with the refs each holder wrote. */
  private readonly ours = new Map<number, Set<string>>();
  private latest: number | undefined;
  /** A mark read off the lock's item before this process's first take (see `observed`). */
  private first: LockMark | undefined;

  constructor(private readonly remembered = REMEMBERED_TAKES) {}

  /** The mark for a read sent now: after this process's latest take, or the one `observed`; undefined when neither is known. */
  mark(): LockMark | undefined {
    // Its latest holder may still be writing: that holder's rows count as unseen.
    if (this.latest !== undefined && this.birth !== undefined) return { birth: this.birth, from: this.latest };
    return this.first;
  }

  /**
   * Keeps a mark read off the lock's item, for every read until this process takes the lock:
   * an older mark is still a true one (every holder before it had let go when it was read), it
   * only names more holders.
   */
  observed(mark: LockMark): LockMark {
    this.first ??= mark;
    return this.first;
  }

  /**
   * Records this process's take `count` of the life `birth`; answers the set its holder adds the
   * refs it writes to, before it sends them.
   */
  taken(birth: string, count: number): Set<string> {
    if (birth !== this.birth) {
      this.birth = birth;
      this.ours.clear();
    }
    const writes = new Set<string>();
    this.ours.set(count, writes);
    this.latest = count;
    for (const oldest of this.ours.keys()) {
      if (this.ours.size <= this.remembered) break;
      this.ours.delete(oldest);
    }
    return writes;
  }

  /**
   * Of `refs`, read absent after `mark` was taken, those that may have a row now, asked by the
   * holder of take `count` of the life `birth` (recorded with `taken`): all of them unless every
   * take from the mark's to this one was this process's, then those its holders wrote.
   */
  mayHaveRows(refs: readonly string[], mark: LockMark | undefined, birth: string, count: number): string[] {
    if (!mark || mark.birth !== birth || birth !== this.birth || mark.from > count) return [...refs];
    const written = new Set<string>();
    for (let c = mark.from; c < count; c++) {
      const writes = this.ours.get(c);
      if (!writes) return [...refs];
      for (const ref of writes) written.add(ref);
    }
    return refs.filter((ref) => written.has(ref));
  }
}
