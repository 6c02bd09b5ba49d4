import { REFUSE } from '../http/errors.js';
import { namespaceLabel } from '../namespace.js';
import type { UsageLedger } from '../storage/usage.js';

/**
 * Preupload's word on quotas (issue 27): a 507 when the namespace cannot take the blobs it does
 * not have yet: it is at its byte limit, or that many more blobs pass its blob limit. Perkeep's
 * preupload names refs, not sizes, so the bytes are checked when they arrive (blob-writes.ts
 * reserves them atomically); this is advice that saves a client its upload, never the guard.
 */
export async function refuseWhenFull(usage: UsageLedger, newBlobs: number): Promise<void> {
  if (newBlobs === 0) return;
  const u = await usage.read();
  const fullBytes = u.maxBytes !== undefined && u.bytes >= u.maxBytes;
  const fullBlobs = u.maxBlobs !== undefined && u.blobs + newBlobs > u.maxBlobs;
  if (!fullBytes && !fullBlobs) return;
  const label = namespaceLabel(usage.namespace);
  throw REFUSE.quotaExceeded(
    fullBytes
      ? `${label} is over its quota: it holds ${u.bytes} of ${u.maxBytes} bytes; upload nothing more until some are removed or its quota is raised`
      : `${label} is over its quota: it holds ${u.blobs} of ${u.maxBlobs} blobs, and ${newBlobs} more do not fit`,
  );
}
