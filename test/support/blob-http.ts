import { basicAuth, multipartBody } from './test-server.js';

/**
 * The few Perkeep-protocol calls the storage tests make (HTTP Basic as USER/PASSWORD): batch
 * upload, remove, stat, GET and enumerate, and one check of the storage invariant.
 */
export interface TestBlob {
  ref: string;
  data: Buffer;
}

export interface BlobView {
  stat: boolean;
  listed: boolean;
  /** GET status and, on 200, whether the bytes are the blob's. */
  get: number;
  bytesOk?: boolean;
}

export function blobHttp(base: () => string, auth = basicAuth()) {
  const call = (path: string, init: RequestInit = {}) => fetch(`${base()}${path}`, { ...init, headers: { authorization: auth, ...(init.headers ?? {}) } });
  const form = (refs: string[], extra = '') => refs.map((r, i) => `blob${i + 1}=${encodeURIComponent(r)}`).join('&') + extra;
  return {
    /** POST /camli/upload; answers the refs received (throws on a non-200). */
    async upload(blobs: TestBlob[]): Promise<string[]> {
      const { body, contentType } = multipartBody(blobs.map((b) => ({ name: b.ref, data: b.data })));
      const r = await call('/camli/upload', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`upload: ${r.status} ${text}`);
      return ((JSON.parse(text) as { received: { blobRef: string }[] }).received ?? []).map((x) => x.blobRef);
    },
    /** POST /camli/remove; answers the refs removed (throws on a non-200). */
    async remove(refs: string[]): Promise<string[]> {
      const r = await call('/camli/remove', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(refs) });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`remove: ${r.status} ${text}`);
      return (JSON.parse(text) as { removed: string[] }).removed;
    },
    /** What stat, enumerate and GET each say about a blob. */
    async view(b: TestBlob): Promise<BlobView> {
      const stat = await call(`/camli/stat?camliversion=1&blob1=${b.ref}`);
      const statted = ((await stat.json()) as { stat: { blobRef: string }[] }).stat.some((s) => s.blobRef === b.ref);
      const en = await call(`/camli/enumerate-blobs?limit=1&after=${encodeURIComponent(b.ref.slice(0, -1))}`);
      const listed = ((await en.json()) as { blobs: { blobRef: string }[] }).blobs.some((s) => s.blobRef === b.ref);
      const get = await call(`/camli/${b.ref}`);
      const bytes = Buffer.from(await get.arrayBuffer());
      return { stat: statted, listed, get: get.status, ...(get.status === 200 ? { bytesOk: bytes.equals(b.data) } : {}) };
    },
  };
}

/** The invariant: wholly present (stat, enumerate and GET agree, bytes verify) or wholly absent. */
export function wholeness(v: BlobView): 'present' | 'absent' | `broken: ${string}` {
  if (v.stat && v.listed && v.get === 200 && v.bytesOk) return 'present';
  if (!v.stat && !v.listed && v.get === 404) return 'absent';
  return `broken: ${JSON.stringify(v)}`;
}
