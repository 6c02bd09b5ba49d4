import { randomBytes } from 'node:crypto';
import type { BlobRow, BlobStore } from '../storage/storage-api.js';
import { FSCK_RUNS_PREFIX } from '../storage/object-keys.js';

/**
 * What one fsck run's row partitions hand its pack partitions: the rows that point into packs,
 * grouped by the pack's day, written as small JSON objects under `fsck-runs/<run id>/` in the
 * store itself (so a run spread over many Lambda invocations, or one long CLI process, holds
 * none of them in memory) and deleted when the run ends. A run that dies leaves them for the
 * bucket's lifecycle rule on `fsck-runs/` (infra/storage.ts).
 */

/** Rows buffered (over all days) before they are written: a row partition's memory for them. */
const CHUNK_ROWS = 5000;

type Entry = [ref: string, key: string, offset: number, size: number, storedAt: string];

export class FsckScratch {
  private readonly prefix: string;

  constructor(
    private readonly store: BlobStore,
    runId: string,
  ) {
    if (!/^[0-9A-Za-z_-]{1,80}$/.test(runId)) throw new Error(`not a run id: ${JSON.stringify(runId)}`);
    this.prefix = `${FSCK_RUNS_PREFIX}${runId}/`;
  }

  /** A writer for one row partition: `add` buffers, full chunks and `flush` write objects. */
  writer(partition: string): { add(row: BlobRow): Promise<void>; flush(): Promise<void> } {
    const buffers = new Map<string, Entry[]>();
    let buffered = 0;
    let seq = 0;
    const attempt = randomBytes(4).toString('hex');
    const flush = async () => {
      for (const [day, entries] of buffers) {
        // The attempt id keeps a retried piece (the state machine retries a failed invocation) from colliding with its first try.
        await this.store.create(`${this.prefix}pack-rows/${day}/${partition}-${attempt}-${seq++}.json`, Buffer.from(JSON.stringify(entries)));
      }
      buffers.clear();
      buffered = 0;
    };
    return {
      add: async (row) => {
        const day = packDayOf(row.key);
        const entries = buffers.get(day) ?? [];
        buffers.set(day, entries);
        entries.push([row.blobRef, row.key, row.offset ?? 0, row.size, row.storedAt]);
        if (++buffered >= CHUNK_ROWS) await flush();
      },
      flush,
    };
  }

  /** Every row the row partitions found pointing into the packs of `day`. */
  async packRows(day: string): Promise<BlobRow[]> {
    // By ref: a retried piece may have written some rows twice.
    const rows = new Map<string, BlobRow>();
    for await (const o of this.store.list(`${this.prefix}pack-rows/${day}/`)) {
      const bytes = await this.store.read(o.key);
      if (!bytes) throw new Error(`fsck scratch object ${o.key} vanished during the run`);
      for (const [blobRef, key, offset, size, storedAt] of JSON.parse(bytes.toString('utf8')) as Entry[])
        rows.set(blobRef, { blobRef, key, offset, size, storedAt });
    }
    return [...rows.values()];
  }

  /** The days some row partition wrote rows for. */
  async days(): Promise<string[]> {
    const days = new Set<string>();
    const under = `${this.prefix}pack-rows/`;
    for await (const o of this.store.list(under)) days.add(o.key.slice(under.length).split('/')[0]!);
    return [...days];
  }

  /** Deletes this run's scratch objects. */
  async clear(): Promise<void> {
    for await (const o of this.store.list(this.prefix)) await this.store.delete(o.key);
  }
}

/** `packs/<yyyy-mm-dd>/<id>` -> `yyyy-mm-dd`. */
export function packDayOf(key: string): string {
  const day = key.split('/')[1];
  if (day === undefined || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(day)) throw new Error(`not a pack key: ${JSON.stringify(key)}`);
  return day;
}
