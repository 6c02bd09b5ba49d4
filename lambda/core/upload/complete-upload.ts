import type { Readable } from 'node:stream';
import { isPreconditionFailed } from '../aws/aws-errors.js';
import { hasherFor, parseBlobRef, type BlobRef } from '../blobref.js';
import type { Deps } from '../deps.js';
import type { SizedRef } from '../storage/storage-api.js';
import { MetricUnit } from '../telemetry.js';
import type { CompletionGrant } from './upload-form.js';
import { QuotaExceeded } from '../storage/blob-adoption.js';
import { describeRefusal } from '../storage/usage.js';
import { namespaceLabel } from '../namespace.js';

/**
 * The completion of a presigned-POST upload (DESIGN §6): S3 has stored the client's file under
 * `staging/<id>/<filename>` and redirected the client here with `bucket`, `key` and `etag`.
 * The staged object is streamed through the digest of the blobref its key names; only bytes
 * that verify become a blob. Every step is safe to repeat, so following the same redirect
 * again (a replay, or a retry after a storage fault) never stores anything twice.
 */

export interface CompletionOutcome {
  /** 200: stored (or already stored); 400: refused; 409: the staged object changed under us; 503: storage failed; 507: over quota (upload discarded). */
  status: 200 | 400 | 409 | 503 | 507;
  received: SizedRef[];
  errorText?: string;
}

type CompletionDeps = Pick<Deps, 'settings' | 'storage' | 'staging' | 'log' | 'metrics'>;

const refused = (errorText: string): CompletionOutcome => ({ status: 400, received: [], errorText });

export async function completeStagedUpload(
  deps: CompletionDeps,
  grant: CompletionGrant,
  params: { bucket: string | undefined; key: string | undefined },
): Promise<CompletionOutcome> {
  const outcome = await complete(deps, grant, params);
  deps.metrics?.addMetric('BlobsReceived', MetricUnit.Count, outcome.received.length);
  deps.metrics?.addMetric(
    'BytesReceived',
    MetricUnit.Bytes,
    outcome.received.reduce((n, r) => n + r.size, 0),
  );
  deps.metrics?.addMetric('BlobsRejected', MetricUnit.Count, outcome.status === 200 ? 0 : 1);
  return outcome;
}

async function complete(
  deps: CompletionDeps,
  grant: CompletionGrant,
  { bucket, key }: { bucket: string | undefined; key: string | undefined },
): Promise<CompletionOutcome> {
  if (!key) return refused('no key: follow the redirect S3 answered the form upload with, unchanged');
  // Keys outside the form's own prefix are never touched: they are not this upload's.
  if (bucket !== undefined && bucket !== deps.staging.bucketName) return refused(`bucket ${JSON.stringify(bucket)} is not this server's`);
  if (!key.startsWith(grant.prefix)) return refused(`key ${JSON.stringify(key)} was not written with this upload form`);
  // Exactly `staging/<id>/<blobref>` or nothing is touched: any other name (`..`, a slash, a
  // filename) could resolve elsewhere on a store that treats keys as paths (s3rver does). Such
  // an upload is left to the staging collector (fsck, the bucket's lifecycle rule).
  const name = key.slice(grant.prefix.length);
  const ref = parseBlobRef(name);
  if (!ref) {
    return refused(`the file part's filename must be the blobref, not ${JSON.stringify(name.slice(0, 100))} (the upload is left to expire)`);
  }
  try {
    return await verifyAndPromote(deps, ref, key);
  } catch (err) {
    if (isPreconditionFailed(err)) {
      return { status: 409, received: [], errorText: `${ref.ref}: the staged upload was replaced while it was verified; follow the same redirect again` };
    }
    deps.log.error('upload completion failed', { blobRef: ref.ref, error: err as Error });
    return { status: 503, received: [], errorText: `${ref.ref}: not stored (storage error); follow the same redirect again to retry` };
  }
}

async function verifyAndPromote(deps: CompletionDeps, ref: BlobRef, key: string): Promise<CompletionOutcome> {
  // Verified even when a row exists: a row whose object was lost is repaired by the right bytes.
  const staged = await deps.staging.open(key);
  if (!staged) {
    // A concurrent completion of the same upload may have promoted it since we looked.
    const now = await storedSize(deps, ref.ref);
    if (now !== undefined) return received(ref.ref, now);
    return refused(`${ref.ref}: nothing is staged at ${key} (refused before, expired, or never uploaded)`);
  }
  const max = deps.settings.maxBlobSize;
  if (staged.size > max) {
    staged.body.destroy();
    await discard(deps, key);
    return refused(`${ref.ref}: ${staged.size} bytes is larger than the ${max}-byte blob limit (upload discarded)`);
  }
  const digest = await digestOf(staged.body, ref, max);
  if (digest === undefined) {
    await discard(deps, key);
    return refused(`${ref.ref}: larger than the ${max}-byte blob limit (upload discarded)`);
  }
  if (digest.hex !== ref.digest) {
    await discard(deps, key);
    return refused(`${ref.ref}: the uploaded bytes do not match the blobref (upload discarded)`);
  }
  if (digest.size !== staged.size) throw new Error(`read ${digest.size} of ${staged.size} staged bytes`);
  try {
    // A copy at the blob's own unique key, the row (written once: concurrent completions
    // promote one copy), then the staged object deleted (blob-storage.ts); the ETag pins the
    // version that was hashed.
    const adopted = await deps.storage.adoptObject(ref.ref, digest.size, key, staged.etag);
    return received(adopted.blobRef, adopted.size);
  } catch (err) {
    if (err instanceof QuotaExceeded) {
      // Never a blob: the staged bytes go at once (else the staging lifecycle rule or fsck's sweep takes them).
      await discard(deps, key);
      return { status: 507, received: [], errorText: `${ref.ref}: ${describeRefusal(namespaceLabel(deps.storage.usage.namespace), err.refusal)}` };
    }
    // Stored all the same? A concurrent completion of the same upload may have adopted it and
    // deleted the staged object under our copy, or only the final cleanup failed.
    const now = await storedSize(deps, ref.ref).catch(() => undefined);
    if (now === undefined) throw err;
    return received(ref.ref, now);
  }
}

/** The digest and length of a stream, or undefined as soon as it runs past `max` bytes. */
async function digestOf(body: Readable, ref: BlobRef, max: number): Promise<{ hex: string; size: number } | undefined> {
  const hash = hasherFor(ref);
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return undefined; // leaving the loop destroys the stream
    hash.update(chunk);
  }
  return { hex: hash.digest('hex'), size };
}

async function storedSize(deps: Pick<Deps, 'storage'>, ref: string): Promise<number | undefined> {
  return (await deps.storage.stat([ref])).get(ref);
}

/** Deletes a staged object; failing that, the staging lifecycle rule expires it. */
async function discard(deps: Pick<Deps, 'staging' | 'log'>, key: string): Promise<void> {
  try {
    await deps.staging.delete(key);
  } catch (err) {
    deps.log.warn('deleting a staged upload failed; the staging lifecycle rule will expire it', { key, error: err as Error });
  }
}

function received(blobRef: string, size: number): CompletionOutcome {
  return { status: 200, received: [{ blobRef, size }] };
}
