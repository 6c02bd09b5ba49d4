import { randomBytes } from 'node:crypto';
import { blobRefOf, type HashName } from '../lambda/core/blobref.js';
import { BlobStorage } from '../lambda/core/storage/blob-storage.js';
import { MemoryBlobIndex, MemoryBlobStore } from '../lambda/core/storage/memory-storage.js';
import { readConfig } from '../lambda/core/config.js';
import { createDeps } from '../lambda/core/deps.js';
import { MAX_BLOB_SIZE } from '../lambda/core/limits.js';
import { readBlobParts } from '../lambda/core/upload/multipart.js';
import { credentialsBinding } from '../lambda/core/auth/auth.js';
import { keyringOf, mintUploadToken } from '../lambda/core/auth/tokens.js';
import { WRITE_HANDLERS } from '../lambda/handlers/write-side.js';
import { routeHandler } from '../lambda/sides.js';
import { ROUTES } from '../lambda/routes.js';
import { matchRoute, toEvent } from '../local/event.js';
import { multipartBody } from '../test/support/test-server.js';

/**
 * The upload path's own cost, storage stubbed out: multipart parse + digest verification
 * (readBlobParts), and the whole upload handler (token check, base64 event body, parse,
 * verify, stub writes, fresh upload URL) on an API Gateway event.
 */

export interface Batch {
  hash: HashName;
  /** The blobs' bytes, one buffer per part. */
  blobs: Buffer[];
  /** Blob payload bytes in the batch (what MB/s is counted over). */
  payload: number;
  body: Buffer;
  contentType: string;
}

export function buildBatch(hash: HashName, parts: number, partSize: number): Batch {
  const blobs = Array.from({ length: parts }, () => randomBytes(partSize));
  const body = multipartBody(blobs.map((data) => ({ name: blobRefOf(data, hash), data })));
  return { hash, blobs, payload: parts * partSize, ...body };
}

/** One readBlobParts call over the batch, checked once up front to accept every part. */
export async function parseRun(batch: Batch): Promise<() => Promise<unknown>> {
  const check = await readBlobParts(batch.body, batch.contentType, MAX_BLOB_SIZE);
  if (check.blobs.length !== batch.blobs.length) throw new Error(`bench batch not accepted: ${check.refused.join('; ')}`);
  return () => readBlobParts(batch.body, batch.contentType, MAX_BLOB_SIZE);
}

/** One upload-handler call with an index that knows nothing and a store that keeps nothing. */
export async function handlerRun(batch: Batch): Promise<() => Promise<unknown>> {
  const keyring = keyringOf([randomBytes(32)]);
  // The in-memory implementations, made to forget: every run stores the batch afresh.
  const index = Object.assign(new MemoryBlobIndex(), { put: async () => [] });
  const store = Object.assign(new MemoryBlobStore(), { create: async () => undefined });
  // Metrics off: without the router nothing flushes them, and EMF output is not what we measure.
  const env = { BLOBSERVER_MAX_UPLOAD_SIZE: String(batch.body.length), POWERTOOLS_METRICS_DISABLED: 'true' };
  // Static keys: the answer's uploadForm is a presigned POST, signed (locally) with them.
  const base = createDeps({ ...readConfig(env), credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } }, { keyring: async () => keyring });
  const deps = { ...base, storage: new BlobStorage(index, store, { log: base.log }) };
  const handler = routeHandler(ROUTES.find((r) => r.handler === 'signedUpload')!, WRITE_HANDLERS, deps);
  const { token } = mintUploadToken(keyring, 'bench', deps.nowSeconds(), 3600, credentialsBinding(await deps.credentials()));
  const url = `/camli/upload/${token}`;
  const event = toEvent(
    { method: 'POST', url, headers: { host: '127.0.0.1', 'content-type': batch.contentType }, body: batch.body, sourceIp: '127.0.0.1' },
    matchRoute('POST', url),
  );
  const first = await handler(event);
  const received = (JSON.parse(String(first.body)) as { received?: unknown[] }).received?.length;
  if (first.statusCode !== 200 || received !== batch.blobs.length) throw new Error(`bench upload not accepted: ${first.statusCode} ${first.body}`);
  return () => handler(event);
}
