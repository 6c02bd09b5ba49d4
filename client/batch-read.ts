import { verifies } from './blobref.js';
import { MAX_BLOB_SIZE, type BlobServerClient } from './http-client.js';
import { base64Bytes, locate, locateEndpoint, saneAnswer, type LocateAnswer } from './locate.js';
import { parseSchema, type BytesPart, type ParsedSchema } from './schema.js';

/**
 * Batch reads (DESIGN §9): blobs named ahead of use (`prefetch`) are located a thousand at a
 * time through the server's batch locate extension and fetched straight from S3 as coalesced
 * signed ranges, a few at once, while the caller consumes them in order (`get`). Small blobs
 * come inline in the locate answer. Every blob is checked against its ref before use; a range
 * that fails (expired, gone, wrong bytes) falls back to `GET /camli/<ref>`, as does everything
 * on a server without the extension (perkeepd: its discovery does not advertise it), where
 * prefetched blobs are fetched that way a few at once.
 *
 * Memory: every read started reserves the most it may bring (a range's declared length, which
 * must be the exact extent of the blobs it lists and at most a blob's largest size; a GET's
 * size bound) and inline bytes count as they arrive; the reserved total never exceeds
 * `maxBufferedBytes`, whatever the server declares. A read the caller waits for that does not
 * fit pushes out bytes fetched ahead that nobody waits for (furthest first; fetched again when
 * their turn comes) or waits for reads in flight to finish. The declared length is a limit on
 * what is read, never an allocation.
 *
 * Absence: a blob the server's locate called missing, or whose range and GET both came back
 * empty-handed (a collection may move it between the two reads), is located afresh a few times
 * before `get` answers undefined.
 */

/** What restore reads blobs through: a plain client, or a BatchReader in front of one. */
export interface BlobSource {
  /** The blob's verified bytes, at most `maxSize` (default 16 MiB, more is an error); undefined when the server does not have it. */
  get(ref: string, options?: { maxSize?: number | undefined }): Promise<Uint8Array | undefined>;
  /** Says which blobs will be asked for next, in order. */
  prefetch?(refs: readonly string[]): void;
  /**
   * Prefetches the contents of these `file` schemas (nested `bytes` schemas included), in
   * reading order; `refs`, the schemas' own refs, lets their reads coalesce with the contents'.
   */
  prefetchContents?(schemas: readonly ParsedSchema[], refs?: readonly string[]): Promise<void>;
}

export interface BatchReaderOptions {
  /** Ranges (or, without the extension, blobs) fetched at once. Default 8. */
  concurrency?: number;
  /** Bytes fetched or reserved ahead of the caller: default 64 MiB, at least 16 MiB (the largest range). */
  maxBufferedBytes?: number;
}

/** The server's limit on refs per locate. */
const MAX_LOCATE_REFS = 1000;
/** Locate requests in flight: the server reads inline blobs while the previous answer is used. */
const LOCATES_AT_ONCE = 3;
/** Locate answers that may leave a ref out before it is read through the server instead. */
const MAX_DEFERS = 8;
/** Refs named ahead for one directory's files: past this, the rest are read as they come. */
const MAX_PREFETCH_REFS = 100_000;
/** Fresh locates of a blob the server seemed not to have, before it is called absent. */
const RELOCATE_ATTEMPTS = 2;
/** Pause before a fresh locate (times the attempt): a collection moving the blob finishes its step. */
const RELOCATE_DELAY_MS = 100;

/** One read: a signed S3 range (or one blob through the server), shared by the blobs inside it. */
interface Job {
  /** Order of first use: the furthest is pushed out first. */
  seq: number;
  /** The most it may bring: reserved when it starts. */
  reserve: number;
  /** Bytes it counts in the reserved total now (the reserve in flight, then what it brought). */
  holding: number;
  fetch(): Promise<Uint8Array | undefined>;
  /** Its blobs' entries not yet consumed; the bytes are let go at 0. */
  entriesLeft: number;
  /** Callers waiting for it: it goes first, and is never pushed out meanwhile. */
  waiters: number;
  /** Set while started or fetched; unset when let go or pushed out. */
  result?: Promise<Uint8Array | undefined> | undefined;
  settled: boolean;
  /** Callers to wake when it starts. */
  onStart: (() => void)[];
}

