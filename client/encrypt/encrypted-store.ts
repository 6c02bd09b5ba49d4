import type { BlobData } from '../blobref.js';
import { BatchReader, type BlobSource } from '../batch-read.js';
import { BlobServerError } from '../errors.js';
import { MAX_BLOB_SIZE, type BlobServerClient, type SizedRef } from '../http-client.js';
import { limiter } from '../limiter.js';
import type { ParsedSchema, BytesPart } from '../schema.js';
import { Uploader, type UploadStats } from '../uploader.js';
import { ageParallelism, ageWork } from './age-pool.js';
import type { AgeWork } from './age-work.js';
import { EncryptionError, formatMeta, maxCiphertextSize, parseMeta, type AgeKey, type MetaEntry } from './format.js';

/** Lines at which a meta blob is full and no longer packed (Perkeep's FullMetaBlobSize). */
export const FULL_META_ENTRIES = 10_000;
/** New entries written as one meta blob during a put: what an interrupted put loses at most. */
const META_BATCH_ENTRIES = 1000;
const META_BATCH_BYTES = 32 << 20;
/** Blobs being encrypted at once, at least (more with more age worker threads: each is kept busy). */
const ENCRYPTS_AT_ONCE = 8;
const ENCRYPT_BYTES_AT_ONCE = 32 << 20;
/** Prefetched blobs fetched and decrypted ahead of the reader, at least (more with more threads). */
const DECRYPT_AHEAD = 16;

export interface EncryptedStoreOptions {
  /** The namespace (or server) holding encrypted blobs. */
  blobs: BlobServerClient;
  /** The namespace (or server) holding encrypted meta blobs. */
  meta: BlobServerClient;
  key: AgeKey;
  /** Where age work runs (default `ageWork()`: the process's worker-thread pool under Node, inline elsewhere). */
  work?: AgeWork | undefined;
}

interface MetaBlob {
  ref: string;
  plains: string[];
}

/**
 * Perkeep's `encrypt` storage, on the client: plaintext blobs go in, encrypted blobs and
 * meta blobs go to two blob roots, and the server never sees a plaintext ref. `open` reads
 * every meta blob (as perkeepd does at start), which gives the plaintext index: what is in
 * it is never encrypted or sent again (dedup, and resume of an interrupted put).
 *
 * Writes keep one invariant: a meta entry is written only after its encrypted blob is
 * stored, so the index never names a blob that is missing. An interruption leaves at most
 * encrypted blobs no meta names (invisible, sent again next time under a new ciphertext).
 */
export interface EncryptedWriterOptions {
  /** Upload requests in flight (default 4). */
  concurrency?: number | undefined;
  /** Called with plaintext refs as they are settled: stored by this put (`uploaded`), or named by the meta already. */
  onSettled?: ((plainRefs: readonly string[], uploaded: boolean) => void) | undefined;
}

/**
 * Perkeep's `encrypt` storage, on the client: plaintext blobs go in, encrypted blobs and
 * meta blobs go to two blob roots, and the server never sees a plaintext ref. `open` reads
 * every meta blob (as perkeepd does at start), which gives the plaintext index: what is in
 * it is never encrypted or sent again (dedup, and resume of an interrupted put).
 *
 * Writes (`writer`) keep one invariant: a meta entry is written only after its encrypted
 * blob is stored, so the index never names a blob that is missing. An interruption leaves at
 * most encrypted blobs no meta names (invisible; sent again next time under a new ciphertext).
 */
export class EncryptedStore implements BlobSource {
  private readonly index = new Map<string, { size: number; encRef: string }>();
  private readonly metas: MetaBlob[] = [];
  readonly key: AgeKey;
  readonly blobsClient: BlobServerClient;
  readonly metaClient: BlobServerClient;
  private readonly reader: BatchReader;
  readonly work: AgeWork;
  /** Blobs decrypted ahead of the reader. */
  private readonly decryptAhead: number;

  private constructor(options: EncryptedStoreOptions) {
    this.key = options.key;
    this.work = options.work ?? ageWork();
    this.decryptAhead = Math.max(DECRYPT_AHEAD, 4 * ageParallelism(this.work));
    this.blobsClient = options.blobs;
    this.metaClient = options.meta;
    this.reader = new BatchReader(options.blobs);
  }

