import type { BlobIndex } from '../storage/storage-api.js';
import type { Usage, UsageDelta, UsageLedger } from '../storage/usage.js';

/**
 * fsck's recount of a namespace's usage (issue 27): the bytes and blobs of its rows, against its
 * usage record. The record drifts only one way in normal operation (high: a crash or fault
 * between a reservation and its rows, or between a remove's row delete and its release), so the
 * recount is what --repair writes, but only when that cannot lose a concurrent change:
 *
 * - the record is read before the rows are listed, and replaced only if it did not change since
 *   (its seq, a conditional write): an upload or remove during the recount makes fsck leave it;
 * - an upload reserves before its rows are written, at most ROW_WRITE_WINDOW_MS (60 s) plus one
 *   bounded call (15 s) before (blob-writes.ts; a unit test checks the margin); a reservation made shortly before the listing began may have
 *   rows the listing missed. So the record must have been still for USAGE_QUIET_MS before the
 *   recount began; a namespace that never is is reported busy and left for a later run.
 */
export const USAGE_QUIET_MS = 3 * 60_000;

export interface UsageAudit {
  recorded: Usage;
  counted: UsageDelta;
  drift: boolean;
  /** With repair: the record now holds the count. */
  repaired: boolean;
  /** With repair and drift: left as it is because it changed recently or during the recount. */
  busy: boolean;
}

const PAGE = 1000;

export async function auditUsage(
  index: Pick<BlobIndex, 'list'>,
  ledger: UsageLedger,
  options: { repair?: boolean; now?: () => number; pageSize?: number } = {},
): Promise<UsageAudit> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const recorded = await ledger.read();
  const counted = { bytes: 0, blobs: 0 };
  const page = options.pageSize ?? PAGE;
  for (let after = ''; ; ) {
    const rows = await index.list(after, page);
    for (const r of rows) {
      counted.bytes += r.size;
      counted.blobs++;
    }
    if (rows.length < page) break;
    after = rows[rows.length - 1]!.blobRef;
  }
  const drift = counted.bytes !== recorded.bytes || counted.blobs !== recorded.blobs;
  if (!drift || !options.repair) return { recorded, counted, drift, repaired: false, busy: false };
  if (startedAt - recorded.updatedAt < USAGE_QUIET_MS) return { recorded, counted, drift, repaired: false, busy: true };
  const repaired = await ledger.replaceIfUnchanged(recorded, counted);
  return { recorded, counted, drift, repaired, busy: !repaired };
}
