import { createSHA224, type IHasher } from 'hash-wasm';
import { fileBlobs } from '../client/chunker.js';
import { BlobServerError } from '../client/errors.js';
import { contents } from '../client/file-contents.js';
import { blobRefOf, hashImplementation, nobleHasher, useHasherSource, type Hasher } from '../client/hash.js';
import { authorizationHeader, BlobServerClient } from '../client/http-client.js';
import type { BlobSource } from '../client/batch-read.js';
import { EncryptedStore } from '../client/encrypt/encrypted-store.js';
import { parseKey } from '../client/encrypt/format.js';
import { directorySchema, parseSchema, staticSets } from '../client/schema.js';
import { Uploader } from '../client/uploader.js';
import type { FileProgress, FromWorker, ToWorker, Totals } from './protocol.js';
import { saveToFile } from './save-file.js';
import { pickedTree, type TreeNode } from './tree.js';

/**
 * The page's worker: reads the picked files, chunks and hashes them and uploads the blobs
 * exactly as `blobserver put` does (client/chunker.ts, schema.ts, uploader.ts), so the page
 * stays responsive however much is hashed. Also fetches downloads and listings.
 */

/** Compiled in by ui/build.ts: whether this is the benchmark's build of the page. */
declare const UI_BENCH: boolean;

const scope = self as unknown as { postMessage(message: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);

// SHA-224 in WebAssembly: @noble/hashes (pure JS) is several times slower in Chromium. The
// chunker hashes synchronously, so a few instances are made up front and lent out.
// Made before any message is handled, but not with a top-level await: messages that arrive
// while the module is still evaluating would be lost.
const wasmHashers: IHasher[] = [];
const hashersReady = Promise.all([1, 2, 3, 4].map(() => createSHA224())).then((made) => void wasmHashers.push(...made));
const HASH = `SHA-224 by hash-wasm (WebAssembly), else ${hashImplementation}`;
useHasherSource((name) => {
  const h = name === 'sha224' ? wasmHashers.pop() : undefined;
  if (!h) return undefined;
  h.init();
  const hasher: Hasher = {
    update: (d) => (h.update(d), hasher),
    hex: () => {
      const hex = h.digest('hex');
      wasmHashers.push(h);
      return hex;
    },
  };
  return hasher;
});

/** Bytes of a file read at once for chunking. */
const READ_WINDOW = 4 << 20;

let client: BlobServerClient | undefined;
let sent = 0;
let serverUrl = '';
let serverAuth: string | undefined;
/**
 * With a key: Perkeep's encrypt format over two namespaces of this server. The key lives in
 * this worker's memory only (never posted back, sent or stored); reloading the page forgets it.
 */
let store: EncryptedStore | undefined;
let keyInUse: { key: string; blobsNamespace: string; metaNamespace: string } | undefined;

function newClient(server: string) {
  return new BlobServerClient({
    server,
    auth: serverAuth ?? 'none',
    // Counts the bytes of upload requests as they are answered ("sent").
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const url = String(input);
      if (init?.method === 'POST' && init.body instanceof Uint8Array && !/\/camli\/(preupload|stat|remove)$/.test(url)) sent += init.body.length;
      return res;
    },
  });
}

function configure(server: string, auth?: string) {
  sent = 0;
  serverUrl = server;
  serverAuth = auth;
  client = newClient(server);
  store = undefined;
  // Signed in anew: the key in use is opened again with the new credentials.
  if (keyInUse) return useKey(keyInUse.key, keyInUse.blobsNamespace, keyInUse.metaNamespace);
}

/**
 * What the signed-in credential may do at this server's root (GET /camli/credential): `here`,
 * none when refused outright, and undefined (offer everything) when the server does not say.
 */
async function operationsHere(): Promise<string[] | undefined> {
  try {
    const authorization = authorizationHeader(serverAuth);
    const res = await fetch(`${serverUrl.replace(/\/+$/, '')}/camli/credential`, authorization ? { headers: { authorization } } : {});
    if (res.status === 403) return [];
    if (!res.ok) return undefined;
    return ((await res.json()) as { here?: string[] }).here;
  } catch {
    return undefined;
  }
}

