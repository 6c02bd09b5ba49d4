import { isBlobRef, verifies, type BlobData } from './blobref.js';
import { BlobServerError, describeBody, type Operation } from './errors.js';
import { blobPart, blobPartSize, closingSize, multipartBody, newBoundary } from './multipart.js';
import { DEFAULT_RETRY, retryableStatus, withRetry, type RetryPolicy } from './retry.js';

/**
 * The blob server's HTTP API (the seed's preupload/upload and Perkeep's stat, get, enumerate,
 * remove) over fetch, with retries. No AWS SDK: blobs above the upload URL's body limit go
 * through the presigned S3 form the server hands out (`uploadForm`).
 */

export interface SizedRef {
  blobRef: string;
  size: number;
}

/** The large-blob lane's presigned POST: every field unchanged, then a `file` part named by the blobref. */
export interface UploadForm {
  url: string;
  fields: Record<string, string>;
  maxBlobSize: number;
  expirationSeconds: number;
}

export interface UploadTarget {
  uploadUrl: string;
  maxUploadSize: number;
  uploadUrlExpirationSeconds: number;
  uploadForm?: UploadForm;
}

export interface ClientOptions {
  /** Server base URL; the blob root is served at its `/`. */
  server: string;
  /** `userpass:USER:PASSWORD` (Perkeep's form), or `none`. */
  auth?: string;
  retry?: RetryPolicy;
  /** Injected fetch (tests, instrumentation); the global one by default. */
  fetch?: typeof fetch;
}

/** Refs per preupload/stat/remove request (the protocol's limit). */
export const MAX_REFS_PER_REQUEST = 1000;

export function authorizationHeader(auth: string | undefined): string | undefined {
  if (!auth || auth === 'none') return undefined;
  const m = /^userpass:([^:]*):(.*)$/s.exec(auth);
  if (!m) throw new BlobServerError(`unsupported auth "${auth.split(':')[0]}": use userpass:USER:PASSWORD or none`, { operation: 'config' });
  return 'Basic ' + btoa(String.fromCharCode(...new TextEncoder().encode(`${m[1]}:${m[2]}`)));
}

