import { randomBytes } from 'node:crypto';
import { digestMatches } from '../blobref.js';
import { mapConcurrently } from '../concurrency.js';
import { FsckScratch } from './scratch.js';
import { SHARDS } from '../storage/index-schema.js';
import { DEFAULT_FSCK_GRACE_MS, FSCK_SCRATCH_MAX_AGE_MS } from '../limits.js';
import { BLOB_PREFIX, FSCK_RUNS_PREFIX, isLegacyBlobKey, isPackKey, newPackKey, PACK_PREFIX, STAGING_PREFIX } from '../storage/object-keys.js';
import { followRows, MAX_ROW_FOLLOWS } from '../storage/row-follow.js';
import type { BlobIndex, BlobRow, BlobStore, ObjectVersions, StoredObjectInfo } from '../storage/storage-api.js';

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

export type FindingKind =
  | 'missing-object'
  | 'short-object'
  | 'size-mismatch'
  | 'digest-mismatch'
  | 'unreferenced-object'
  | 'dead-pack-bytes'
  | 'stale-staged-upload'
  | 'stale-fsck-scratch';

export interface Finding {
  kind: FindingKind;
  key: string;
  ref?: string;
  /** Bytes concerned: the unreferenced object's size, a pack's dead bytes. */
  bytes?: number;
  /** Damage repaired by restoring the object from this noncurrent version (its rows kept). */
  restoredFrom?: string;
}

export interface FsckOptions {
  verify?: boolean;
  repair?: boolean;
  /** Objects younger than this are never reclaimed (uploads in flight). */
  graceMs?: number;
  /**
   * Staged form uploads younger than this are never reclaimed: they may still be completed
   * (the upload URL's lifetime plus the completion grace). Default: graceMs.
   */
  stagingGraceMs?: number;
  /** A pack whose live bytes are below this fraction of its size is repacked. */
  repackBelow?: number;
  now?: () => Date;
  progress?: ((line: string) => void) | undefined;
  /** Rows per index page (the unit of a row partition's memory); tests lower it. */
  pageSize?: number;
}

export interface FsckReport {
  rows: number;
  objects: number;
  objectBytes: number;
  findings: Finding[];
  /** Damage found (rows that do not serve their blob). */
  damaged: number;
  repaired: { rowsDeleted: number; objectsDeleted: number; bytesReclaimed: number; packsRepacked: number; objectsRestored: number };
}

/** One run of the audit, shared by all its partitions (possibly in separate processes). */
export interface FsckRun {
  /** Names the run's scratch objects. */
  id: string;
  /** Epoch ms when the run began, before any of its listings. */
  startedAt: number;
}

/** The pieces of a run, in the order they must run: all row partitions, then all pack days, then staging. */
export type FsckPartition = { kind: 'rows'; prefix: string } | { kind: 'packs'; day: string } | { kind: 'staging' };

const LIST_PAGE = 1000;
const CONCURRENCY = 8;

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

export function emptyReport(): FsckReport {
  return {
    rows: 0,
    objects: 0,
    objectBytes: 0,
    findings: [],
    damaged: 0,
    repaired: { rowsDeleted: 0, objectsDeleted: 0, bytesReclaimed: 0, packsRepacked: 0, objectsRestored: 0 },
  };
}

