import type { BlobData } from './blobref.js';
import { BlobServerClient, MAX_REFS_PER_REQUEST } from './http-client.js';
import { limiter } from './limiter.js';
import { newBoundary } from './multipart.js';

export interface UploadStats {
  /** Distinct blobs handed to the uploader, and their bytes. */
  blobs: number;
  bytes: number;
  /** Of those, sent to the server, and already there (preupload's alreadyHave). */
  uploadedBlobs: number;
  uploadedBytes: number;
  skippedBlobs: number;
  skippedBytes: number;
  /** Bytes of blobs put in an upload request so far (sent or being sent; stored once uploadedBytes counts them). */
  sentBytes: number;
}

export interface UploaderOptions {
  /** Upload requests in flight at once (default 4). */
  concurrency?: number | undefined;
  /** Blob bytes held in memory waiting for preupload or upload before `add` waits (default 64 MiB). */
  maxBufferedBytes?: number | undefined;
  /** Called whenever blobs are settled (stored or found present). */
  onProgress?: ((stats: Readonly<UploadStats>) => void) | undefined;
  /** Called with the refs of blobs as they are settled: stored by this upload (`uploaded`) or found present. */
  onSettled?: ((refs: readonly string[], uploaded: boolean) => void) | undefined;
}

/**
 * Uploads a stream of blobs with few requests: refs are checked with preupload 1000 at a
 * time, what is missing is packed into multipart requests up to the upload URL's
 * maxUploadSize, sent `concurrency` at a time; a blob too large for one request goes through
 * the server's presigned S3 form. `add` waits when too many bytes are buffered, so memory
 * stays bounded however much is uploaded. Blobs the server has are never sent, which is
 * what makes an interrupted run cheap to repeat.
 */
export class Uploader {
  readonly stats: UploadStats = { blobs: 0, bytes: 0, uploadedBlobs: 0, uploadedBytes: 0, skippedBlobs: 0, skippedBytes: 0, sentBytes: 0 };
  private readonly seen = new Set<string>();
  private readonly maxBuffered: number;
  private readonly sendLimit: ReturnType<typeof limiter>;
  private readonly statLimit = limiter(2);
  private readonly boundary = newBoundary();
  private toCheck: BlobData[] = [];
  private toCheckBytes = 0;
  private toSend: BlobData[] = [];
  private buffered = 0;
  private readonly tasks = new Set<Promise<void>>();
  private error?: unknown;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: BlobServerClient,
    private readonly options: UploaderOptions = {},
  ) {
    this.maxBuffered = options.maxBufferedBytes ?? 64 << 20;
    this.sendLimit = limiter(options.concurrency ?? 4);
  }

  /** Queues a blob; resolves once it is buffered (not yet stored: see `flush`). */
  async add(blob: BlobData): Promise<void> {
    this.throwIfFailed();
    if (this.seen.has(blob.ref)) return;
    this.seen.add(blob.ref);
    this.stats.blobs++;
    this.stats.bytes += blob.bytes.length;
    this.toCheck.push(blob);
    this.toCheckBytes += blob.bytes.length;
    this.buffered += blob.bytes.length;
    if (this.toCheck.length >= MAX_REFS_PER_REQUEST || this.toCheckBytes >= this.maxBuffered / 4) this.check();
    while (this.buffered > this.maxBuffered && !this.error) {
      // Nothing in flight will free memory: send what is queued, partial batches included.
      if (this.tasks.size === 0) {
        this.check();
        if (this.tasks.size === 0) this.sendRemainder();
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.throwIfFailed();
  }

  /** Sends everything queued and resolves when all of it is stored; throws the first failure. */
  async flush(): Promise<UploadStats> {
    this.check();
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
    this.throwIfFailed();
    this.sendRemainder();
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
    this.throwIfFailed();
    return { ...this.stats };
  }

  private throwIfFailed() {
    if (this.error) throw this.error;
  }

  private track(work: Promise<void>) {
    const task = work.catch((err) => {
      this.error ??= err;
      this.wakeAll();
    });
    this.tasks.add(task);
    void task.finally(() => {
      this.tasks.delete(task);
      this.wakeAll();
    });
  }

  /** Sends the whole send queue, the last request partial. */
  private sendRemainder() {
    if (this.toSend.length) this.track(this.client.uploadTarget().then((t) => this.send(true, t.maxUploadSize)));
  }

  private release(blobs: readonly BlobData[], uploaded: boolean) {
    for (const b of blobs) {
      this.buffered -= b.bytes.length;
      if (uploaded) {
        this.stats.uploadedBlobs++;
        this.stats.uploadedBytes += b.bytes.length;
      } else {
        this.stats.skippedBlobs++;
        this.stats.skippedBytes += b.bytes.length;
      }
    }
    this.options.onSettled?.(
      blobs.map((b) => b.ref),
      uploaded,
    );
    this.options.onProgress?.(this.stats);
    if (this.buffered <= this.maxBuffered) this.wakeAll();
  }

  private wakeAll() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Asks the server which of the queued blobs it has; the others go to the send queue. */
  private check() {
    if (!this.toCheck.length) return;
    const batch = this.toCheck;
    this.toCheck = [];
    this.toCheckBytes = 0;
    this.track(
      this.statLimit(async () => {
        this.throwIfFailed();
        const answer = await this.client.preupload(batch.map((b) => b.ref));
        const have = new Set(answer.alreadyHave.map((h) => h.blobRef));
        this.release(
          batch.filter((b) => have.has(b.ref)),
          false,
        );
        this.toSend.push(...batch.filter((b) => !have.has(b.ref)));
        this.send(false, answer.maxUploadSize);
      }),
    );
  }

  /** Packs the send queue into requests under maxUploadSize; a partial last request only when `all`. */
  private send(all: boolean, limit: number) {
    if (!this.toSend.length) return;
    let batch: BlobData[] = [];
    let size = BlobServerClient.batchBytes(this.boundary, []);
    const dispatch = (blobs: BlobData[]) =>
      this.track(
        this.sendLimit(async () => {
          this.throwIfFailed();
          this.stats.sentBytes += blobs.reduce((n, b) => n + b.bytes.length, 0);
          if (
            blobs.length === 1 &&
            BlobServerClient.batchBytes(this.boundary, [{ ref: blobs[0]!.ref, size: blobs[0]!.bytes.length }]) >
              (await this.client.uploadTarget()).maxUploadSize
          ) {
            await this.client.uploadLarge(blobs[0]!);
          } else {
            await this.client.uploadBatch(blobs, this.boundary);
          }
          this.release(blobs, true);
        }),
      );
    const rest: BlobData[] = [];
    for (const b of this.toSend) {
      const part = BlobServerClient.batchBytes(this.boundary, [{ ref: b.ref, size: b.bytes.length }]) - BlobServerClient.batchBytes(this.boundary, []);
      if (batch.length && size + part > limit) {
        dispatch(batch);
        batch = [];
        size = BlobServerClient.batchBytes(this.boundary, []);
      }
      batch.push(b);
      size += part;
    }
    if (batch.length && (all || size >= limit)) dispatch(batch);
    else rest.push(...batch);
    this.toSend = rest;
  }
}
