import { digestMatches } from './blob-storage.js';
import { mapConcurrently } from './concurrency.js';
import { DEFAULT_FSCK_GRACE_MS } from './limits.js';
import { BLOB_PREFIX, isPackKey, newPackKey, PACK_PREFIX } from './object-keys.js';
import type { BlobIndex, BlobRow, BlobStore, StoredObjectInfo } from './storage-api.js';

/**
 * The audit (`npm run fsck`): walks every row (a Query per range shard, 1000 rows a page) and
 * then every object (ListObjectsV2 pages) and compares them. Rows first: an object is always
 * written before its row, so a row's object is in the later listing unless it was deleted, and
 * an object no listed row points at is either garbage or an upload in flight, which the grace
 * period tells apart (a row is written within minutes of its object).
 *
 * Damage (exit non-zero): a row whose object is missing, shorter than its range, of another
 * size, or (with verify) holding other bytes. Garbage: objects no row points at, and the dead
 * bytes of packs whose blobs were removed.
 *
 * Repair: damaged rows are deleted (conditionally on their key; the blob becomes absent and a
 * re-upload restores it); unreferenced objects older than the grace period are deleted; packs
 * mostly dead and older than the grace period are repacked: live ranges copied to a new pack,
 * rows re-pointed conditionally on the old key (a row removed meanwhile is never recreated),
 * and the old pack deleted only when no row points at it any more.
 */

export type FindingKind = 'missing-object' | 'short-object' | 'size-mismatch' | 'digest-mismatch' | 'unreferenced-object' | 'dead-pack-bytes';

export interface Finding {
  kind: FindingKind;
  key: string;
  ref?: string;
  /** Bytes concerned: the unreferenced object's size, a pack's dead bytes. */
  bytes?: number;
}

export interface FsckOptions {
  verify?: boolean;
  repair?: boolean;
  /** Objects younger than this are never reclaimed (uploads in flight). */
  graceMs?: number;
  /** A pack whose live bytes are below this fraction of its size is repacked. */
  repackBelow?: number;
  now?: () => Date;
  progress?: (line: string) => void;
}

export interface FsckReport {
  rows: number;
  objects: number;
  objectBytes: number;
  findings: Finding[];
  /** Damage found (rows that do not serve their blob). */
  damaged: number;
  repaired: { rowsDeleted: number; objectsDeleted: number; bytesReclaimed: number; packsRepacked: number };
}

const LIST_PAGE = 1000;
const CONCURRENCY = 8;

