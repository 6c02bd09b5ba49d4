import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { fsck } from '../../lambda/core/fsck/fsck.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { MemoryBlobIndex, MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import type { BlobIndex, BlobRow } from '../../lambda/core/storage/storage-api.js';
import { createLogger } from '../../lambda/core/telemetry.js';

/**
 * A repack interleaved with a read, deterministically: a row index whose next `get` (or `list`)
 * runs a hook after reading its rows and before answering them, so the caller holds rows from
 * before the hook (a repack re-pointing them and deleting the old pack) and then reads objects.
 */
export class RacingIndex implements BlobIndex {
  private hooks: { get?: (() => Promise<void>) | undefined; list?: { hook: () => Promise<void>; when: (rows: BlobRow[]) => boolean } | undefined } = {};

  constructor(readonly inner: BlobIndex) {}

  /** Runs `hook` between the next get's row read and its answer. */
  afterNextGet(hook: () => Promise<void>): void {
    this.hooks.get = hook;
  }

  /** Runs `hook` between the next list's row read (one that finds `when` true of its rows) and its answer. */
  afterNextList(hook: () => Promise<void>, when: (rows: BlobRow[]) => boolean = () => true): void {
    this.hooks.list = { hook, when };
  }

  async get(refs: readonly string[]): Promise<Map<string, BlobRow>> {
    const rows = await this.inner.get(refs);
    const hook = this.hooks.get;
    this.hooks.get = undefined;
    await hook?.();
    return rows;
  }

  async list(after: string, count: number, within?: string): Promise<BlobRow[]> {
    const rows = await this.inner.list(after, count, within);
    const armed = this.hooks.list;
    if (armed?.when(rows)) {
      this.hooks.list = undefined;
      await armed.hook();
    }
    return rows;
  }

  put(rows: readonly BlobRow[], sendBy?: number): Promise<string[]> {
    return this.inner.put(rows, sendBy);
  }
  deleteIf(ref: string, key: string): Promise<boolean> {
    return this.inner.deleteIf(ref, key);
  }
  replaceIf(row: BlobRow, oldKey: string | null): Promise<boolean> {
    return this.inner.replaceIf(row, oldKey);
  }
}

const blob = (size: number) => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes), bytes };
};

export type TestBlob = ReturnType<typeof blob>;

/**
 * A pack that `fsck --repair` repacks: [pair0, pair1, dead, small, dead, dead], the dead blobs
 * removed, the pack two hours old. `pair` (2 x 40 KiB, end to end) is one run too large to inline (locate signs a range
 * for it); `small` is a run of its own (locate inlines it).
 */
export async function repackablePack() {
  const index = new MemoryBlobIndex();
  const store = new MemoryBlobStore();
  const racing = new RacingIndex(index);
  const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' });
  const storage = new BlobStorage(racing, store, { log });
  const pair = [blob(40 << 10), blob(40 << 10)] as const;
  const small = blob(1000);
  const dead = [blob(100 << 10), blob(100 << 10), blob(100 << 10)];
  assert.deepEqual((await storage.storeVerifiedBlobs([pair[0], pair[1], dead[0]!, small, dead[1]!, dead[2]!])).errors, []);
  assert.deepEqual((await storage.removeBlobs(dead.map((d) => d.ref))).errors, []);
  const rowOf = async (ref: string) => (await index.get([ref])).get(ref);
  const packKey = (await rowOf(small.ref))!.key;
  assert.equal((await rowOf(pair[0].ref))!.key, packKey);
  // Two hours old: past fsck's grace period, so a run now repacks it.
  store.objects.get(packKey)!.lastModified = new Date(Date.now() - 2 * 3600_000);
  /** One scheduled collection's repair, on the index underneath (no hooks). */
  const repack = async () => {
    const report = await fsck(index, store, { repair: true });
    assert.equal(report.repaired.packsRepacked, 1, 'the pack was not repacked');
    assert.equal(report.damaged, 0);
    assert.equal(await store.size(packKey), undefined, 'the old pack is still there');
  };
  return { index, store, racing, storage, log, pair, small, packKey, rowOf, repack };
}
