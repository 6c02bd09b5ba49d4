import { auditPartition, finishRun, newFsckRun, packDays, rowPartitions, type FsckOptions, type FsckReport, type FsckRun } from './fsck.js';
import type { BlobIndex, BlobStore } from '../storage/storage-api.js';
import { namedNamespace, namespaceNameProblem, ROOT_NAMESPACE, type Namespace } from '../namespace.js';
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
 *
 * Namespaces (DESIGN §12): with `namespaces`, a run covers the root and every namespace the
 * bucket holds. Partitions and days then name their namespace, `<name>/<prefix>` and
 * `<name>/<day>` (the root's stay bare), so the state machine is the same whatever the number of
 * namespaces, and each piece audits one namespace's rows and objects only. Its state carries 512
 * partitions of about 20 characters per namespace: Step Functions' 256 KB state limit bounds a
 * run to about 20 namespaces.
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
  /** The named namespaces too: which there are, and each one's storage (the fields above are the root's). */
  namespaces?: {
    list(): Promise<Namespace[]>;
    storage(ns: Namespace): Pick<CollectorDeps, 'index' | 'store' | 'folders'>;
  };
}

/** `<name>/<rest>` -> the namespace and rest; a bare rest is the root's. */
function split(qualified: string): [Namespace, string] {
  const slash = qualified.indexOf('/');
  if (slash < 0) return [ROOT_NAMESPACE, qualified];
  const name = qualified.slice(0, slash);
  if (namespaceNameProblem(name) !== undefined) throw new Error(`not a namespace: ${JSON.stringify(name)}`);
  return [namedNamespace(name), qualified.slice(slash + 1)];
}

const qualify = (ns: Namespace, rest: string) => (ns.name ? `${ns.name}/${rest}` : rest);

/** The storage of one namespace's piece. */
function partsOf(deps: CollectorDeps, ns: Namespace): Pick<CollectorDeps, 'index' | 'store' | 'folders'> {
  if (!ns.name) return deps;
  if (!deps.namespaces) throw new Error(`this collector serves the root namespace only, not ${ns.name}`);
  return deps.namespaces.storage(ns);
}

async function namespacesOf(deps: CollectorDeps): Promise<Namespace[]> {
  return deps.namespaces ? deps.namespaces.list() : [ROOT_NAMESPACE];
}

/** Row partitions in the cloud: 512 (shard x next hex digit), so a piece of a 100M-blob store is about 200k rows. */
export const COLLECTOR_PARTITION_DEPTH: 0 | 1 = 1;

export async function collect(deps: CollectorDeps, event: CollectorEvent): Promise<CollectorResult> {
  switch (event.action) {
    case 'plan': {
      const prefixes = rowPartitions(deps.depth ?? COLLECTOR_PARTITION_DEPTH);
      const namespaces = await namespacesOf(deps);
      return { run: newFsckRun((deps.now ?? (() => new Date()))()), partitions: namespaces.flatMap((ns) => prefixes.map((p) => qualify(ns, p))) };
    }
    case 'rows': {
      const [ns, prefix] = split(event.prefix);
      const { index, store } = partsOf(deps, ns);
      return summarise(deps, await auditPartition(index, store, checkedRun(event.run), { kind: 'rows', prefix: checkedPrefix(prefix) }, deps.options));
    }
    case 'days': {
      const run = checkedRun(event.run);
      const days: string[] = [];
      for (const ns of await namespacesOf(deps)) {
        const { store, folders } = partsOf(deps, ns);
        for (const day of await packDays(store, folders, run)) days.push(qualify(ns, day));
      }
      return { run, days };
    }
    case 'packs': {
      const [ns, day] = split(event.day);
      const { index, store } = partsOf(deps, ns);
      return summarise(deps, await auditPartition(index, store, checkedRun(event.run), { kind: 'packs', day: checkedDay(day) }, deps.options));
    }
    case 'finish': {
      const run = checkedRun(event.run);
      // The staging area is shared by every namespace: swept once.
      const report = await auditPartition(deps.index, deps.store, run, { kind: 'staging' }, deps.options);
      for (const ns of await namespacesOf(deps)) await finishRun(partsOf(deps, ns).store, run);
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