const chunked = <T>(xs: readonly T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

export class BlobServerClient {
  readonly server: string;
  private readonly authorization?: string;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private target?: { value: UploadTarget; expiresAt: number };
  /** HTTP requests made, retries included (the benchmark's requests per blob). */
  requests = 0;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.authorization = authorizationHeader(options.auth);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
  }

  /**
   * One HTTP exchange with retries on network errors, 5xx and 429. Other statuses are returned
   * for the caller to judge. `auth: false` for capability URLs and S3.
   */
  private async request(operation: Operation, url: string, init: RequestInit & { auth?: boolean; blobRefs?: readonly string[] }): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.auth !== false && this.authorization) headers.set('authorization', this.authorization);
    return withRetry(this.retry, async () => {
      let res: Response;
      this.requests++;
      try {
        res = await this.fetchImpl(url, { ...init, headers });
      } catch (cause) {
        throw new BlobServerError(`${operation}: cannot reach ${new URL(url).origin}: ${(cause as Error).cause ?? (cause as Error).message}`, {
          operation,
          url,
          blobRefs: init.blobRefs,
          retryable: true,
          cause,
        });
      }
      if (retryableStatus(res.status)) {
        const err = await this.failure(operation, url, res, init.blobRefs);
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) Object.assign(err, { retryAfterMs: Math.min(after, 60) * 1000 });
        throw err;
      }
      return res;
    });
  }

  /**
   * One exchange as this client makes them (credentials unless `auth: false`, retries, the
   * request count), for extensions built on the client (batch-read.ts).
   */
  send(operation: Operation, url: string, init: RequestInit & { auth?: boolean; blobRefs?: readonly string[] } = {}): Promise<Response> {
    return this.request(operation, url, init);
  }

  private async failure(operation: Operation, url: string, res: Response, blobRefs?: readonly string[]): Promise<BlobServerError> {
    const text = await res.text().catch(() => '');
    const path = url.startsWith(this.server) ? url.slice(this.server.length).replace(/\/camli\/upload\/.+/, '/camli/upload/<token>') : new URL(url).origin;
    return new BlobServerError(`${operation}: ${path} answered ${res.status}${text ? `: ${describeBody(text)}` : ''}`, {
      operation,
      url,
      status: res.status,
      blobRefs,
      retryable: retryableStatus(res.status),
    });
  }

  private async json<T>(operation: Operation, url: string, res: Response, blobRefs?: readonly string[]): Promise<T> {
    if (res.status !== 200) throw await this.failure(operation, url, res, blobRefs);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new BlobServerError(`${operation}: the server's answer is not JSON: ${text.slice(0, 100)}`, { operation, url, blobRefs, cause });
    }
  }

  private form(refs: readonly string[], extra: Record<string, string> = {}): string {
    const form = new URLSearchParams(extra);
    refs.forEach((r, i) => form.set(`blob${i + 1}`, r));
    return form.toString();
  }

  private checkRefs(operation: Operation, refs: readonly string[]) {
    const bad = refs.find((r) => !isBlobRef(r));
    if (bad !== undefined) throw new BlobServerError(`${operation}: not a blobref: ${JSON.stringify(bad)}`, { operation, blobRefs: [bad] });
  }

  private async postForm<T>(operation: Operation, path: string, refs: readonly string[], extra?: Record<string, string>): Promise<T> {
    const url = this.server + path;
    const res = await this.request(operation, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: this.form(refs, extra),
      blobRefs: refs,
    });
    return this.json<T>(operation, url, res, refs);
  }

  private remember(t: UploadTarget): UploadTarget {
    const value: UploadTarget = {
      uploadUrl: t.uploadUrl,
      maxUploadSize: t.maxUploadSize,
      uploadUrlExpirationSeconds: t.uploadUrlExpirationSeconds,
      ...(t.uploadForm ? { uploadForm: t.uploadForm } : {}),
    };
    // Refresh a little before the server's expiry so a URL never dies in flight.
    this.target = { value, expiresAt: Date.now() + Math.max(0, t.uploadUrlExpirationSeconds - 60) * 1000 };
    return value;
  }

  /** Which of `refs` the server already has (split in requests of 1000), and a fresh upload URL. */
  async preupload(refs: readonly string[]): Promise<{ alreadyHave: SizedRef[] } & UploadTarget> {
    this.checkRefs('preupload', refs);
    const alreadyHave: SizedRef[] = [];
    let last: UploadTarget | undefined;
    for (const batch of refs.length ? chunked(refs, MAX_REFS_PER_REQUEST) : [[]]) {
      const answer = await this.postForm<{ alreadyHave?: SizedRef[] } & UploadTarget>('preupload', '/camli/preupload', batch, { camliversion: '1' });
      alreadyHave.push(...(answer.alreadyHave ?? []));
      last = this.remember(answer);
    }
    return { alreadyHave, ...last! };
  }

  /** The upload URL to use now: the remembered one unless it is about to expire. */
  async uploadTarget(fresh = false): Promise<UploadTarget> {
    if (!fresh && this.target && Date.now() < this.target.expiresAt) return this.target.value;
    return (await this.preupload([])) as UploadTarget;
  }

  /** Sizes of the blobs the server has, among `refs`. */
  async stat(refs: readonly string[]): Promise<SizedRef[]> {
    this.checkRefs('stat', refs);
    const out: SizedRef[] = [];
    for (const batch of chunked(refs, MAX_REFS_PER_REQUEST)) {
      out.push(...((await this.postForm<{ stat?: SizedRef[] }>('stat', '/camli/stat', batch, { camliversion: '1' })).stat ?? []));
    }
    return out;
  }

  /** Size of one multipart request carrying blobs of these sizes (to pack under maxUploadSize). */
  static batchBytes(boundary: string, blobs: readonly { ref: string; size: number }[]): number {
    return blobs.reduce((n, b) => n + blobPartSize(boundary, b.ref, b.size), closingSize(boundary));
  }

  /**
   * Sends these blobs in ONE multipart request to the upload URL (the caller keeps it under
   * `maxUploadSize`). An expired or refused URL (403) is replaced by a fresh one and the
   * request sent again. Every blob must come back in `received`, else this throws.
   */
  async uploadBatch(blobs: readonly BlobData[], boundary = newBoundary()): Promise<SizedRef[]> {
    const { body, contentType } = multipartBody(boundary, blobs.map((b) => blobPart(b.ref, b.bytes)));
    return this.sendUpload('upload', blobs.map((b) => b.ref), (target) => ({
      url: target.uploadUrl,
      init: { method: 'POST', headers: { 'content-type': contentType }, body },
    }));
  }

  /**
   * One upload built for the current upload target (URL or form): a 403 (an expired URL, or
   * an expired form policy that S3 refuses) gets a fresh target and one more try. Every ref
   * must come back in `received`, else this throws; a fresh target in the answer is kept.
   */
  private async sendUpload(
    operation: Operation,
    refs: readonly string[],
    build: (target: UploadTarget) => { url: string; init: RequestInit & { auth?: boolean } },
  ): Promise<SizedRef[]> {
    let target = await this.uploadTarget();
    for (let refreshed = false; ; refreshed = true) {
      const { url, init } = build(target);
      const res = await this.request(operation, url, { ...init, blobRefs: refs });
      if (res.status === 403 && !refreshed) {
        await res.body?.cancel();
        target = await this.uploadTarget(true);
        continue;
      }
      const answer = await this.json<{ received?: SizedRef[]; errorText?: string } & Partial<UploadTarget>>(operation, url, res, refs);
      if (answer.uploadUrl && answer.maxUploadSize) this.remember(answer as UploadTarget);
      return this.checkReceived(operation, url, refs, answer);
    }
  }

  private checkReceived(operation: Operation, url: string, refs: readonly string[], answer: { received?: SizedRef[]; errorText?: string }): SizedRef[] {
    const received = answer.received ?? [];
    const got = new Set(received.map((r) => r.blobRef));
    const missing = refs.filter((r) => !got.has(r));
    if (missing.length) {
      throw new BlobServerError(`${operation}: ${missing.length} of ${refs.length} blobs not stored (${missing[0]}${missing.length > 1 ? ', ...' : ''})${answer.errorText ? `: ${answer.errorText}` : ''}`, {
        operation,
        url,
        blobRefs: missing,
      });
    }
    return received;
  }

  /**
   * Sends one blob through the server's presigned S3 form (blobs too big for an upload
   * request). S3 answers 303 to the server's completion URL, which fetch follows with a GET.
   */
  async uploadLarge(blob: BlobData): Promise<SizedRef> {
    const [received] = await this.sendUpload('upload-form', [blob.ref], (target) => {
      const form = target.uploadForm;
      if (!form) {
        throw new BlobServerError(`upload: blob ${blob.ref} is ${blob.bytes.length} bytes, more than the upload URL takes (${target.maxUploadSize}), and the server offers no uploadForm for large blobs`, {
          operation: 'upload-form',
          blobRefs: [blob.ref],
        });
      }
      if (blob.bytes.length > form.maxBlobSize) {
        throw new BlobServerError(`upload: blob ${blob.ref} is ${blob.bytes.length} bytes, more than the server's largest blob (${form.maxBlobSize})`, {
          operation: 'upload-form',
          blobRefs: [blob.ref],
        });
      }
      // Every field of the form unchanged, then the file; no credentials to S3.
      const fields = Object.entries(form.fields).map(([name, data]) => ({ name, data }));
      const { body, contentType } = multipartBody(newBoundary(), [...fields, { name: 'file', filename: blob.ref, contentType: 'application/octet-stream', data: blob.bytes }]);
      return { url: form.url, init: { method: 'POST', headers: { 'content-type': contentType }, body, auth: false, redirect: 'follow' } };
    });
    return received;
  }

  /** The blob's bytes, verified against its ref; undefined when the server does not have it. */
  async get(ref: string): Promise<Uint8Array | undefined> {
    this.checkRefs('get', [ref]);
    const url = `${this.server}/camli/${ref}`;
    // In Node, follow the redirect ourselves so the credentials are never sent to S3; browsers
    // hide manual redirects, but their fetch drops Authorization on a cross-origin redirect.
    const inBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
    let res = await this.request('get', url, { redirect: inBrowser ? 'follow' : 'manual', blobRefs: [ref] });
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      // Large blobs redirect to a presigned S3 URL, which must not see our credentials.
      await res.body?.cancel();
      const location = new URL(res.headers.get('location')!, url).toString();
      res = await this.request('get', location, { auth: false, blobRefs: [ref] });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) throw await this.failure('get', url, res, [ref]);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (!verifies(ref, bytes)) throw new BlobServerError(`get: the bytes served for ${ref} do not hash to it`, { operation: 'get', url, blobRefs: [ref] });
    return bytes;
  }

  /** Every blob the server has, in blobref order, fetched page by page as the caller iterates. */
  async *enumerate(options: { after?: string; pageSize?: number } = {}): AsyncGenerator<SizedRef> {
    let after = options.after ?? '';
    for (;;) {
      const q = new URLSearchParams({ limit: String(options.pageSize ?? 1000) });
      if (after) q.set('after', after);
      const url = `${this.server}/camli/enumerate-blobs?${q}`;
      const page = await this.json<{ blobs?: SizedRef[]; continueAfter?: string }>('enumerate', url, await this.request('enumerate', url, {}));
      yield* page.blobs ?? [];
      if (!page.continueAfter) return;
      after = page.continueAfter;
    }
  }

  /** Removes blobs (the server must allow removal); returns the refs it reports removed. */
  async remove(refs: readonly string[]): Promise<string[]> {
    this.checkRefs('remove', refs);
    const removed: string[] = [];
    for (const batch of chunked(refs, MAX_REFS_PER_REQUEST)) {
      const answer = await this.postForm<{ removed?: string[]; errorText?: string }>('remove', '/camli/remove', batch);
      removed.push(...(answer.removed ?? []));
      const done = new Set(answer.removed);
      const missing = batch.filter((r) => !done.has(r));
      if (missing.length) throw new BlobServerError(`remove: ${missing.length} of ${batch.length} blobs not removed${answer.errorText ? `: ${answer.errorText}` : ''}`, { operation: 'remove', blobRefs: missing });
    }
    return removed;
  }
}
