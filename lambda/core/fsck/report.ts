/** What an audit run is given and what it reports (fsck.ts runs it, audit.ts judges, collector.ts adds partial reports up). */

export type FindingKind =
  | 'missing-object'
  | 'short-object'
  | 'size-mismatch'
  | 'digest-mismatch'
  | 'unreferenced-object'
  | 'dead-pack-bytes'
  | 'stale-staged-upload'
  | 'stale-fsck-scratch';

export interface Finding {
  kind: FindingKind;
  key: string;
  ref?: string;
  /** Bytes concerned: the unreferenced object's size, a pack's dead bytes. */
  bytes?: number;
  /** Damage repaired by restoring the object from this noncurrent version (its rows kept). */
  restoredFrom?: string;
}

export interface FsckOptions {
  verify?: boolean;
  repair?: boolean;
  /** Objects younger than this are never reclaimed (uploads in flight). */
  graceMs?: number;
  /**
   * Staged form uploads younger than this are never reclaimed: they may still be completed
   * (the upload URL's lifetime plus the completion grace). Default: graceMs.
   */
  stagingGraceMs?: number;
  /** A pack whose live bytes are below this fraction of its size is repacked. */
  repackBelow?: number;
  now?: () => Date;
  progress?: ((line: string) => void) | undefined;
  /** Rows per index page (the unit of a row partition's memory); tests lower it. */
  pageSize?: number;
}

export interface FsckReport {
  rows: number;
  objects: number;
  objectBytes: number;
  findings: Finding[];
  /** Damage found (rows that do not serve their blob). */
  damaged: number;
  repaired: { rowsDeleted: number; objectsDeleted: number; bytesReclaimed: number; packsRepacked: number; objectsRestored: number };
}

/** One run of the audit, shared by all its partitions (possibly in separate processes). */
export interface FsckRun {
  /** Names the run's scratch objects. */
  id: string;
  /** Epoch ms when the run began, before any of its listings. */
  startedAt: number;
}

/** The pieces of a run, in the order they must run: all row partitions, then all pack days, then staging. */
export type FsckPartition = { kind: 'rows'; prefix: string } | { kind: 'packs'; day: string } | { kind: 'staging' };

export function emptyReport(): FsckReport {
  return {
    rows: 0,
    objects: 0,
    objectBytes: 0,
    findings: [],
    damaged: 0,
    repaired: { rowsDeleted: 0, objectsDeleted: 0, bytesReclaimed: 0, packsRepacked: 0, objectsRestored: 0 },
  };
}

/** Adds `part` into `total` (findings appended). */
export function mergeReport(total: FsckReport, part: FsckReport): FsckReport {
  total.rows += part.rows;
  total.objects += part.objects;
  total.objectBytes += part.objectBytes;
  total.findings.push(...part.findings);
  total.damaged += part.damaged;
  for (const k of Object.keys(total.repaired) as (keyof FsckReport['repaired'])[]) total.repaired[k] += part.repaired[k];
  return total;
}
