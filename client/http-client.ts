import { hashOf, isBlobRef, type BlobData } from './blobref.js';
import { BlobServerError, describeBody, type Operation } from './errors.js';
import { createHasher } from './hash.js';
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
  /** The POST's form fields: S3's policy fields, the `key` template and the completion `success_action_redirect`. */
  fields: { key?: string; success_action_redirect?: string; [name: string]: string };
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
  auth?: string | undefined;
  retry?: RetryPolicy | undefined;
  /** Injected fetch (tests, instrumentation); the global one by default. */
  fetch?: typeof fetch | undefined;
  /**
   * How long a request may wait for the server to start answering (connecting included), in ms;
   * default 10 000. Uploads wait `idleTimeoutMs` plus a second per 32 KiB of body instead:
   * fetch does not say how far the body got, and a slow uplink must not time out.
   */
  connectTimeoutMs?: number | undefined;
  /** How long a response may stall (no bytes), and an upload wait for its answer, in ms; default 60 000. */
  idleTimeoutMs?: number | undefined;
  /** Aborts every request in flight and every later one (a BlobServerError with `aborted: true`). */
  signal?: AbortSignal | undefined;
}

/** Perkeep's largest blob: schema blobs and blobs of unknown size are read up to this much. */
export const MAX_BLOB_SIZE = 16 << 20;
/** A JSON answer (preupload, stat, enumerate...) larger than this is refused. */
const MAX_JSON_SIZE = 16 << 20;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** The slowest uplink an upload's timeout allows for (a 16 MiB blob: 60 s + 512 s). */
const MIN_UPLOAD_BYTES_PER_SECOND = 32 << 10;

/** A response whose body is read under the idle timeout and a size cap. */
export interface Exchange {
  res: Response;
  /** The body, at most `limit` bytes (more is an error, `tooLarge` its message), each chunk also given to `onChunk`. */
  read(limit: number, onChunk?: (chunk: Uint8Array) => void, tooLarge?: string): Promise<Uint8Array>;
  /** Drops the body unread. */
  discard(): Promise<void>;
}

/** The reason of a request we abort ourselves on a timer (distinguished from the caller's abort). */
class Timeout extends Error {}

/** Refs per preupload/stat/remove request (the protocol's limit). */
export const MAX_REFS_PER_REQUEST = 1000;

export function authorizationHeader(auth: string | undefined): string | undefined {
  if (!auth || auth === 'none') return undefined;
  const m = /^userpass:([^:]*):(.*)$/s.exec(auth);
  if (!m) {
    const why = auth.startsWith('userpass:') ? `auth "userpass:${auth.split(':')[1]}" has no password` : `unsupported auth "${auth.split(':')[0]}"`;
    throw new BlobServerError(`${why}: use userpass:USER:PASSWORD or none`, { operation: 'config' });
  }
  return 'Basic ' + btoa(String.fromCharCode(...new TextEncoder().encode(`${m[1]}:${m[2]}`)));
}

/**
 * A browser (page or worker) rather than Node: browsers hide redirects a script follows itself
 * (`redirect: 'manual'` answers an opaque response), so some exchanges go differently there.
 */
const IN_BROWSER = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== 'string';

/**
 * Where S3 redirects a stored form POST, as S3 builds it (`success_action_redirect` plus the
 * bucket and key), for browsers, which cannot follow that redirect with CORS: the redirect goes
 * from S3's origin to the server's, so the browser would send `Origin: null` there.
 */
function completionUrl(form: UploadForm, ref: string): string | undefined {
  const redirect = form.fields.success_action_redirect;
  if (!redirect || !form.fields.key) return undefined;
  const url = new URL(redirect);
  url.searchParams.set('key', form.fields.key.replaceAll('${filename}', ref));
  return url.toString();
}