/** Adds `part` into `total` (findings appended). */
export function mergeReport(total: FsckReport, part: FsckReport): FsckReport {
  total.rows += part.rows;
  total.objects += part.objects;
  total.objectBytes += part.objectBytes;
  total.findings.push(...part.findings);
  total.damaged += part.damaged;
  for (const k of Object.keys(total.repaired) as (keyof FsckReport['repaired'])[]) total.repaired[k] += part.repaired[k];
  return total;
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

/** An async iterator with a look at its next item. */
class Peekable<T> {
  private head: IteratorResult<T> | undefined;
  constructor(private readonly it: AsyncIterator<T>) {}
  async peek(): Promise<T | undefined> {
    this.head ??= await this.it.next();
    return this.head.done ? undefined : this.head.value;
  }
  async take(): Promise<T | undefined> {
    const v = await this.peek();
    this.head = undefined;
    return v;
  }
}

/** The ref a `blobs/<ref>[/<id>]` key belongs to. */
const refOfBlobKey = (key: string) => key.slice(BLOB_PREFIX.length).split('/')[0]!;
const PACK_DAY_KEY = /^packs\/[0-9]{4}-[0-9]{2}-[0-9]{2}\//;

class Audit {
  readonly report = emptyReport();
  private readonly verify: boolean;
  private readonly repair: boolean;
  private readonly cutoff: number;
  private readonly stagingCutoff: number;
  private readonly repackBelow: number;
  private readonly now: () => Date;
  private readonly pageSize: number;

  constructor(
    private readonly index: BlobIndex,
    private readonly store: BlobStore,
    private readonly run: FsckRun,
    options: FsckOptions,
  ) {
    const grace = options.graceMs ?? DEFAULT_FSCK_GRACE_MS;
    this.verify = options.verify ?? false;
    this.repair = options.repair ?? false;
    // Relative to the run's start, which precedes every row listing the decision rests on.
    this.cutoff = run.startedAt - grace;
    this.stagingCutoff = run.startedAt - Math.max(grace, options.stagingGraceMs ?? grace);
    this.repackBelow = options.repackBelow ?? 0.5;
    this.now = options.now ?? (() => new Date());
    this.pageSize = options.pageSize ?? LIST_PAGE;
  }

  /** A row partition: its rows merge-joined with `blobs/<prefix>`, one page of rows at a time. */
  async rows(prefix: string, shared?: Peekable<StoredObjectInfo>): Promise<void> {
    const start = `${BLOB_PREFIX}${prefix}`;
    // One listing of `blobs/` shared by the partitions run in order in one process (far fewer
    // LISTs than one per partition); objects before this prefix belong to no partition (strays).
    if (shared) await this.rest(shared, start);
    const objects = shared ?? new Peekable(this.store.list(start)[Symbol.asyncIterator]());
    const scratch = new FsckScratch(this.store, this.run.id).writer(prefix);
    for (let after = prefix; ; ) {
      const mine = await this.index.list(after, this.pageSize, prefix);
      const rowsByKey = new Map<string, BlobRow[]>();
      for (const row of mine) {
        this.report.rows++;
        if (PACK_DAY_KEY.test(row.key)) await scratch.add(row);
        else addTo(rowsByKey, row.key, row);
      }
      // Every object of the refs up to the page's last one (all of them when it is the last page).
      const last = mine.length === this.pageSize ? mine[mine.length - 1]!.blobRef : undefined;
      const window = new Map<string, StoredObjectInfo>();
      for (let o = await objects.peek(); o?.key.startsWith(start) && (last === undefined || refOfBlobKey(o.key) <= last); o = await objects.peek()) {
        window.set(o.key, o);
        await objects.take();
      }
      await this.judge(rowsByKey, window);
      if (last === undefined) break;
      after = last;
    }
    await scratch.flush();
  }

  /** Judges the listed objects before `end` (all of them without it) as objects no row points at. */
  async rest(objects: Peekable<StoredObjectInfo>, end?: string): Promise<void> {
    const strays = new Map<string, StoredObjectInfo>();
    for (let o = await objects.peek(); o && (end === undefined || o.key < end); o = await objects.peek()) {
      strays.set(o.key, o);
      await objects.take();
      if (strays.size >= LIST_PAGE) {
        await this.judge(new Map(), strays);
        strays.clear();
      }
    }
    await this.judge(new Map(), strays);
  }

  /** A pack partition: the day's packs and the rows pointing into them. */
  async packDay(day: string): Promise<void> {
    const rowsByKey = new Map<string, BlobRow[]>();
    for (const row of await new FsckScratch(this.store, this.run.id).packRows(day)) addTo(rowsByKey, row.key, row);
    const objects = new Map<string, StoredObjectInfo>();
    for await (const o of this.store.list(`${PACK_PREFIX}${day}/`)) objects.set(o.key, o);
    await this.judge(rowsByKey, objects);
  }

  /** Staged form uploads nobody can complete any more. */
  async staging(): Promise<void> {
    const stale: StoredObjectInfo[] = [];
    for await (const o of this.store.list(STAGING_PREFIX)) {
      if (o.lastModified.getTime() >= this.stagingCutoff) continue;
      this.report.findings.push({ kind: 'stale-staged-upload', key: o.key, bytes: o.size });
      stale.push(o);
    }
    if (this.repair) await this.deleteObjects(stale);
    await this.deadRunsScratch();
  }

  /** Scratch objects of runs that died (killed mid-run): garbage, never this run's own. */
  private async deadRunsScratch(): Promise<void> {
    const mine = `${FSCK_RUNS_PREFIX}${this.run.id}/`;
    const cutoff = this.run.startedAt - FSCK_SCRATCH_MAX_AGE_MS;
    const stale: StoredObjectInfo[] = [];
    for await (const o of this.store.list(FSCK_RUNS_PREFIX)) {
      if (o.key.startsWith(mine) || o.lastModified.getTime() >= cutoff) continue;
      this.report.findings.push({ kind: 'stale-fsck-scratch', key: o.key, bytes: o.size });
      stale.push(o);
    }
    if (this.repair) await this.deleteObjects(stale);
  }

  /** Compares rows with the objects listed for them; reports, and with repair, repairs. */
  private async judge(rowsByKey: Map<string, BlobRow[]>, objects: Map<string, StoredObjectInfo>): Promise<void> {
    const r = this.report;
    for (const o of objects.values()) {
      r.objects++;
      r.objectBytes += o.size;
    }
    const suspects: Suspect[] = [];
    await mapConcurrently([...rowsByKey], CONCURRENCY, async ([key, keyRows]) => {
      // Missing from a listing that may predate the row: only a HEAD now tells.
      const size = objects.get(key)?.size ?? (await this.store.size(key));
      const sound: BlobRow[] = [];
      for (const row of keyRows) {
        const kind = shapeDamage(row, size);
        if (kind) suspects.push({ kind, row, seen: row });
        else sound.push(row);
      }
      if (this.verify && sound.length) {
        // One read per object: a pack is read whole and sliced.
        const bytes = await this.store.read(key);
        for (const row of sound) {
          const start = row.offset ?? 0;
          if (!bytes || !digestMatches(row.blobRef, bytes.subarray(start, start + row.size))) suspects.push({ kind: 'digest-mismatch', row, seen: row });
        }
      }
    });
    const damaged = await this.confirm(suspects);

    // The recovery window: objects restored from a verified noncurrent version keep their rows.
    const findingOf = new Map<Suspect, Finding>();
    for (const d of damaged) {
      const finding: Finding = { kind: d.kind, key: d.row.key, ref: d.row.blobRef };
      r.findings.push(finding);
      findingOf.set(d, finding);
    }
    r.damaged += damaged.length;
    let unrestored = damaged;
    if (this.repair && this.store.versions && damaged.length) {
      const byKey = new Map<string, Suspect[]>();
      for (const d of damaged) byKey.set(d.row.key, [...(byKey.get(d.row.key) ?? []), d]);
      const restored = new Set<Suspect>();
      await mapConcurrently([...byKey], CONCURRENCY, async ([key, onKey]) => {
        // Every row pointing at the key must be served: those this partition listed there, and the damaged ones as now read.
        const rows = [...new Set([...(rowsByKey.get(key) ?? []), ...onKey.map((d) => d.row)])];
        const versionId = await restoreFromVersions(this.store.versions!, key, rows);
        if (versionId === undefined) return;
        r.repaired.objectsRestored++;
        for (const d of onKey) {
          findingOf.get(d)!.restoredFrom = versionId;
          restored.add(d);
        }
      });
      unrestored = damaged.filter((d) => !restored.has(d));
    }
    const damagedRows = unrestored.map((d) => d.row);
    const isDamaged = new Set(unrestored.map((d) => d.seen));
    const unreferenced: StoredObjectInfo[] = [];
    const repackable: StoredObjectInfo[] = [];
    for (const o of objects.values()) {
      const live = rowsByKey.get(o.key);
      if (!live) {
        r.findings.push({ kind: 'unreferenced-object', key: o.key, bytes: o.size });
        // A first-model object is never reclaimed: until `npm run migrate` has run, its row is in
        // the legacy table, which this audit does not read (a scheduled collection right after an
        // upgrading deploy would otherwise delete every old blob). Migrate adopts it.
        if (o.lastModified.getTime() < this.cutoff && !isLegacyBlobKey(o.key)) unreferenced.push(o);
      } else if (isPackKey(o.key)) {
        const liveBytes = live.filter((row) => !isDamaged.has(row)).reduce((n, row) => n + row.size, 0);
        if (liveBytes < o.size) {
          r.findings.push({ kind: 'dead-pack-bytes', key: o.key, bytes: o.size - liveBytes });
          if (liveBytes < o.size * this.repackBelow && o.lastModified.getTime() < this.cutoff) repackable.push(o);
        }
      }
    }

    if (!this.repair) return;
    await mapConcurrently(damagedRows, CONCURRENCY, async (row) => {
      if (await this.index.deleteIf(row.blobRef, row.key)) r.repaired.rowsDeleted++;
    });
    await this.deleteObjects(unreferenced);
    for (const pack of repackable) {
      const live = rowsByKey.get(pack.key)!.filter((row) => !isDamaged.has(row));
      const freed = await repack(this.index, this.store, pack, live, this.now());
      if (freed !== undefined) {
        r.repaired.packsRepacked++;
        r.repaired.objectsDeleted++;
        r.repaired.bytesReclaimed += freed;
      }
    }
  }

  /**
   * Damage is what the current row and its object show, not what this run listed: another run
   * (or a remove) may have changed the row since. Each suspect's row is read again, after the
   * object was found wanting (strongly consistent): gone means removed meanwhile (no finding);
   * unchanged means damage (nothing deletes or alters an object a row points at); moved means
   * another run's repack re-pointed it, so the new place is checked (HEAD, and with verify its
   * bytes) and judged the same way. A row still moving after MAX_ROW_FOLLOWS checks is left to
   * the next run rather than called damaged.
   */
  private async confirm(suspects: Suspect[]): Promise<Suspect[]> {
    const damaged: Suspect[] = [];
    let pending = suspects;
    for (let round = 0; pending.length && round < MAX_ROW_FOLLOWS; round++) {
      const now = await followRows(
        this.index,
        pending.map((p) => p.row),
      );
      const next: Suspect[] = [];
      await mapConcurrently(pending, CONCURRENCY, async (suspect) => {
        const state = now.get(suspect.row.blobRef)!;
        if (state.state === 'unchanged') damaged.push(suspect);
        else if (state.state === 'moved') {
          const kind = await this.check(state.row);
          if (kind) next.push({ kind, row: state.row, seen: suspect.seen });
        }
      });
      pending = next;
    }
    return damaged;
  }

  /** One row against its object as it is now: the damage it shows, if any. */
  private async check(row: BlobRow): Promise<FindingKind | undefined> {
    const kind = shapeDamage(row, await this.store.size(row.key));
    if (kind || !this.verify) return kind;
    const bytes = await this.store.read(row.key, row.offset === undefined ? undefined : { offset: row.offset, length: row.size });
    return bytes && digestMatches(row.blobRef, bytes) ? undefined : 'digest-mismatch';
  }

  private async deleteObjects(objects: StoredObjectInfo[]): Promise<void> {
    await mapConcurrently(objects, CONCURRENCY, async (o) => {
      await this.store.delete(o.key);
      this.report.repaired.objectsDeleted++;
      this.report.repaired.bytesReclaimed += o.size;
    });
  }
}

/**
 * Restores `key` from its newest noncurrent version holding the right bytes for every row that
 * points at it (each row's range digest-checked before anything is written), and answers that
 * version's id; undefined when no version does (none kept, expired, or other bytes).
 */
async function restoreFromVersions(versions: ObjectVersions, key: string, rows: BlobRow[]): Promise<string | undefined> {
  for (const v of await versions.noncurrent(key)) {
    if (rows.some((row) => (row.offset ?? 0) + row.size > v.size || (row.offset === undefined && row.size !== v.size))) continue;
    const bytes = await versions.read(key, v.versionId);
    if (!bytes) continue;
    if (!rows.every((row) => digestMatches(row.blobRef, bytes.subarray(row.offset ?? 0, (row.offset ?? 0) + row.size)))) continue;
    await versions.restore(key, v.versionId);
    return v.versionId;
  }
  return undefined;
}

/** A row found wanting: the damage, the row it was found in (as now read), and the row as this run listed it. */
interface Suspect {
  kind: FindingKind;
  row: BlobRow;
  seen: BlobRow;
}

/** What an object's size (undefined: missing) says of a row pointing at it. */
function shapeDamage(row: BlobRow, size: number | undefined): FindingKind | undefined {
  if (size === undefined) return 'missing-object';
  if (row.offset === undefined && size !== row.size) return 'size-mismatch';
  if ((row.offset ?? 0) + row.size > size) return 'short-object';
  return undefined;
}

function addTo(map: Map<string, BlobRow[]>, key: string, row: BlobRow): void {
  const same = map.get(key);
  if (same) same.push(row);
  else map.set(key, [row]);
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
