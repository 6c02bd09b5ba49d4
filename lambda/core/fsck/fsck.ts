import { randomBytes } from 'node:crypto';
import { FsckScratch } from './scratch.js';
import { SHARDS } from '../storage/index-schema.js';
import { BLOB_PREFIX, PACK_PREFIX } from '../storage/object-keys.js';
import type { BlobIndex, BlobStore } from '../storage/storage-api.js';
import { Audit, Peekable } from './audit.js';
import { emptyReport, mergeReport, type FsckOptions, type FsckPartition, type FsckReport, type FsckRun } from './report.js';

export { emptyReport, mergeReport, type Finding, type FindingKind, type FsckOptions, type FsckPartition, type FsckReport, type FsckRun } from './report.js';

/**
 * The audit (`npm run fsck`, and the scheduled collector in the cloud), partitioned so that no
 * process ever holds the whole index or the whole listing:
 *
 * - **Row partitions**, one per ref prefix (an index shard such as `sha224-a`, or a finer
 *   prefix): the prefix's rows (Query pages, in blobref order) merge-joined with the listing
 *   of `blobs/<prefix>` (in the same order), a page at a time. Rows pointing into packs are
 *   handed to the pack partitions through scratch objects (scratch.ts).
 * - **Pack partitions**, one per `packs/<day>/`: that day's packs joined with the rows the row
 *   partitions found pointing into them; dead bytes, repacking.
 * - **Staging**: form uploads older than the URL lifetime plus the completion grace, and the
 *   scratch objects of runs that died (older than FSCK_SCRATCH_MAX_AGE_MS).
 *
 * Rows before objects: an object is always written before its row, and every row listing of a
 * run starts after the run began, so an object older than (run start - grace) that no listed
 * row points at is garbage, never an upload in flight (a row is written within minutes of its
 * object). A row whose object the (possibly earlier) listing lacks is confirmed with a HEAD
 * before it counts as damage.
 *
 * Damage (exit non-zero, the collector's alarm): a row whose object is missing, shorter than its
 * range, of another size, or (with verify) holding other bytes. Garbage: objects no row points
 * at, the dead bytes of packs whose blobs were removed, abandoned staged uploads, the scratch of
 * runs that died.
 *
 * Repair: a damaged row's object is first restored from its newest noncurrent version whose
 * bytes match every row pointing at it (digests checked before the copy; the store's recovery
 * window, a versioned bucket), and the finding names that version; damaged rows left are deleted
 * (conditionally on their key; the blob becomes absent and a re-upload restores it); unreferenced objects older than the grace period are deleted; packs
 * mostly dead and older than the grace period are repacked: live ranges copied to a new pack,
 * rows re-pointed conditionally on the old key (a row removed meanwhile is never recreated),
 * and the old pack deleted only when no row points at it any more.
 */

export function newFsckRun(now: Date = new Date()): FsckRun {
  return {
    id: `${now
      .toISOString()
      .replace(/[^0-9]/g, '')
      .slice(0, 14)}-${randomBytes(6).toString('hex')}`,
    startedAt: now.getTime(),
  };
}

/**
 * The row partitions: the 32 index shards (depth 0), or each shard split by the next hex digit
 * of the digest (depth 1: 512 partitions, for stores where a shard is too much for one piece).
 */
export function rowPartitions(depth: 0 | 1 = 0): string[] {
  return depth === 0 ? [...SHARDS] : SHARDS.flatMap((s) => [...'0123456789abcdef'].map((d) => s + d));
}

/**
 * The days that have packs: one delimited listing when the store can give one (S3: CommonPrefixes
 * of `packs/`), else the pack keys' days. With `run`, also the days its row partitions found rows
 * pointing into: a day whose every pack is gone still has its rows judged (as missing-object).
 */
export async function packDays(store: BlobStore, folders?: (prefix: string) => AsyncIterable<string>, run?: FsckRun): Promise<string[]> {
  const days = new Set<string>();
  if (folders) {
    for await (const f of folders(PACK_PREFIX)) days.add(f.slice(PACK_PREFIX.length).replace(/\/$/, ''));
  } else {
    for await (const o of store.list(PACK_PREFIX)) days.add(o.key.split('/')[1]!);
  }
  if (run) for (const day of await new FsckScratch(store, run.id).days()) days.add(day);
  return [...days].filter((d) => /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(d)).sort();
}

/** The whole audit in this process, partition by partition (memory: one partition's page or day). */
export async function fsck(
  index: BlobIndex,
  store: BlobStore,
  options: FsckOptions = {},
  folders?: (prefix: string) => AsyncIterable<string>,
): Promise<FsckReport> {
  const now = options.now ?? (() => new Date());
  const run = newFsckRun(now());
  const report = emptyReport();
  const progress = options.progress ?? (() => undefined);
  try {
    const blobObjects = new Peekable(store.list(BLOB_PREFIX)[Symbol.asyncIterator]());
    for (const prefix of rowPartitions()) {
      const audit = new Audit(index, store, run, options);
      await audit.rows(prefix, blobObjects);
      mergeReport(report, audit.report);
      progress(`rows: ${report.rows}, blob objects: ${report.objects}`);
    }
    const strays = new Audit(index, store, run, options);
    await strays.rest(blobObjects);
    mergeReport(report, strays.report);
    for (const day of await packDays(store, folders, run)) {
      mergeReport(report, await auditPartition(index, store, run, { kind: 'packs', day }, options));
      progress(`rows: ${report.rows}, objects: ${report.objects} (packs of ${day})`);
    }
    mergeReport(report, await auditPartition(index, store, run, { kind: 'staging' }, options));
  } finally {
    await new FsckScratch(store, run.id).clear();
  }
  return report;
}

/** One piece of a run (the scheduled collector runs each in its own invocation). */
export async function auditPartition(
  index: BlobIndex,
  store: BlobStore,
  run: FsckRun,
  partition: FsckPartition,
  options: FsckOptions = {},
): Promise<FsckReport> {
  const ctx = new Audit(index, store, run, options);
  if (partition.kind === 'rows') await ctx.rows(partition.prefix);
  else if (partition.kind === 'packs') await ctx.packDay(partition.day);
  else await ctx.staging();
  return ctx.report;
}

/** Deletes a run's scratch objects (the collector's last step). */
export async function finishRun(store: BlobStore, run: FsckRun): Promise<void> {
  await new FsckScratch(store, run.id).clear();
}