  /** Reads all meta blobs; refuses (one line) any that is not ours or does not parse. */
  static async open(options: EncryptedStoreOptions): Promise<EncryptedStore> {
    const store = new EncryptedStore(options);
    const refs: string[] = [];
    for await (const b of options.meta.enumerate()) refs.push(b.blobRef);
    const metaReader = new BatchReader(options.meta);
    metaReader.prefetch(refs);
    const gate = limiter(Math.max(4, 2 * ageParallelism(store.work)));
    const plaintexts = await Promise.all(
      refs.map((ref) =>
        gate(async () => {
          const bytes = await metaReader.get(ref);
          if (!bytes) throw new BlobServerError(`encrypt: meta blob ${ref} vanished while being read`, { operation: 'get', blobRefs: [ref] });
          return (await store.work.open(options.key, bytes, `encrypt: meta blob ${ref}`)).plaintext;
        }),
      ),
    );
    refs.forEach((ref, i) => {
      const entries = parseMeta(plaintexts[i]!, `encrypt: meta blob ${ref}`);
      store.record(ref, entries);
    });
    return store;
  }

  /** Plaintext blobs known, and meta blobs read or written. */
  get size(): { blobs: number; metaBlobs: number } {
    return { blobs: this.index.size, metaBlobs: this.metas.length };
  }

  /** A put: blobs added to it are encrypted and stored, their meta written as they settle. */
  writer(options: EncryptedWriterOptions = {}): EncryptedWriter {
    return new EncryptedWriter(this, options);
  }

  /** Whether the meta names this plaintext blob. */
  has(ref: string): boolean {
    return this.index.has(ref);
  }

  /** Entries of a meta blob now stored. */
  record(metaRef: string, entries: readonly MetaEntry[]): void {
    for (const e of entries) this.index.set(e.plainRef, { size: e.plainSize, encRef: e.encRef });
    this.metas.push({ ref: metaRef, plains: entries.map((e) => e.plainRef) });
  }

  /** Encrypts and stores one meta blob; returns its ref. */
  async writeMeta(entries: readonly MetaEntry[]): Promise<string> {
    const sealed = await this.work.seal(this.key, formatMeta(entries));
    await this.metaClient.uploadBatch([sealed]);
    return sealed.ref;
  }

  /**
   * Many small meta blobs become few full ones, when the meta server allows removal (as
   * perkeepd packs its one-entry metas). The packed blobs are stored first, the small ones
   * removed after, so a crash in between leaves entries twice (harmless), never none.
   * Returns how many small meta blobs were removed.
   */
  async pack(): Promise<number> {
    const small = this.metas.filter((m) => m.plains.length < FULL_META_ENTRIES);
    if (small.length < 2 || !(await this.removalAllowed())) return 0;
    const plains = [...new Set(small.flatMap((m) => m.plains))].sort();
    const packed: MetaBlob[] = [];
    for (let i = 0; i < plains.length; i += FULL_META_ENTRIES) {
      const part = plains.slice(i, i + FULL_META_ENTRIES);
      const ref = await this.writeMeta(part.map((p) => ({ plainRef: p, plainSize: this.index.get(p)!.size, encRef: this.index.get(p)!.encRef })));
      packed.push({ ref, plains: part });
    }
    const old = new Set(small.map((m) => m.ref));
    for (const p of packed) old.delete(p.ref);
    await this.metaClient.remove([...old]);
    const keep = this.metas.filter((m) => !old.has(m.ref) && !packed.some((p) => p.ref === m.ref));
    this.metas.splice(0, this.metas.length, ...keep, ...packed);
    return old.size;
  }

  private removalProbe?: Promise<boolean>;

  /** Whether the meta server removes blobs (it may not: BLOBSERVER_ALLOW_REMOVE), asked once with a ref nobody has. */
  private removalAllowed(): Promise<boolean> {
    this.removalProbe ??= this.metaClient.remove([`sha224-${'0'.repeat(56)}`]).then(
      () => true,
      (err: unknown) => {
        if (err instanceof BlobServerError && err.status !== undefined && err.status >= 400 && err.status < 500) return false;
        throw err;
      },
    );
    return this.removalProbe;
  }

  // ---- reading ----

  /** Sizes of the plaintext blobs the meta names, among `refs` (no request: the index is local). */
  stat(refs: readonly string[]): SizedRef[] {
    const out: SizedRef[] = [];
    for (const r of refs) {
      const e = this.index.get(r);
      if (e) out.push({ blobRef: r, size: e.size });
    }
    return out;
  }

  /** The plaintext blobs, in ref order (as perkeepd's encrypt storage enumerates them). */
  *enumerate(options: { after?: string | undefined } = {}): Generator<SizedRef> {
    const after = options.after ?? '';
    for (const r of [...this.index.keys()].filter((k) => k > after).sort()) yield { blobRef: r, size: this.index.get(r)!.size };
  }

  /** Prefetched blobs being fetched and decrypted ahead of the caller, in order (a ref twice: twice). */
  private readonly ahead = new Map<string, Promise<Uint8Array | undefined>[]>();
  private aheadCount = 0;
  private aheadQueue: string[] = [];
  /** Occurrences of each ref in aheadQueue not yet started nor asked for: one asked for first is not fetched again. */
  private readonly queued = new Map<string, number>();