export async function fsck(index: BlobIndex, store: BlobStore, options: FsckOptions = {}): Promise<FsckReport> {
  const now = options.now ?? (() => new Date());
  const grace = options.graceMs ?? DEFAULT_FSCK_GRACE_MS;
  const repackBelow = options.repackBelow ?? 0.5;
  const progress = options.progress ?? (() => undefined);

  const rowsByKey = new Map<string, BlobRow[]>();
  let rows = 0;
  for (let after = ''; ; ) {
    const page = await index.list(after, LIST_PAGE);
    for (const row of page) {
      const same = rowsByKey.get(row.key);
      if (same) same.push(row);
      else rowsByKey.set(row.key, [row]);
    }
    rows += page.length;
    progress(`rows: ${rows}`);
    if (page.length < LIST_PAGE) break;
    after = page[page.length - 1].blobRef;
  }
  const objects = new Map<string, StoredObjectInfo>();
  let objectBytes = 0;
  for (const prefix of [PACK_PREFIX, BLOB_PREFIX]) {
    for await (const o of store.list(prefix)) {
      objects.set(o.key, o);
      objectBytes += o.size;
      if (objects.size % 1000 === 0) progress(`rows: ${rows}, objects: ${objects.size}`);
    }
  }
  progress(`rows: ${rows}, objects: ${objects.size}`);

  const findings: Finding[] = [];
  const damagedRows: BlobRow[] = [];
  const damage = (kind: FindingKind, row: BlobRow) => {
    findings.push({ kind, key: row.key, ref: row.blobRef });
    damagedRows.push(row);
  };
  let checked = 0;
  await mapConcurrently([...rowsByKey], CONCURRENCY, async ([key, keyRows]) => {
    const object = objects.get(key);
    const sound: BlobRow[] = [];
    for (const row of keyRows) {
      if (!object) damage('missing-object', row);
      else if (row.offset === undefined && object.size !== row.size) damage('size-mismatch', row);
      else if ((row.offset ?? 0) + row.size > object.size) damage('short-object', row);
      else sound.push(row);
    }
    if (options.verify && sound.length) {
      // One read per object: a pack is read whole and sliced.
      const bytes = await store.read(key);
      for (const row of sound) {
        const start = row.offset ?? 0;
        if (!bytes || !digestMatches(row.blobRef, bytes.subarray(start, start + row.size))) damage('digest-mismatch', row);
      }
    }
    checked += keyRows.length;
    if (options.verify) progress(`verified ${checked} of ${rows} rows`);
  });

  const cutoff = now().getTime() - grace;
  const isDamaged = new Set(damagedRows);
  const unreferenced: StoredObjectInfo[] = [];
  const repackable: StoredObjectInfo[] = [];
  for (const o of objects.values()) {
    const live = rowsByKey.get(o.key);
    if (!live) {
      findings.push({ kind: 'unreferenced-object', key: o.key, bytes: o.size });
      if (o.lastModified.getTime() < cutoff) unreferenced.push(o);
    } else if (isPackKey(o.key)) {
      const liveBytes = live.filter((r) => !isDamaged.has(r)).reduce((n, r) => n + r.size, 0);
      if (liveBytes < o.size) {
        findings.push({ kind: 'dead-pack-bytes', key: o.key, bytes: o.size - liveBytes });
        if (liveBytes < o.size * repackBelow && o.lastModified.getTime() < cutoff) repackable.push(o);
      }
    }
  }

  const repaired = { rowsDeleted: 0, objectsDeleted: 0, bytesReclaimed: 0, packsRepacked: 0 };
  if (options.repair) {
    await mapConcurrently(damagedRows, CONCURRENCY, async (row) => {
      if (await index.deleteIf(row.blobRef, row.key)) repaired.rowsDeleted++;
    });
    await mapConcurrently(unreferenced, CONCURRENCY, async (o) => {
      await store.delete(o.key);
      repaired.objectsDeleted++;
      repaired.bytesReclaimed += o.size;
    });
    for (const pack of repackable) {
      const live = rowsByKey.get(pack.key)!.filter((r) => !isDamaged.has(r));
      const freed = await repack(index, store, pack, live, now());
      if (freed !== undefined) {
        repaired.packsRepacked++;
        repaired.objectsDeleted++;
        repaired.bytesReclaimed += freed;
      }
    }
  }
  // Every damage finding is one row of damagedRows (damage() records both).
  return { rows, objects: objects.size, objectBytes, findings, damaged: damagedRows.length, repaired };
}

/**
 * Copies a pack's live blobs (digest-checked) into a new pack, re-points their rows
 * conditionally on the old key, and deletes the old pack once no row points at it. Answers the
 * bytes freed, or undefined when the old pack had to stay.
 */
async function repack(index: BlobIndex, store: BlobStore, pack: StoredObjectInfo, live: BlobRow[], now: Date): Promise<number | undefined> {
  const bytes = await store.read(pack.key);
  if (!bytes) return undefined;
  const keep = live.filter((r) => digestMatches(r.blobRef, bytes.subarray(r.offset ?? 0, (r.offset ?? 0) + r.size)));
  if (keep.length) {
    const key = newPackKey(now);
    await store.create(key, Buffer.concat(keep.map((r) => bytes.subarray(r.offset ?? 0, (r.offset ?? 0) + r.size))));
    let offset = 0;
    const storedAt = now.toISOString();
    for (const r of keep) {
      await index.replaceIf({ blobRef: r.blobRef, size: r.size, key, offset, storedAt }, pack.key);
      offset += r.size;
    }
  }
  const still = [...(await index.get(live.map((r) => r.blobRef))).values()].some((r) => r.key === pack.key);
  if (still) return undefined;
  await store.delete(pack.key);
  return pack.size - keep.reduce((n, r) => n + r.size, 0);
}
