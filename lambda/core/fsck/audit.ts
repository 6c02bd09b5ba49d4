import { digestMatches } from '../blobref.js';
import { mapConcurrently } from '../concurrency.js';
import { FsckScratch } from './scratch.js';
import { DEFAULT_FSCK_GRACE_MS, FSCK_SCRATCH_MAX_AGE_MS } from '../limits.js';
import { BLOB_PREFIX, FSCK_RUNS_PREFIX, isLegacyBlobKey, isPackKey, PACK_PREFIX, STAGING_PREFIX } from '../storage/object-keys.js';
import { followRows, MAX_ROW_FOLLOWS } from '../storage/row-follow.js';
import type { BlobIndex, BlobRow, BlobStore, ObjectVersions, StoredObjectInfo } from '../storage/storage-api.js';
import { repack } from './repack.js';
import { emptyReport, type Finding, type FindingKind, type FsckOptions, type FsckRun } from './report.js';

/**
 * One partition's audit (the run and its partitions are fsck.ts): rows joined with the objects
 * listed for them, damage confirmed against the current row before it is reported, and with
 * repair, the repairs (restores from the recovery window, rows and objects deleted, packs
 * repacked through repack.ts).
 */

const LIST_PAGE = 1000;
const CONCURRENCY = 8;

/** An async iterator with a look at its next item. */
export class Peekable<T> {
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

export class Audit {
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
