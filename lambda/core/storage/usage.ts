import type { Namespace } from '../namespace.js';

/**
 * Per-namespace usage and quotas (issue 27): how many bytes and blobs a namespace's rows hold,
 * and the limits an admin set (none by default). One record per namespace, kept in DynamoDB
 * (dynamodb-usage.ts) beside the rows; the rules that keep it true are in blob-writes.ts
 * (reserve before storing, refund what was not created), blob-removes.ts (a deleted row frees
 * its blob) and fsck/usage-audit.ts (recount from the rows). docs/storage-model.md ("Usage and
 * quotas") states the invariant: the counter is never below the true content once uploads have
 * settled, and never passes a limit through an upload.
 */

export interface Limits {
  /** Most bytes the namespace's blobs may hold; undefined: no limit. */
  maxBytes?: number | undefined;
  /** Most blobs; undefined: no limit. */
  maxBlobs?: number | undefined;
}

export interface Usage extends Limits {
  bytes: number;
  blobs: number;
  /** Bumped by every change of the counters: fsck repairs only a counter that did not move (usage-audit.ts). */
  seq: number;
  /** Epoch ms of the last change of the counters (0: never). */
  updatedAt: number;
}

export interface UsageDelta {
  bytes: number;
  blobs: number;
}

/** An upload the namespace has no room for: what it holds and may hold, and what the upload asked. */
export interface QuotaRefusal {
  usage: Usage;
  wanted: UsageDelta;
}

/** One namespace's usage record. */
export interface UsageLedger {
  readonly namespace: Namespace;
  /**
   * Adds `delta` to the counters in one atomic step, only if the result stays within the limits;
   * otherwise changes nothing and answers why. Throws on a storage fault (nothing reserved, or
   * unknown: the counter may be high, never low).
   */
  reserve(delta: UsageDelta): Promise<QuotaRefusal | undefined>;
  /** Adds `delta` (negative: frees) with no limit check. */
  adjust(delta: UsageDelta): Promise<void>;
  /** The record, strongly consistent (zeros and no limits for a namespace never counted). */
  read(): Promise<Usage>;
  /** Sets or clears (null) each limit given; undefined leaves it as it is. A limit below the usage is allowed: uploads are refused until it drops. */
  setLimits(limits: { maxBytes?: number | null | undefined; maxBlobs?: number | null | undefined }): Promise<Usage>;
  /** Sets the counters to `counted` only if they have not changed since `seen` was read (its seq); false otherwise. */
  replaceIfUnchanged(seen: Usage, counted: UsageDelta): Promise<boolean>;
}

/** Every namespace's record, for the admin API and fsck. */
export interface UsageTable {
  ledger(ns: Namespace): UsageLedger;
  /** Every namespace that has a record, root first then by name. */
  list(): Promise<{ namespace: Namespace; usage: Usage }[]>;
}

export const EMPTY_USAGE: Usage = Object.freeze({ bytes: 0, blobs: 0, seq: 0, updatedAt: 0 });

/** Whether adding `delta` to `usage` passes a limit (a delta that adds nothing never does). */
export function exceedsLimits(usage: Usage, delta: UsageDelta): boolean {
  if (delta.bytes <= 0 && delta.blobs <= 0) return false;
  return (
    (usage.maxBytes !== undefined && delta.bytes > 0 && usage.bytes + delta.bytes > usage.maxBytes) ||
    (usage.maxBlobs !== undefined && delta.blobs > 0 && usage.blobs + delta.blobs > usage.maxBlobs)
  );
}

/** The refusal's words, for the 507's errorText. */
export function describeRefusal(label: string, { usage, wanted }: QuotaRefusal): string {
  const parts: string[] = [];
  if (usage.maxBytes !== undefined) parts.push(`${usage.bytes} of ${usage.maxBytes} bytes`);
  if (usage.maxBlobs !== undefined) parts.push(`${usage.blobs} of ${usage.maxBlobs} blobs`);
  return `${label} is over its quota: it holds ${parts.join(' and ')}; this upload needs ${wanted.bytes} more bytes in ${wanted.blobs} new blobs. Nothing was stored.`;
}

/** In memory, with the same contract (unit tests, and BlobStorage without a table). */
export class MemoryUsageLedger implements UsageLedger {
  usage: Usage = { ...EMPTY_USAGE };

  constructor(readonly namespace: Namespace = { name: '' }) {}

  async reserve(delta: UsageDelta): Promise<QuotaRefusal | undefined> {
    if (exceedsLimits(this.usage, delta)) return { usage: { ...this.usage }, wanted: delta };
    this.bump(delta);
    return undefined;
  }

  async adjust(delta: UsageDelta): Promise<void> {
    this.bump(delta);
  }

  async read(): Promise<Usage> {
    return { ...this.usage };
  }

  async setLimits(limits: { maxBytes?: number | null | undefined; maxBlobs?: number | null | undefined }): Promise<Usage> {
    const next: Usage = { ...this.usage };
    for (const k of ['maxBytes', 'maxBlobs'] as const) {
      if (limits[k] === null) delete next[k];
      else if (limits[k] !== undefined) next[k] = limits[k];
    }
    this.usage = next;
    return { ...next };
  }

  async replaceIfUnchanged(seen: Usage, counted: UsageDelta): Promise<boolean> {
    if (seen.seq !== this.usage.seq) return false;
    this.usage = { ...this.usage, ...counted, seq: this.usage.seq + 1, updatedAt: Date.now() };
    return true;
  }

  private bump(delta: UsageDelta): void {
    this.usage = {
      ...this.usage,
      bytes: this.usage.bytes + delta.bytes,
      blobs: this.usage.blobs + delta.blobs,
      seq: this.usage.seq + 1,
      updatedAt: Date.now(),
    };
  }
}