  /** A plaintext blob: its ciphertext fetched (checked against its ref), decrypted, and checked against the plaintext ref. */
  async get(ref: string, options: { maxSize?: number | undefined } = {}): Promise<Uint8Array | undefined> {
    const maxSize = options.maxSize ?? MAX_BLOB_SIZE;
    const early = this.ahead.get(ref)?.shift();
    if (early) {
      if (!this.ahead.get(ref)!.length) this.ahead.delete(ref);
      this.aheadCount--;
      this.pumpAhead();
      const bytes = await early;
      if (bytes && bytes.length > maxSize) throw new EncryptionError(`encrypt: ${ref} is ${bytes.length} bytes, more than the ${maxSize} expected`);
      return bytes;
    }
    // Asked for before its turn ahead: read now, and its place in the queue is dropped.
    const n = this.queued.get(ref);
    if (n) this.queued.set(ref, n - 1);
    return this.fetchPlain(ref, maxSize);
  }

  private async fetchPlain(ref: string, maxSize: number): Promise<Uint8Array | undefined> {
    const e = this.index.get(ref);
    if (!e) return undefined;
    if (e.size > maxSize) throw new EncryptionError(`encrypt: ${ref} is ${e.size} bytes, more than the ${maxSize} expected`);
    const sealed = await this.reader.get(e.encRef, { maxSize: maxCiphertextSize(e.size) });
    if (!sealed)
      throw new BlobServerError(`get: the server has no encrypted blob ${e.encRef} (for ${ref})`, { operation: 'get', blobRefs: [e.encRef], status: 404 });
    const opened = await this.work.open(this.key, sealed, `encrypt: encrypted blob ${e.encRef} (for ${ref})`, { ref, size: e.size });
    if (!opened.matches) throw new EncryptionError(`encrypt: encrypted blob ${e.encRef} does not decrypt to ${ref} (tampered meta)`);
    return opened.plaintext;
  }

  /** Starts fetching and decrypting the next prefetched blobs, a few ahead: decryption overlaps the reads. */
  private pumpAhead() {
    while (this.aheadCount < this.decryptAhead && this.aheadQueue.length) {
      const ref = this.aheadQueue.shift()!;
      const n = this.queued.get(ref) ?? 0;
      if (n <= 1) this.queued.delete(ref);
      else this.queued.set(ref, n - 1);
      if (n === 0) continue;
      const p = this.fetchPlain(ref, MAX_BLOB_SIZE);
      p.catch(() => undefined); // reported to the caller that asks for it
      this.ahead.set(ref, [...(this.ahead.get(ref) ?? []), p]);
      this.aheadCount++;
    }
  }

  prefetch(refs: readonly string[]): void {
    const known = refs.filter((r) => this.index.has(r));
    this.reader.prefetch(known.map((r) => this.index.get(r)!.encRef));
    this.aheadQueue.push(...known);
    for (const r of known) this.queued.set(r, (this.queued.get(r) ?? 0) + 1);
    this.pumpAhead();
  }

  /** Names the files' chunks ahead (nested `bytes` schemas are read as they come). */
  async prefetchContents(schemas: readonly ParsedSchema[]): Promise<void> {
    const refs: string[] = [];
    for (const s of schemas) {
      if (s.camliType !== 'file' || !Array.isArray(s.parts)) continue;
      for (const p of s.parts as BytesPart[]) if (typeof p === 'object' && p !== null && 'blobRef' in p && typeof p.blobRef === 'string') refs.push(p.blobRef);
    }
    this.prefetch(refs);
  }
}

/** One put into an EncryptedStore (`store.writer()`): `add` blobs, then `flush`. */
export class EncryptedWriter {
  private readonly uploader: Uploader;
  /** Encrypted blobs handed to the uploader, by ciphertext ref: their meta entries once stored. */
  private readonly pending = new Map<string, MetaEntry>();
  private ready: MetaEntry[] = [];
  private readyBytes = 0;
  private readonly seen = new Set<string>();
  private readonly metaWrites = new Set<Promise<void>>();
  private metaError?: unknown;
  private readonly encrypting = new Set<Promise<void>>();
  private encryptingBytes = 0;
  private encryptError?: unknown;
  /** Blobs being encrypted at once. */
  private readonly encryptsAtOnce: number;
  /** Plaintext counts: blobs added; of those, stored encrypted by this put and already named by the meta (dedup); meta blobs written and packed away. */
  readonly plainStats = { blobs: 0, bytes: 0, storedBlobs: 0, skippedBlobs: 0, skippedBytes: 0, metaBlobsWritten: 0, metaBlobsPacked: 0 };

