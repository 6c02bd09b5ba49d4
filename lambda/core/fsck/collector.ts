import { auditPartition, finishRun, newFsckRun, packDays, rowPartitions, type FsckOptions, type FsckReport, type FsckRun } from './fsck.js';
import type { BlobIndex, BlobStore } from '../storage/storage-api.js';
import { MetricUnit, type Metrics } from '../telemetry.js';

/**
 * The scheduled collection (infra/collection.ts): one fsck --repair run, cut into pieces that
 * each fit one Lambda invocation, driven by a Step Functions state machine:
 *
 *   plan -> Map(rows, over `partitions`) -> days -> Map(packs, over `days`) -> finish
 *
 * Every piece is the partition of lambda/core/fsck/fsck.ts of the same name, with the grace period
 * and conditional repacking of `npm run fsck -- --repair`. Each piece emits what it found as
 * metrics (DamagedRows drives the stack's alarm) and answers a small summary (the state machine
 * discards it: the execution history stays small whatever the store's size).
 */

export type CollectorEvent =
  | { action: 'plan' }
  | { action: 'rows'; run: FsckRun; prefix: string }
  | { action: 'days'; run: FsckRun }
  | { action: 'packs'; run: FsckRun; day: string }
  | { action: 'finish'; run: FsckRun };

export interface CollectorSummary {
  rows: number;
  objects: number;
  damaged: number;
  garbage: number;
  rowsDeleted: number;
  objectsDeleted: number;
  bytesReclaimed: number;
  packsRepacked: number;
  /** Damaged rows' objects restored from a noncurrent version (the recovery window). */
  objectsRestored: number;
}

export type CollectorResult = { run: FsckRun; partitions: string[] } | { run: FsckRun; days: string[] } | CollectorSummary;

export interface CollectorDeps {
  index: BlobIndex;
  store: BlobStore;
  /** fsck options: repair, graceMs, stagingGraceMs (the deployment's URL lifetime plus completion grace). */
  options: FsckOptions;
  /** S3's delimited listing, so planning the pack days is one request per 1000 days. */
  folders?: (prefix: string) => AsyncIterable<string>;
  metrics?: Metrics | undefined;
  now?: () => Date;
  /** Row partitions: 0 (the 32 shards) or 1 (512; the default, COLLECTOR_PARTITION_DEPTH). */
  depth?: 0 | 1;
}

/** Row partitions in the cloud: 512 (shard x next hex digit), so a piece of a 100M-blob store is about 200k rows. */
export const COLLECTOR_PARTITION_DEPTH: 0 | 1 = 1;

export async function collect(deps: CollectorDeps, event: CollectorEvent): Promise<CollectorResult> {
  switch (event.action) {
    case 'plan':
      return { run: newFsckRun((deps.now ?? (() => new Date()))()), partitions: rowPartitions(deps.depth ?? COLLECTOR_PARTITION_DEPTH) };
    case 'rows':
      return summarise(
        deps,
        await auditPartition(deps.index, deps.store, checkedRun(event.run), { kind: 'rows', prefix: checkedPrefix(event.prefix) }, deps.options),
      );
    case 'days': {
      const run = checkedRun(event.run);
      return { run, days: await packDays(deps.store, deps.folders, run) };
    }
    case 'packs':
      return summarise(deps, await auditPartition(deps.index, deps.store, checkedRun(event.run), { kind: 'packs', day: checkedDay(event.day) }, deps.options));
    case 'finish': {
      const run = checkedRun(event.run);
      const report = await auditPartition(deps.index, deps.store, run, { kind: 'staging' }, deps.options);
      await finishRun(deps.store, run);
      return summarise(deps, report);
    }
    default:
      throw new Error(`unknown collector action ${JSON.stringify((event as { action?: unknown }).action)}`);
  }
}

function summarise(deps: CollectorDeps, report: FsckReport): CollectorSummary {
  const summary: CollectorSummary = {
    rows: report.rows,
    objects: report.objects,
    damaged: report.damaged,
    garbage: report.findings.length - report.damaged,
    ...report.repaired,
  };
  if (deps.metrics) {
    deps.metrics.addMetric('DamagedRows', MetricUnit.Count, summary.damaged);
    deps.metrics.addMetric('GarbageFound', MetricUnit.Count, summary.garbage);
    deps.metrics.addMetric('ObjectsReclaimed', MetricUnit.Count, summary.objectsDeleted);
    deps.metrics.addMetric('BytesReclaimed', MetricUnit.Bytes, summary.bytesReclaimed);
    deps.metrics.addMetric('ObjectsRestored', MetricUnit.Count, summary.objectsRestored);
    deps.metrics.publishStoredMetrics();
  }
  return summary;
}

/** The event comes from the state machine; a malformed one is a bug there, refused before any request. */
function checkedRun(run: FsckRun): FsckRun {
  if (!run || typeof run.id !== 'string' || !/^[0-9A-Za-z_-]{1,80}$/.test(run.id) || !Number.isSafeInteger(run.startedAt))
    throw new Error(`not a collector run: ${JSON.stringify(run)}`);
  return { id: run.id, startedAt: run.startedAt };
}

function checkedPrefix(prefix: string): string {
  if (!rowPartitions(1).includes(prefix) && !rowPartitions(0).includes(prefix)) throw new Error(`not a row partition: ${JSON.stringify(prefix)}`);
  return prefix;
}

function checkedDay(day: string): string {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(day)) throw new Error(`not a pack day: ${JSON.stringify(day)}`);
  return day;
}