const chunked = <T>(xs: readonly T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

export class BlobServerClient {
  readonly server: string;
  private readonly authorization: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private target?: { value: UploadTarget; expiresAt: number };
  /** HTTP requests made, retries included (the benchmark's requests per blob). */
  requests = 0;

  constructor(options: ClientOptions) {
    this.server = checkServerUrl(options.server).replace(/\/+$/, '');
    this.authorization = authorizationHeader(options.auth);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.signal = options.signal;
  }

  /**
   * One HTTP exchange with retries on network errors, timeouts, 5xx and 429. Other statuses are
   * returned for the caller to judge. `auth: false` for capability URLs and S3. The answer must
   * start within the connect timeout (uploads: see ClientOptions.connectTimeoutMs), and its body, read through
   * the exchange, may never stall longer than the idle timeout.
   */
  private async request(
    operation: Operation,
    url: string,
    init: RequestInit & { auth?: boolean; blobRefs?: readonly string[]; upload?: boolean; retry?: RetryPolicy },
  ): Promise<Exchange> {
    const headers = new Headers(init.headers);
    if (init.auth !== false && this.authorization) headers.set('authorization', this.authorization);
    const { auth: _auth, blobRefs: _refs, upload, retry, ...fetchInit } = init;
    const details = { operation, url, ...(init.blobRefs ? { blobRefs: init.blobRefs } : {}) };
    const origin = new URL(url).origin;
    return withRetry(retry ?? this.retry, async () => {
      this.throwIfAborted(operation, url);
      const ctl = new AbortController();
      const stop = () => ctl.abort(this.signal?.reason);
      this.signal?.addEventListener('abort', stop, { once: true });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = (ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => ctl.abort(new Timeout()), ms);
      };
      const done = () => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', stop);
      };
      const fail = (cause: unknown, what: string): BlobServerError => {
        done();
        if (this.signal?.aborted) return this.aborted(operation, url, cause);
        if (ctl.signal.reason instanceof Timeout) return new BlobServerError(`${operation}: ${origin} ${what}`, { ...details, retryable: true, cause });
        const tls = tlsMismatch(url, cause);
        const reason = tls ? 'the TLS handshake failed; is it a plain HTTP server? (then say http://)' : networkReason(cause);
        return new BlobServerError(`${operation}: cannot reach ${origin}: ${reason}`, { ...details, retryable: !tls, cause });
      };
      const bodyBytes = fetchInit.body instanceof Uint8Array ? fetchInit.body.length : 0;
      const waitMs = upload ? this.idleTimeoutMs + Math.ceil((bodyBytes / MIN_UPLOAD_BYTES_PER_SECOND) * 1000) : this.connectTimeoutMs;
      arm(waitMs);
      let res: Response;
      this.requests++;
      try {
        res = await this.fetchImpl(url, { ...fetchInit, headers, signal: ctl.signal });
      } catch (cause) {
        throw fail(cause, `did not answer within ${seconds(waitMs)}`);
      }
      const exchange: Exchange = {
        res,
        read: async (limit, onChunk, tooLarge) => {
          const tooBig = () => new BlobServerError(tooLarge ?? `${operation}: ${origin} sent more than the ${limit} bytes expected; stopped reading`, details);
          if (Number(res.headers.get('content-length') ?? NaN) > limit) {
            await exchange.discard();
            throw tooBig();
          }
          const chunks: Uint8Array[] = [];
          let size = 0;
          const reader = res.body?.getReader();
          try {
            while (reader) {
              arm(this.idleTimeoutMs);
              let next: ReadableStreamReadResult<Uint8Array>;
              try {
                next = await reader.read();
              } catch (cause) {
                throw fail(cause, `stalled: no data for ${seconds(this.idleTimeoutMs)}`);
              }
              if (next.done) break;
              size += next.value.length;
              if (size > limit) {
                await reader.cancel().catch(() => undefined);
                throw tooBig();
              }
              onChunk?.(next.value);
              chunks.push(next.value);
            }
          } finally {
            done();
          }
          return chunks.length === 1 ? chunks[0]! : new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
        },
        discard: async () => {
          done();
          await res.body?.cancel().catch(() => undefined);
        },
      };
      if (retryableStatus(res.status)) {
        const err = await this.failure(operation, url, exchange, init.blobRefs);
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) Object.assign(err, { retryAfterMs: Math.min(after, 60) * 1000 });
        throw err;
      }
      return exchange;
    });
  }

  /**
   * One exchange as this client makes them (credentials unless `auth: false`, retries, timeouts,
   * the request count), for extensions built on the client (batch-read.ts). Its body is read
   * through the exchange, bounded.
   */
  send(operation: Operation, url: string, init: RequestInit & { auth?: boolean; blobRefs?: readonly string[] } = {}): Promise<Exchange> {
    return this.request(operation, url, init);
  }

  private aborted(operation: Operation, url: string, cause?: unknown): BlobServerError {
    return Object.assign(new BlobServerError(`${operation}: aborted`, { operation, url, cause: cause ?? this.signal?.reason }), { aborted: true });
  }

  private throwIfAborted(operation: Operation, url: string) {
    if (this.signal?.aborted) throw this.aborted(operation, url);
  }

  private async failure(operation: Operation, url: string, exchange: Exchange, blobRefs?: readonly string[]): Promise<BlobServerError> {
    const res = exchange.res;
    // The start of the body is enough to explain; a failure to read it is not the failure to report.
    const text = await exchange.read(MAX_ERROR_BODY).then(
      (b) => new TextDecoder().decode(b),
      async () => (await exchange.discard(), ''),
    );
    const path = url.startsWith(this.server) ? url.slice(this.server.length).replace(/\/camli\/upload\/.+/, '/camli/upload/<token>') : new URL(url).origin;
    return new BlobServerError(`${operation}: ${path} answered ${res.status}${text ? `: ${describeBody(text)}` : ''}`, {
      operation,
      url,
      status: res.status,
      ...(blobRefs ? { blobRefs } : {}),
      retryable: retryableStatus(res.status),
    });
  }

  private async json<T>(operation: Operation, url: string, exchange: Exchange, blobRefs?: readonly string[]): Promise<T> {
    if (exchange.res.status !== 200) throw await this.failure(operation, url, exchange, blobRefs);
    const text = new TextDecoder().decode(await exchange.read(MAX_JSON_SIZE));
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new BlobServerError(`${operation}: the server's answer is not JSON: ${text.slice(0, 100)}`, {
        operation,
        url,
        ...(blobRefs ? { blobRefs } : {}),
        cause,
      });
    }
  }

  private form(refs: readonly string[], extra: Record<string, string> = {}): string {
    const form = new URLSearchParams(extra);
    for (const [i, r] of refs.entries()) form.set(`blob${i + 1}`, r);
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
    const { body, contentType } = multipartBody(
      boundary,
      blobs.map((b) => blobPart(b.ref, b.bytes)),
    );
    return this.sendUpload(
      'upload',
      blobs.map((b) => b.ref),
      (target) => ({
        url: target.uploadUrl,
        init: { method: 'POST', headers: { 'content-type': contentType }, body },
      }),
    );
  }

  /**
   * One upload built for the current upload target (URL or form): a 403 (an expired URL, or
   * an expired form policy that S3 refuses) gets a fresh target and one more try. Every ref
   * must come back in `received`, else this throws; a fresh target in the answer is kept.
   */
  private async sendUpload(
    operation: Operation,
    refs: readonly string[],
    build: (target: UploadTarget) => { url: string; init: RequestInit & { auth?: boolean }; then?: string | undefined },
  ): Promise<SizedRef[]> {
    let target = await this.uploadTarget();
    for (let refreshed = false; ; refreshed = true) {
      const { url, init, then } = build(target);
      let res = await this.request(operation, url, { ...init, blobRefs: refs, upload: true });
      // A browser's opaque answer from S3: ask the completion URL what became of the upload.
      if (then && res.res.type === 'opaque') {
        await res.discard();
        res = await this.request(operation, then, { auth: false, blobRefs: refs });
      }
      if (res.res.status === 403 && !refreshed) {
        await res.discard();
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
      throw new BlobServerError(
        `${operation}: ${missing.length} of ${refs.length} blobs not stored (${missing[0]}${missing.length > 1 ? ', ...' : ''})${answer.errorText ? `: ${answer.errorText}` : ''}`,
        {
          operation,
          url,
          blobRefs: missing,
        },
      );
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
        throw new BlobServerError(
          `upload: blob ${blob.ref} is ${blob.bytes.length} bytes, more than the upload URL takes (${target.maxUploadSize}), and the server offers no uploadForm for large blobs`,
          {
            operation: 'upload-form',
            blobRefs: [blob.ref],
          },
        );
      }
      if (blob.bytes.length > form.maxBlobSize) {
        throw new BlobServerError(`upload: blob ${blob.ref} is ${blob.bytes.length} bytes, more than the server's largest blob (${form.maxBlobSize})`, {
          operation: 'upload-form',
          blobRefs: [blob.ref],
        });
      }
      // Every field of the form unchanged, then the file; no credentials to S3.
      const fields = Object.entries(form.fields).map(([name, data]) => ({ name, data }));
      const { body, contentType } = multipartBody(newBoundary(), [
        ...fields,
        { name: 'file', filename: blob.ref, contentType: 'application/octet-stream', data: blob.bytes },
      ]);
      const then = IN_BROWSER ? completionUrl(form, blob.ref) : undefined;
      // Browsers: a form POST is a CORS "simple request", so no-cors needs no bucket CORS rule
      // (the page is another origin than the bucket). Its answer is opaque, so the completion URL
      // is asked again (a replay is harmless) for what became of the upload.
      const mode = then ? { mode: 'no-cors' as const } : {};
      return { url: form.url, init: { method: 'POST', headers: { 'content-type': contentType }, body, auth: false, redirect: 'follow', ...mode }, then };
    });
    return received!;
  }

  /**
   * The blob's bytes, verified against its ref; undefined when the server does not have it.
   * The body is hashed as it arrives and cut off past `maxSize` (default 16 MiB, Perkeep's
   * largest blob), so a hostile server can neither make the client buffer without end nor
   * pass off other bytes.
   */
  async get(ref: string, options: { maxSize?: number | undefined } = {}): Promise<Uint8Array | undefined> {
    this.checkRefs('get', [ref]);
    const maxSize = options.maxSize ?? MAX_BLOB_SIZE;
    const url = `${this.server}/camli/${ref}`;
    // In Node, follow the redirect ourselves so the credentials are never sent to S3; browsers
    // hide manual redirects, but their fetch drops Authorization on a cross-origin redirect.
    // Retried as a whole, so a body that stalls or breaks midway is fetched again too.
    const once = { ...this.retry, attempts: 1 };
    return withRetry(this.retry, async () => {
      let res = await this.request('get', url, { redirect: IN_BROWSER ? 'follow' : 'manual', blobRefs: [ref], retry: once });
      const location = res.res.headers.get('location');
      if (res.res.status >= 300 && res.res.status < 400 && location) {
        // Large blobs redirect to a presigned S3 URL, which must not see our credentials.
        await res.discard();
        res = await this.request('get', new URL(location, url).toString(), { auth: false, blobRefs: [ref], retry: once });
      }
      if (res.res.status === 404) {
        await res.discard();
        return undefined;
      }
      if (res.res.status !== 200) throw await this.failure('get', url, res, [ref]);
      const hash = hashOf(ref);
      const hasher = createHasher(hash);
      const limit = maxSize === MAX_BLOB_SIZE ? "Perkeep's largest blob" : 'the size its schema declares';
      const bytes = await res.read(
        maxSize,
        (chunk) => hasher.update(chunk),
        `get: the server sent more than ${maxSize} bytes (${limit}) for ${ref}; stopped reading`,
      );
      if (`${hash}-${hasher.hex()}` !== ref)
        throw new BlobServerError(`get: the bytes served for ${ref} do not hash to it`, { operation: 'get', url, blobRefs: [ref] });
      return bytes;
    });
  }

  /** Every blob the server has, in blobref order, fetched page by page as the caller iterates. */
  async *enumerate(options: { after?: string | undefined; pageSize?: number | undefined } = {}): AsyncGenerator<SizedRef> {
    let after = options.after ?? '';
    for (;;) {
      const q = new URLSearchParams({ limit: String(options.pageSize ?? 1000) });
      if (after) q.set('after', after);
      const url = `${this.server}/camli/enumerate-blobs?${q}`;
      const page = await this.json<{ blobs?: SizedRef[]; continueAfter?: string }>('enumerate', url, await this.request('enumerate', url, {}));
      if (!Array.isArray(page.blobs ?? [])) throw new BlobServerError("enumerate: the server's answer has no list of blobs", { operation: 'enumerate', url });
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
      if (missing.length)
        throw new BlobServerError(`remove: ${missing.length} of ${batch.length} blobs not removed${answer.errorText ? `: ${answer.errorText}` : ''}`, {
          operation: 'remove',
          blobRefs: missing,
        });
    }
    return removed;
  }
}

/** Bytes of an error answer read to explain it. */
const MAX_ERROR_BODY = 64 << 10;

const seconds = (ms: number) => `${ms % 1000 ? (ms / 1000).toFixed(1) : ms / 1000} s`;

/** A server URL must say http:// or https:// (a bare host:port is the commonest mistake). */
export function checkServerUrl(server: string): string {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    // not a URL at all
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.host) {
    throw new BlobServerError(`server "${server}" is not an http:// or https:// URL (say http://${server.replace(/^[a-z]+:\/\//i, '')} or https://...)`, {
      operation: 'config',
    });
  }
  return server;
}

/** Whether fetch failed because https:// was spoken to a server that answered in plain HTTP. */
function tlsMismatch(url: string, err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return url.startsWith('https:') && /SSL|TLS|EPROTO|wrong version number|packet length too long/i.test(`${cause?.code ?? ''} ${cause?.message ?? ''}`);
}

/** Why fetch could not reach the server, in words (undici hides the reason in `cause`). */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (!cause?.message) return String((err as Error).message ?? err);
  return cause.code && !cause.message.includes(cause.code) ? `${cause.code} ${cause.message}` : cause.message;
}
