import { CREATION_LOCK_HOLD_MS } from '../limits.js';
import { CreationHistory, type LockMark } from './creation-history.js';

/**
 * Rule 6 of blob-storage.ts counts a blob once: of the writers that find a blob without a row,
 * exactly one may create it. A conditional PutItem per row says which, but it is one request
 * per new blob, and no batched DynamoDB write can carry conditions on dynalite (the embedded
 * default: no TransactWriteItems, no PartiQL). So a namespace's new rows are created under
 * this lock instead: while a writer holds it, no other writer creates a row in the namespace,
 * so a row the holder reads as absent stays absent until the holder writes it, blind and in
 * batches (BatchWriteItem, 25 rows a request), and is counted by that holder alone.
 *
 * What the lock never guards: the blobs themselves. Any row ever written points at complete,
 * verified bytes (rule 3), so a lock that is lost (its holder slower than the TTL) can only
 * make the usage counter run high, as a crash can, until fsck recounts.
 *
 * Each take is counted (creation-history.ts), so a holder can tell which rows a read made
 * before it (after `mark`) may have missed, and read only those again.
 */
export interface CreationLock {
  /**
   * Runs `create` while holding the namespace's lock; `create` gets the epoch ms after which
   * it sends no write, and the holding. Throws CreationLockBusy (nothing run) when the lock was
   * not free within CREATION_LOCK_WAIT_MS, and a storage fault as it is.
   */
  whileCreating<T>(create: (sendBy: number, holding: CreationHolding) => Promise<T>): Promise<T>;
  /** A mark to take before a read of rows, for `CreationHolding.mayHaveRows`; undefined: none known (read again). */
  mark(): Promise<LockMark | undefined>;
}

/** What a holder of the lock knows and says. */
export interface CreationHolding {
  /** Of `refs`, read absent after `mark` was taken, those a row may have been created for since (creation-history.ts). */
  mayHaveRows(refs: readonly string[], mark: LockMark | undefined): string[];
  /** Records refs whose rows this holder writes: called before it sends them. */
  writing(refs: Iterable<string>): void;
}

/** The holding of take `count` of the life `birth`, recorded in `history`. */
export function holdingOf(history: CreationHistory, birth: string, count: number): CreationHolding {
  const writes = history.taken(birth, count);
  return {
    mayHaveRows: (refs, mark) => history.mayHaveRows(refs, mark, birth, count),
    writing: (refs) => {
      for (const ref of refs) writes.add(ref);
    },
  };
}

/** The lock was held by another writer for the whole wait: nothing was created. */
export class CreationLockBusy extends Error {
  override name = 'CreationLockBusy';
  constructor(namespaceLabel: string, options?: ErrorOptions) {
    super(`the row-creation lock of ${namespaceLabel} stayed taken; retry later`, options);
  }
}

/** One holder at a time within this process, first come first served. */
export class LocalMutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    // The next holder waits for this one to settle, whatever its outcome.
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** In memory (tests, BlobStorage without a table): the process is the only writer. */
export class MemoryCreationLock implements CreationLock {
  private readonly mutex = new LocalMutex();
  private readonly history = new CreationHistory();
  private takes = 0;

  whileCreating<T>(create: (sendBy: number, holding: CreationHolding) => Promise<T>): Promise<T> {
    return this.mutex.run(() => create(Date.now() + CREATION_LOCK_HOLD_MS, holdingOf(this.history, 'memory', ++this.takes)));
  }

  async mark(): Promise<LockMark | undefined> {
    // Before the first take, every take to come is this lock's own, from count 1.
    return this.history.mark() ?? { birth: 'memory', from: 1 };
  }
}
