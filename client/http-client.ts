import { hashOf, isBlobRef, type BlobData } from './blobref.js';
import { BlobServerError, type Operation } from './errors.js';
import { createHasher } from './hash.js';
import { blobPart, blobPartSize, closingSize, multipartBody, newBoundary } from './multipart.js';
import { withRetry } from './retry.js';
import { IN_BROWSER, Transport, type RequestOptions } from './transport.js';

/**
 * The blob server's HTTP API (the seed's preupload/upload and Perkeep's stat, get, enumerate,
 * remove), its operations on the transport (transport.ts: request, retries, timeouts, errors).
 * No AWS SDK: blobs above the upload URL's body limit go through the presigned S3 form the
 * server hands out (`uploadForm`).
 */

export {
  authorizationHeader,
  checkServerUrl,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  type ClientOptions,
  type Exchange,
} from './transport.js';

/** Perkeep's largest blob: schema blobs and blobs of unknown size are read up to this much. */
export const MAX_BLOB_SIZE = 16 << 20;

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

/** Refs per preupload/stat/remove request (the protocol's limit). */
export const MAX_REFS_PER_REQUEST = 1000;

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

export class BlobServerClient extends Transport {
  private target?: { value: UploadTarget; expiresAt: number };

  private form(refs: readonly string[], extra: Record<string, string> = {}): string {
    const form = new URLSearchParams(extra);
    // append, not set: the names are distinct, and set looks for an existing one each time (quadratic for 1,000 refs).
    for (const [i, r] of refs.entries()) form.append(`blob${i + 1}`, r);
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
    const multipart = multipartBody(
      boundary,
      blobs.map((b) => blobPart(b.ref, b.bytes)),
    );
    return this.sendUpload(
      'upload',
      blobs.map((b) => b.ref),
      (target) => ({
        url: target.uploadUrl,
        init: { method: 'POST', headers: { 'content-type': multipart.contentType }, multipart },
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
    build: (target: UploadTarget) => { url: string; init: RequestOptions; then?: string | undefined },
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
      const multipart = multipartBody(newBoundary(), [
        ...fields,
        { name: 'file', filename: blob.ref, contentType: 'application/octet-stream', data: blob.bytes },
      ]);
      const then = IN_BROWSER ? completionUrl(form, blob.ref) : undefined;
      // Browsers: a form POST is a CORS "simple request", so no-cors needs no bucket CORS rule
      // (the page is another origin than the bucket). Its answer is opaque, so the completion URL
      // is asked again (a replay is harmless) for what became of the upload.
      const mode = then ? { mode: 'no-cors' as const } : {};
      return {
        url: form.url,
        init: { method: 'POST', headers: { 'content-type': multipart.contentType }, multipart, auth: false, redirect: 'follow', ...mode },
        then,
      };
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
