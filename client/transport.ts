import { BlobServerError, describeBody, type Operation } from './errors.js';
import { bodyBytes, type MultipartBody } from './multipart.js';
import { canPostPieces, postPieces } from './node-post.js';
import { DEFAULT_RETRY, retryableStatus, withRetry, type RetryPolicy } from './retry.js';

/**
 * The client's HTTP transport, apart from the protocol's operations (http-client.ts): one
 * exchange over fetch with credentials, retries (network errors, timeouts, 5xx, 429), the
 * connect and idle timeouts, the caller's abort signal, bounded reads of answers, and errors
 * that say what failed in words.
 */

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
export const IN_BROWSER = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== 'string';

/** What `request` takes besides fetch's own init. */
export type RequestOptions = RequestInit & {
  /** false: no credentials (capability URLs, S3). */
  auth?: boolean;
  /** The refs the exchange is about, named in its errors. */
  blobRefs?: readonly string[];
  /** An upload: its answer may take as long as the body takes to send (see ClientOptions.connectTimeoutMs). */
  upload?: boolean;
  retry?: RetryPolicy;
  /** A multipart body: its pieces joined once, when first sent (fetch copies a streamed body's pieces anyway). */
  multipart?: MultipartBody;
};

export class Transport {
  readonly server: string;
  private readonly authorization: string | undefined;
  protected readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly customFetch: boolean;
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  /** HTTP requests made, retries included (the benchmark's requests per blob). */
  requests = 0;

  constructor(options: ClientOptions) {
    this.server = checkServerUrl(options.server).replace(/\/+$/, '');
    this.authorization = authorizationHeader(options.auth);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.customFetch = options.fetch !== undefined;
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
  protected async request(operation: Operation, url: string, init: RequestOptions): Promise<Exchange> {
    const headers = new Headers(init.headers);
    if (init.auth !== false && this.authorization) headers.set('authorization', this.authorization);
    const { auth: _auth, blobRefs: _refs, upload, retry, multipart, ...fetchInit } = init;
    // Under Node with the global fetch, an upload's pieces are written as they are (node-post.ts).
    const pieces = multipart && canPostPieces && !this.customFetch && fetchInit.method === 'POST' && fetchInit.redirect === undefined ? multipart : undefined;
    if (multipart && !pieces) fetchInit.body = bodyBytes(multipart);
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
      const size = pieces ? pieces.length : fetchInit.body instanceof Uint8Array ? fetchInit.body.length : 0;
      const waitMs = upload ? this.idleTimeoutMs + Math.ceil((size / MIN_UPLOAD_BYTES_PER_SECOND) * 1000) : this.connectTimeoutMs;
      arm(waitMs);
      let res: Response;
      this.requests++;
      try {
        res = await (pieces ? postPieces(url, headers, pieces, ctl.signal) : this.fetchImpl(url, { ...fetchInit, headers, signal: ctl.signal }));
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

  protected async failure(operation: Operation, url: string, exchange: Exchange, blobRefs?: readonly string[]): Promise<BlobServerError> {
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

  protected async json<T>(operation: Operation, url: string, exchange: Exchange, blobRefs?: readonly string[]): Promise<T> {
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