/** An inline blob's bytes, undefined once pushed out (then read through the server). */
type Inline = { kind: 'inline'; bytes: Uint8Array | undefined; seq: number };
type Slot = Inline | { kind: 'range'; job: Job; offset: number; size: number } | { kind: 'missing' } | { kind: 'server' };

interface Entry {
  /** Gets expected; 0 for a companion (asked for only so its neighbours' reads coalesce, never handed out). */
  uses: number;
  located: boolean;
  /** The caller is waiting for it. */
  wanted: boolean;
  slot: Promise<Slot>;
  resolve(slot: Slot): void;
  /** Its inline bytes while held (counted in the reserved total). */
  inline?: Inline | undefined;
  /** Locate answers that left it out so far. */
  defers: number;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export class BatchReader implements BlobSource {
  private readonly concurrency: number;
  private readonly maxBuffered: number;
  private readonly entries = new Map<string, Entry>();
  /** Refs prefetched and not yet located, in order. */
  private queue: string[] = [];
  /** Located reads not yet started, in order of first use. */
  private jobs: Job[] = [];
  private active = 0;
  /** Bytes fetched and not yet let go, plus the reserves of reads in flight: never above maxBuffered. */
  private reserved = 0;
  /** Fetched reads and inline blobs holding bytes, which may be pushed out for a read the caller waits for. */
  private readonly holders = new Set<Job | Entry>();
  private seq = 0;
  private locating = 0;
  /** After an answer that deferred refs, ask for about as many as it answered. */
  private window = MAX_LOCATE_REFS;
  private locateUrl?: Promise<string | undefined>;
  /** Sizes file schemas declare for their chunks: a read through the server stops there. */
  private readonly sizeHints = new Map<string, number>();
  /**
   * Requests made to the server and to S3 (benchmarks' requests per blob), the most bytes ever
   * reserved at once (never above the bound), and fresh locates of blobs that seemed absent.
   */
  readonly stats = { locates: 0, ranges: 0, serverGets: 0, peakReservedBytes: 0, relocates: 0 };

  constructor(
    readonly client: BlobServerClient,
    options: BatchReaderOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 8;
    this.maxBuffered = Math.max(options.maxBufferedBytes ?? 64 << 20, MAX_BLOB_SIZE);
  }

  /** The locate endpoint from the server's discovery document, or undefined when it has none. */
  private endpoint(): Promise<string | undefined> {
    this.locateUrl ??= locateEndpoint(this.client);
    return this.locateUrl;
  }

  /** Whether the server offers batch locate. */
  async supportsLocate(): Promise<boolean> {
    return (await this.endpoint()) !== undefined;
  }

  prefetch(refs: readonly string[], companions?: ReadonlySet<string>): void {
    for (const ref of refs) {
      const companion = companions?.has(ref) ?? false;
      const e = this.entries.get(ref);
      if (e) {
        if (!companion) e.uses++;
        continue;
      }
      const { promise, resolve } = deferred<Slot>();
      this.entries.set(ref, { uses: companion ? 0 : 1, located: false, wanted: false, slot: promise, resolve, defers: 0 });
      this.queue.push(ref);
    }
    this.pump();
  }

  /** A companion's part is done once located: whatever its place in the answer, it is let go. */
  private dropCompanion(ref: string): boolean {
    if (this.entries.get(ref)?.uses !== 0) return false;
    this.entries.delete(ref);
    return true;
  }

  async prefetchContents(schemas: readonly ParsedSchema[], refs?: readonly string[]): Promise<void> {
    const files = schemas.filter((s) => s.camliType === 'file');
    // Nested `bytes` schemas, level by level (one batch each), to know the order of the leaves.
    const nested = new Map<string, BytesPart[]>();
    let level = files.flatMap((s) => bytesRefs(s.parts));
    while (level.length) {
      level = [...new Set(level)].filter((r) => !nested.has(r));
      this.prefetch(level);
      const next: string[] = [];
      for (const ref of level) {
        const bytes = await this.get(ref);
        const parts = bytes ? (parseSchema(bytes)?.parts ?? []) : [];
        nested.set(ref, parts);
        next.push(...bytesRefs(parts));
      }
      level = next;
    }
    // What restore's contents() asks for, in its order: each bytes schema, then its parts.
    const order: string[] = [];
    // Each bytes schema walked once: shared ones (a hostile server can nest them exponentially) are read as they come.
    const walked = new Set<string>();
    const walk = (parts: readonly BytesPart[] | undefined, depth: number) => {
      // Schemas come from the server, which may be hostile: restore checks them; here only what is usable is named.
      for (const p of Array.isArray(parts) ? parts : []) {
        if (order.length >= MAX_PREFETCH_REFS) return;
        if (typeof p !== 'object' || p === null) continue;
        if ('blobRef' in p) {
          if (typeof p.blobRef !== 'string') continue;
          order.push(p.blobRef);
          if (Number.isSafeInteger(p.size) && p.size >= 0 && p.size <= MAX_BLOB_SIZE)
            this.sizeHints.set(p.blobRef, Math.max(p.size, this.sizeHints.get(p.blobRef) ?? 0));
        } else if (depth < 64 && typeof p.bytesRef === 'string' && !walked.has(p.bytesRef)) {
          walked.add(p.bytesRef);
          order.push(p.bytesRef);
          walk(nested.get(p.bytesRef), depth + 1);
        }
      }
    };
    // A file schema was read already, but naming it again lets the reads of the chunks stored
    // beside it (blobserver put packs a file's chunks and schema together) coalesce into one
    // range straight from S3, rather than each chunk its own small read.
    const companions = new Set<string>();
    schemas.forEach((s, i) => {
      if (s.camliType !== 'file') return;
      if (refs?.[i]) {
        order.push(refs[i]);
        companions.add(refs[i]);
      }
      walk(s.parts, 0);
    });
    this.prefetch(order, companions);
  }

  /** These blobs' verified bytes, in order, fetched ahead in batches (missing blobs: undefined). */
  async *readMany(refs: readonly string[]): AsyncGenerator<{ ref: string; bytes: Uint8Array | undefined }> {
    this.prefetch(refs);
    for (const ref of refs) yield { ref, bytes: await this.get(ref) };
  }

  async get(ref: string, options: { maxSize?: number | undefined } = {}): Promise<Uint8Array | undefined> {
    const maxSize = options.maxSize ?? MAX_BLOB_SIZE;
    const e = this.entries.get(ref);
    if (!e || e.uses === 0) return this.fallback(ref, maxSize);
    e.wanted = true;
    if (!e.located) {
      // Asked for before its turn: it goes first.
      this.queue = [ref, ...this.queue.filter((r) => r !== ref)];
      this.pump();
    }
    const slot = await e.slot;
    if (--e.uses === 0) {
      this.entries.delete(ref);
      this.sizeHints.delete(ref);
    }
    let bytes: Uint8Array | undefined;
    if (slot.kind === 'inline') bytes = slot.bytes;
    if (slot.kind === 'range') {
      const job = slot.job;
      job.waiters++;
      try {
        // Started when it fits (it may be pushed out before this caller came, then started again).
        while (!job.result) {
          this.pump();
          if (!job.result) await new Promise<void>((resolve) => job.onStart.push(resolve));
        }
        // A read that failed (or was cut off at its bound) falls back below, bounded by maxSize.
        const buf = await job.result.catch(() => undefined);
        bytes = buf?.subarray(slot.offset, slot.offset + slot.size);
      } finally {
        job.waiters--;
      }
    }
    if (e.uses === 0) this.release(e, slot);
    if (bytes && bytes.length <= maxSize && verifies(ref, bytes)) return bytes;
    // Not fetched, missing, too large or not the blob: the server's own GET (which verifies and bounds too) decides.
    return this.fallback(ref, maxSize);
  }

  private serverGet(ref: string, maxSize?: number): Promise<Uint8Array | undefined> {
    this.stats.serverGets++;
    return this.client.get(ref, { maxSize });
  }

  /**
   * The blob through `GET /camli/<ref>`; when that finds nothing, located afresh (a collection
   * may have moved it between this reader's reads, and the server follows its row), a few times,
   * before it is called absent. A server without locate is taken at its GET's word.
   */
  private async fallback(ref: string, maxSize: number): Promise<Uint8Array | undefined> {
    for (let attempt = 1; ; attempt++) {
      const bytes = await this.serverGet(ref, maxSize);
      if (bytes || attempt > RELOCATE_ATTEMPTS) return bytes;
      const url = await this.endpoint();
      if (!url) return undefined;
      await new Promise((resolve) => setTimeout(resolve, RELOCATE_DELAY_MS * attempt));
      this.stats.relocates++;
      const found = await this.locateOne(url, ref, maxSize).catch(() => undefined);
      if (found) return found;
    }
  }

  /** One blob located on its own and read where the answer says (no read-ahead: the caller waits for it), verified; undefined otherwise. */
  private async locateOne(url: string, ref: string, maxSize: number): Promise<Uint8Array | undefined> {
    const answer = await this.locate(url, [ref]);
    if (!saneAnswer(answer)) return undefined;
    const inline = (answer.inline ?? []).find((b) => b.blobRef === ref);
    let bytes = inline && base64Bytes(inline.data);
    const range = (answer.ranges ?? []).find((r) => r.blobs.some((b) => b.blobRef === ref));
    if (!bytes && range) {
      const b = range.blobs.find((x) => x.blobRef === ref)!;
      if (b.size > maxSize) return undefined;
      bytes = (await this.fetchRange(range.url, range.headers, range.length))?.subarray(b.offset, b.offset + b.size);
    }
    return bytes && bytes.length <= maxSize && verifies(ref, bytes) ? bytes : undefined;
  }

  private addReserved(n: number): void {
    this.reserved += n;
    this.stats.peakReservedBytes = Math.max(this.stats.peakReservedBytes, this.reserved);
  }

  private release(e: Entry, slot: Slot): void {
    if (e.inline) this.dropInline(e);
    if (slot.kind === 'range' && --slot.job.entriesLeft === 0) this.dropJob(slot.job);
    this.pump();
  }

  private dropInline(e: Entry): void {
    this.reserved -= e.inline!.bytes!.length;
    e.inline!.bytes = undefined;
    e.inline = undefined;
    this.holders.delete(e);
  }

  private dropJob(job: Job): void {
    this.reserved -= job.holding;
    job.holding = 0;
    job.result = undefined;
    job.settled = false;
    this.holders.delete(job);
  }

  /**
   * Pushes out fetched bytes nobody waits for, furthest first, until `need` more fit; false
   * (nothing pushed out) when even all of them would not make room: reads in flight must end first.
   */
  private makeRoom(need: number): boolean {
    const sizeOf = (h: Job | Entry) => ('seq' in h ? h.holding : h.inline!.bytes!.length);
    const free = (h: Job | Entry) => sizeOf(h) > 0 && ('seq' in h ? h.settled && h.waiters === 0 : true);
    const seqOf = (h: Job | Entry) => ('seq' in h ? h.seq : h.inline!.seq);
    const candidates = [...this.holders].filter(free).sort((a, b) => seqOf(b) - seqOf(a));
    if (this.reserved - candidates.reduce((n, h) => n + sizeOf(h), 0) + need > this.maxBuffered) return false;
    for (const h of candidates) {
      if (this.reserved + need <= this.maxBuffered) break;
      if ('seq' in h) {
        this.dropJob(h);
        // Fetched again when its turn comes, in order of first use.
        const at = this.jobs.findIndex((j) => j.seq > h.seq);
        this.jobs.splice(at < 0 ? this.jobs.length : at, 0, h);
      } else this.dropInline(h);
    }
    return true;
  }

  /** Starts what may start: the next locate, and reads within the concurrency and memory bounds. */
  private pump(): void {
    while (this.locating < LOCATES_AT_ONCE && this.queue.length) {
      const waiting = this.jobs.reduce((n, j) => n + j.entriesLeft, 0);
      const ahead = waiting < MAX_LOCATE_REFS && this.reserved < this.maxBuffered;
      if (!ahead && !this.entries.get(this.queue[0]!)?.wanted) break;
      void this.locateNext();
    }
    while (this.active < this.concurrency && this.jobs.length) {
      // A read the caller waits for goes first, and may push out bytes fetched ahead; one fetched
      // ahead starts only within the bound.
      const urgent = this.jobs.findIndex((j) => j.waiters > 0);
      const job = this.jobs[Math.max(urgent, 0)]!;
      if (this.reserved + job.reserve > this.maxBuffered && (urgent < 0 || !this.makeRoom(job.reserve))) break;
      // By identity: making room puts what it pushed out back in the list, before this one.
      this.jobs.splice(this.jobs.indexOf(job), 1);
      this.active++;
      this.addReserved(job.reserve);
      job.holding = job.reserve;
      this.holders.add(job);
      const result: Promise<Uint8Array | undefined> = job
        .fetch()
        .then((bytes) => {
          // Still counted (not let go meanwhile): from the reserve down to what came.
          if (job.result === result) {
            this.reserved += (bytes?.length ?? 0) - job.holding;
            job.holding = bytes?.length ?? 0;
            job.settled = true;
          }
          return bytes;
        })
        .finally(() => {
          this.active--;
          this.pump();
        });
      job.result = result;
      // A prefetched blob nobody asks for must not fail the process; the caller awaiting it sees the error.
      result.catch(() => undefined);
      for (const wake of job.onStart.splice(0)) wake();
    }
  }

  private async locateNext(): Promise<void> {
    this.locating++;
    const batch = this.queue.splice(0, this.window);
    for (const ref of batch) this.entries.get(ref)!.located = true;
    try {
      const url = await this.endpoint();
      if (url) this.settle(batch, await this.locate(url, batch));
      else
        for (const ref of batch.filter((r) => !this.dropCompanion(r)))
          this.addJob(
            [ref],
            // A GET brings at most the size its schema declares, else the largest blob.
            this.sizeHints.get(ref) ?? MAX_BLOB_SIZE,
            () => this.serverGet(ref, this.sizeHints.get(ref)),
            (job) => ({ kind: 'range', job, offset: 0, size: Infinity }),
          );
    } catch {
      // The extension failed: these blobs come through GET /camli/<ref>.
      for (const ref of batch) this.entries.get(ref)?.resolve({ kind: 'server' });
    } finally {
      this.locating--;
      this.pump();
    }
  }

  private async locate(url: string, refs: readonly string[]): Promise<LocateAnswer> {
    this.stats.locates++;
    return locate(this.client, url, refs);
  }

  private settle(batch: readonly string[], answer: LocateAnswer): void {
    // The answer comes from the server: one out of bounds sends the whole batch through GET /camli/<ref>.
    if (!saneAnswer(answer)) throw new Error('a locate answer out of bounds');
    const slotOf = (ref: string, slot: Slot) => {
      const e = this.entries.get(ref);
      if (!e || e.located === false || this.dropCompanion(ref)) return;
      if (slot.kind === 'inline') {
        // Held only within the bound; past it, read through the server when asked for.
        if (this.reserved + slot.bytes!.length > this.maxBuffered) slot = { kind: 'server' };
        else {
          this.addReserved(slot.bytes!.length);
          e.inline = slot;
          this.holders.add(e);
        }
      }
      e.resolve(slot);
    };
    for (const b of answer.inline ?? []) slotOf(b.blobRef, { kind: 'inline', bytes: base64Bytes(b.data), seq: this.seq++ });
    for (const ref of answer.missing ?? []) slotOf(ref, { kind: 'missing' });
    // In the order the caller will want them.
    const order = new Map(batch.map((r, i) => [r, i]));
    const ranges = [...(answer.ranges ?? [])].sort((a, b) => firstUse(a, order) - firstUse(b, order));
    for (const r of ranges) {
      const mine = r.blobs.filter((b) => this.entries.get(b.blobRef)?.located && !this.dropCompanion(b.blobRef));
      if (!mine.length) continue;
      // Larger than a blob this reader hands out (a server may allow blobs up to 256 MiB): never
      // fetched, so it never counts against the bound; `get` asks the server, which bounds it.
      if (r.length > MAX_BLOB_SIZE) {
        for (const b of mine) this.entries.get(b.blobRef)?.resolve({ kind: 'server' });
        continue;
      }
      this.addJob(
        mine.map((b) => b.blobRef),
        r.length,
        () => this.fetchRange(r.url, r.headers, r.length),
        (job, ref) => {
          const b = mine.find((x) => x.blobRef === ref)!;
          return { kind: 'range', job, offset: b.offset, size: b.size };
        },
      );
    }
    const answered = new Set([
      ...(answer.inline ?? []).map((b) => b.blobRef),
      ...(answer.missing ?? []),
      ...ranges.flatMap((r) => r.blobs.map((b) => b.blobRef)),
    ]);
    const deferredRefs = batch.filter((r) => !answered.has(r) && !this.dropCompanion(r));
    // Deferred (or left out by the server): asked for again, first, a few times; then through the server.
    const again: string[] = [];
    for (const ref of deferredRefs) {
      const e = this.entries.get(ref)!;
      if (++e.defers > MAX_DEFERS) e.resolve({ kind: 'server' });
      else {
        e.located = false;
        again.push(ref);
      }
    }
    this.queue = [...again, ...this.queue];
    this.window = deferredRefs.length ? Math.max(16, Math.min(MAX_LOCATE_REFS, Math.ceil((batch.length - deferredRefs.length) * 1.25))) : MAX_LOCATE_REFS;
  }

  private addJob(refs: string[], reserve: number, fetch: () => Promise<Uint8Array | undefined>, slot: (job: Job, ref: string) => Slot): void {
    const job: Job = { seq: this.seq++, reserve, holding: 0, fetch, entriesLeft: refs.length, waiters: 0, settled: false, onStart: [] };
    this.jobs.push(job);
    for (const ref of refs) this.entries.get(ref)?.resolve(slot(job, ref));
  }

  /** One signed range straight from S3 (no credentials sent); undefined when S3 refuses it or sends other bytes. */
  private async fetchRange(url: string, headers: Record<string, string>, length: number): Promise<Uint8Array | undefined> {
    this.stats.ranges++;
    try {
      const res = await this.client.send('get', url, { headers, auth: false });
      if (res.res.status !== 206 && res.res.status !== 200) {
        await res.discard();
        return undefined;
      }
      // Never more than the range asked for: a longer body is cut off (and refused) at `length`.
      const bytes = await res.read(length);
      return bytes.length === length ? bytes : undefined;
    } catch {
      return undefined;
    }
  }
}

const firstUse = (r: LocateAnswer['ranges'][number], order: Map<string, number>) => Math.min(...r.blobs.map((b) => order.get(b.blobRef) ?? Infinity));

const bytesRefs = (parts: readonly BytesPart[] | undefined): string[] =>
  (Array.isArray(parts) ? parts : []).flatMap((p: BytesPart) =>
    typeof p === 'object' && p !== null && 'bytesRef' in p && typeof p.bytesRef === 'string' ? [p.bytesRef] : [],
  );