  constructor(
    private readonly store: EncryptedStore,
    private readonly options: EncryptedWriterOptions,
  ) {
    this.encryptsAtOnce = Math.max(ENCRYPTS_AT_ONCE, 4 * ageParallelism(store.work));
    this.uploader = new Uploader(store.blobsClient, {
      concurrency: options.concurrency,
      onSettled: (refs) => this.settled(refs),
    });
  }

  /** For progress lines: the encrypted uploader's counts (ciphertext), with the blobs the meta named counted as already stored. */
  get stats(): Readonly<UploadStats> {
    const u = this.uploader.stats;
    const p = this.plainStats;
    return {
      ...u,
      blobs: u.blobs + p.skippedBlobs,
      bytes: u.bytes + p.skippedBytes,
      skippedBlobs: u.skippedBlobs + p.skippedBlobs,
      skippedBytes: u.skippedBytes + p.skippedBytes,
    };
  }

  /** Queues a plaintext blob: encrypted and sent unless the meta has it already. */
  async add(blob: BlobData): Promise<void> {
    this.throwIfFailed();
    if (this.seen.has(blob.ref)) return;
    this.seen.add(blob.ref);
    this.plainStats.blobs++;
    this.plainStats.bytes += blob.bytes.length;
    if (this.store.has(blob.ref)) {
      this.plainStats.skippedBlobs++;
      this.plainStats.skippedBytes += blob.bytes.length;
      this.options.onSettled?.([blob.ref], false);
      return;
    }
    // Encrypted in the background, a few at once: the caller goes on reading and hashing.
    while (this.encrypting.size && (this.encrypting.size >= this.encryptsAtOnce || this.encryptingBytes >= ENCRYPT_BYTES_AT_ONCE)) {
      await Promise.race(this.encrypting);
    }
    this.throwIfFailed();
    const size = blob.bytes.length;
    this.encryptingBytes += size;
    const job = (async () => {
      const sealed = await this.store.work.seal(this.store.key, blob.bytes);
      this.pending.set(sealed.ref, { plainRef: blob.ref, plainSize: size, encRef: sealed.ref });
      await this.uploader.add(sealed);
    })().catch((err: unknown) => {
      this.encryptError ??= err;
    });
    this.encrypting.add(job);
    void job.finally(() => {
      this.encrypting.delete(job);
      this.encryptingBytes -= size;
    });
  }

  private throwIfFailed() {
    if (this.encryptError) throw this.encryptError;
    if (this.metaError) throw this.metaError;
  }

  /** Ciphertexts stored (or found present): their entries are ready for a meta blob. */
  private settled(encRefs: readonly string[]) {
    const plains: string[] = [];
    for (const r of encRefs) {
      const e = this.pending.get(r);
      if (!e) continue;
      this.pending.delete(r);
      this.ready.push(e);
      this.readyBytes += e.plainSize;
      plains.push(e.plainRef);
    }
    this.plainStats.storedBlobs += plains.length;
    this.options.onSettled?.(plains, true);
    if (this.ready.length >= META_BATCH_ENTRIES || this.readyBytes >= META_BATCH_BYTES) this.writeReady();
  }

  /** Writes the meta of every stored blob not yet in a meta blob, and waits for all meta writes. */
  private async writeSettledMeta(): Promise<void> {
    this.writeReady();
    while (this.metaWrites.size) await Promise.allSettled([...this.metaWrites]);
    if (this.metaError) throw this.metaError;
  }

  private writeReady() {
    if (!this.ready.length) return;
    const entries = this.ready;
    this.ready = [];
    this.readyBytes = 0;
    const w = this.store
      .writeMeta(entries)
      .then((ref) => {
        this.plainStats.metaBlobsWritten++;
        this.store.record(ref, entries);
      })
      .catch((err) => {
        this.metaError ??= err;
      });
    this.metaWrites.add(w);
    void w.finally(() => this.metaWrites.delete(w));
  }

  /** Sends everything queued, writes the meta of what was stored, then packs small meta blobs. */
  async flush(): Promise<UploadStats & { plain: EncryptedWriter['plainStats'] }> {
    let stats: UploadStats;
    try {
      while (this.encrypting.size) await Promise.allSettled([...this.encrypting]);
      this.throwIfFailed();
      stats = await this.uploader.flush();
    } catch (err) {
      // Failed midway: what was stored still gets its meta, so running the put again resumes there.
      await this.writeSettledMeta().catch(() => undefined);
      throw err;
    }
    await this.writeSettledMeta();
    this.plainStats.metaBlobsPacked += await this.store.pack();
    return { ...stats, plain: { ...this.plainStats } };
  }
}