/** The meta read again: what other clients (the CLI, perkeepd) stored since the key was given. */
async function refreshStore() {
  if (store && keyInUse) store = await EncryptedStore.open({ blobs: store.blobsClient, meta: store.metaClient, key: store.key });
}

/** A namespace name under this server, or a URL as given. */
const namespaceUrl = (ns: string) => (/^https?:\/\//i.test(ns) ? ns : `${serverUrl.replace(/\/+$/, '')}/${ns}`);

async function useKey(key: string | undefined, blobsNamespace: string, metaNamespace: string) {
  store = undefined;
  keyInUse = undefined;
  if (!key) return post({ type: 'keyed', ok: true, message: 'no key: files are stored as they are', encrypted: false });
  try {
    const parsed = await parseKey(key);
    keyInUse = { key, blobsNamespace, metaNamespace };
    store = await EncryptedStore.open({ blobs: newClient(namespaceUrl(blobsNamespace)), meta: newClient(namespaceUrl(metaNamespace)), key: parsed });
    post({ type: 'keyed', ok: true, message: `encrypting to ${parsed.recipient.slice(0, 16)}…; ${store.size.blobs} encrypted blobs known`, encrypted: true });
  } catch (err) {
    post({ type: 'keyed', ok: false, message: describe(err), encrypted: false });
  }
}

/** A failure in words a person can act on. */
export function describe(err: unknown): string {
  if (err instanceof BlobServerError) {
    if (err.status === 401) return `The server refused the credentials (${err.message.replace(/^.*answered 401: /, '')}). Sign in again.`;
    if (err.retryable && err.status === undefined) {
      return `The server cannot be reached (${err.message}). What was stored is kept: choose the same files again to resume.`;
    }
    return err.message;
  }
  return (err as Error)?.message ?? String(err);
}

async function put(job: number, picked: { path: string; file: File }[], dirs: string[]) {
  const c = client!;
  const tree = pickedTree(picked, dirs);
  const files: FileProgress[] = picked.map((p) => ({
    path: p.path.split('/').filter(Boolean).join('/'),
    size: p.file.size,
    hashed: 0,
    stored: 0,
    done: false,
  }));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const totals: Totals = { bytes: files.reduce((n, f) => n + f.size, 0), hashed: 0, sent: 0, stored: 0, blobs: 0, uploadedBlobs: 0, skippedBlobs: 0 };
  // Which files each blob belongs to, how many of each file's blobs are not settled yet.
  const owners = new Map<string, { file: FileProgress; chunkBytes: number }[]>();
  const unsettled = new Map<FileProgress, number>();
  const settled = new Set<string>();
  const sentBefore = sent;
  let lastPost = 0;
  const report = (force = false) => {
    totals.sent = sent - sentBefore;
    if (!force && performance.now() - lastPost < 100) return;
    lastPost = performance.now();
    post({ type: 'progress', job, files, totals });
  };
  const onSettled = (refs: readonly string[]) => {
    for (const ref of refs) {
      settled.add(ref);
      for (const o of owners.get(ref) ?? []) {
        o.file.stored += o.chunkBytes;
        totals.stored += o.chunkBytes;
        const left = unsettled.get(o.file)! - 1;
        unsettled.set(o.file, left);
        if (left === 0) o.file.done = true;
      }
      owners.delete(ref);
    }
  };
  // With a key: the same blobs, encrypted (settled by plaintext ref, counted as plaintext).
  const writer = store?.writer({
    onSettled: (refs) => {
      onSettled(refs);
      Object.assign(totals, { blobs: writer!.plainStats.blobs, uploadedBlobs: writer!.plainStats.storedBlobs, skippedBlobs: writer!.plainStats.skippedBlobs });
      report();
    },
  });
  const uploader =
    writer ??
    new Uploader(c, {
      onSettled,
      onProgress: (s) => {
        Object.assign(totals, { blobs: s.blobs, uploadedBlobs: s.uploadedBlobs, skippedBlobs: s.skippedBlobs });
        report();
      },
    });

  /** A blob of `file` (a chunk counts its bytes toward the file's "stored") to settle before the file is done. */
  const owe = (file: FileProgress, ref: string, chunkBytes: number) => {
    if (settled.has(ref)) {
      file.stored += chunkBytes;
      totals.stored += chunkBytes;
      return;
    }
    owners.set(ref, [...(owners.get(ref) ?? []), { file, chunkBytes }]);
    unsettled.set(file, (unsettled.get(file) ?? 0) + 1);
  };
  const putFile = async (node: TreeNode<File> & { kind: 'file' }): Promise<string> => {
    const progress = byPath.get(node.path)!;
    unsettled.set(progress, 1); // held until the file schema is added, so "done" waits for it
    // Large reads into fresh buffers: the chunker hands out views of them, where the File's
    // stream gave 64 KiB pieces that every chunk was concatenated from.
    const source = async function* () {
      for (let at = 0; at < node.file.size; at += READ_WINDOW) {
        const value = new Uint8Array(await node.file.slice(at, at + READ_WINDOW).arrayBuffer());
        progress.hashed += value.length;
        totals.hashed += value.length;
        yield value;
      }
    };
    const blobs = fileBlobs(source(), { fileName: node.name, mtimeNs: BigInt(Math.round(node.file.lastModified)) * 1_000_000n }, { reusesBuffers: false });
    // Chunks come first and add up to the file's size; then its bytes schemas and file schema.
    let chunkBytes = 0;
    for (let r = await blobs.next(); ; r = await blobs.next()) {
      if (r.done) {
        const left = unsettled.get(progress)! - 1;
        unsettled.set(progress, left);
        if (left === 0) progress.done = true;
        return r.value.ref;
      }
      const isChunk = chunkBytes < progress.size;
      if (isChunk) chunkBytes += r.value.bytes.length;
      owe(progress, r.value.ref, isChunk ? r.value.bytes.length : 0);
      await uploader.add(r.value);
      report();
    }
  };
  const putNode = async (node: TreeNode<File>): Promise<string> => {
    if (node.kind === 'file') return putFile(node);
    const members: string[] = [];
    for (const child of node.children) members.push(await putNode(child));
    const sets = staticSets(members);
    for (const s of sets) await uploader.add(s);
    const dir = directorySchema({ fileName: node.name }, sets[0]!.ref);
    await uploader.add(dir);
    return dir.ref;
  };

  try {
    const refs: { name: string; ref: string; kind: 'file' | 'directory' }[] = [];
    for (const node of tree) refs.push({ name: node.name, ref: await putNode(node), kind: node.kind === 'file' ? 'file' : 'directory' });
    await uploader.flush();
    report(true);
    post({ type: 'done', job, refs, totals, files });
  } catch (err) {
    report(true);
    post({ type: 'failed', job, message: describe(err), files, totals });
  }
}

/** Where the page reads: the encrypted store when a key is set (refreshed for a ref its meta does not name yet), else the server. */
const source: BlobSource = {
  async get(ref, options) {
    if (store && !store.has(ref)) await refreshStore();
    return (store ?? client!).get(ref, options);
  },
};

/** A blob the page was asked for by ref: absent is said in words. */
async function fetchTop(ref: string): Promise<Uint8Array> {
  const bytes = await source.get(ref);
  if (!bytes) throw new Error(`The server has no blob ${ref}.`);
  return bytes;
}

/** A download whose top blob was read: its name, and its bytes to come. */
interface PreparedDownload {
  ref: string;
  name: string;
  pieces(): AsyncIterable<Uint8Array>;
}

/**
 * A file schema's contents, or a blob's own bytes; a directory is for `blobserver get`. The
 * contents are read blob by blob and checked against the sizes the schema declares, as restore
 * checks them (client/file-contents.ts), so a file is never held whole in the worker.
 */
async function prepareDownload(ref: string): Promise<PreparedDownload> {
  const bytes = await fetchTop(ref);
  const schema = parseSchema(bytes);
  if (schema?.camliType === 'file') return { ref, name: schema.fileName ?? ref, pieces: () => contents(source, schema.parts ?? [], ref) };
  if (schema?.camliType === 'directory') throw new Error(`${ref} is a folder: restore it with \`blobserver get ${ref}\`.`);
  return {
    ref,
    name: ref,
    pieces: async function* () {
      yield bytes;
    },
  };
}

/** Downloads waiting for the page to say where they go (`save-as` asked, `save` answers). */
const awaitingSave = new Map<number, PreparedDownload>();
let lastDownload = 0;

/**
 * Where the page said: streamed into the file the user picked (ui/save-file.ts), else as Blob
 * parts, each piece a Blob as it comes, whose bytes the browser keeps outside the script's memory
 * (on disk when large), so the file is never held whole in the worker, nor twice.
 */
async function save(download: PreparedDownload, to: FileSystemFileHandle | undefined) {
  if (to) {
    const bytes = await saveToFile(download.pieces(), to);
    return post({ type: 'saved', ref: download.ref, name: download.name, bytes });
  }
  const pieces: Blob[] = [];
  for await (const piece of download.pieces()) pieces.push(new Blob([piece as Uint8Array<ArrayBuffer>]));
  post({ type: 'downloaded', ref: download.ref, name: download.name, blob: new Blob(pieces) });
}

/** For the benchmark's build only: MB/s of SHA-224 (the page's, and @noble/hashes for comparison) and of chunking + hashing (what `put` does per byte). */
async function bench(mb: number) {
  const data = new Uint8Array(mb << 20);
  for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const time = async (f: () => Promise<unknown> | unknown) => {
    const t = performance.now();
    await f();
    return mb / 1.048576 / ((performance.now() - t) / 1000);
  };
  const sha224 = await time(() => blobRefOf(data));
  const noble = await time(() => nobleHasher('sha224').update(data).hex());
  const chunked = await time(async () => {
    const source = async function* () {
      for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
    };
    for await (const _ of fileBlobs(source(), { fileName: 'bench' }, { reusesBuffers: false })) void _;
  });
  return { sha224, noble, chunked };
}

scope.onmessage = (e) => {
  const m = e.data;
  const run = async () => {
    await hashersReady;
    switch (m.type) {
      case 'config':
        return configure(m.server, m.auth);
      case 'put':
        return put(m.job, m.files, m.dirs);
      case 'key':
        return useKey(m.key, m.blobsNamespace, m.metaNamespace);
      case 'download':
        try {
          const prepared = await prepareDownload(m.ref);
          const id = ++lastDownload;
          awaitingSave.set(id, prepared);
          post({ type: 'save-as', id, ref: prepared.ref, name: prepared.name });
        } catch (err) {
          post({ type: 'failed', message: describe(err) });
        }
        return;
      case 'save': {
        const prepared = awaitingSave.get(m.id);
        awaitingSave.delete(m.id);
        if (!prepared || m.cancel) return;
        try {
          await save(prepared, m.to);
        } catch (err) {
          post({ type: 'failed', message: describe(err) });
        }
        return;
      }
      case 'list':
        try {
          const blobs = [];
          let continueAfter: string | undefined;
          if (!m.after) await refreshStore();
          for await (const b of store ? store.enumerate({ after: m.after }) : client!.enumerate({ after: m.after, pageSize: m.limit })) {
            blobs.push(b);
            if (blobs.length === m.limit) {
              continueAfter = b.blobRef;
              break;
            }
          }
          post({ type: 'listed', blobs, continueAfter });
        } catch (err) {
          post({ type: 'failed', message: describe(err) });
        }
        return;
      case 'bench':
        if (UI_BENCH) post({ type: 'benched', hash: HASH, ...(await bench(m.mb)) });
        return;
      case 'scope':
        return post({ type: 'scoped', operations: await operationsHere() });
      case 'check':
        try {
          await client!.preupload([]);
          post({ type: 'checked', ok: true, message: 'signed in' });
        } catch (err) {
          post({ type: 'checked', ok: false, message: describe(err) });
        }
        return;
    }
  };
  void run();
};

void hashersReady.then(() => post({ type: 'ready', hash: HASH }));
