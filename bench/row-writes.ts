import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedAws, onEmbeddedAws } from '../local/emulators.js';
import { dynamoClientFor } from '../lambda/core/aws/aws-clients.js';
import { mapConcurrently } from '../lambda/core/concurrency.js';
import { readConfig } from '../lambda/core/config.js';
import { ROW_CONCURRENCY } from '../lambda/core/storage/blob-writes.js';
import type { CreationLock } from '../lambda/core/storage/creation-lock.js';
import { DynamoCreationLock } from '../lambda/core/storage/dynamodb-creation-lock.js';
import { ROOT_NAMESPACE } from '../lambda/core/namespace.js';
import { DynamoBlobIndex } from '../lambda/core/storage/dynamodb-index.js';
import { ensureTable } from '../lambda/core/storage/provision.js';
import type { BlobRow } from '../lambda/core/storage/storage-api.js';
import { median } from './measure.js';
import { fmt, table } from './table.js';

/**
 * What exact usage counting (issue 27, storage-model rule 6) costs an upload's rows on the
 * embedded default: the same new rows written to dynalite (on its worker thread, as `npm start`
 * runs it) through the shipped DynamoDB client, three ways. One conditional PutItem per row,
 * `ROW_CONCURRENCY` at once (how uploads created rows from issue 27 until the creation lock);
 * under the namespace's row-creation lock (creation-lock.ts: take it, read the rows again,
 * BatchWriteItem those absent, let go; what uploads do now, in chunks of `PER_UPLOAD` rows, one
 * upload request's worth); and BatchWriteItem alone (no exactness: the floor). dynalite has
 * neither TransactWriteItems nor PartiQL, so no batched write there can be conditional.
 * Interleaved, order rotated each repetition, medians; CPU is this process's, all threads (SDK + dynalite).
 *
 *   npx tsx bench/row-writes.ts [ROWS=4963 (the 125 MB tree's blobs)] [REPS=3]
 */

const ROWS = Number(process.argv[2] ?? 4963);
const REPS = Number(process.argv[3] ?? 3);
/** Rows of one upload request of the 125 MB tree (4,963 blobs in 38 requests). */
const PER_UPLOAD = 130;
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** `ROWS` rows of fresh refs, as one pack's rows look (same key, rising offsets). */
function rowsFor(run: string): BlobRow[] {
  const storedAt = new Date().toISOString();
  const key = `packs/${run}`;
  return Array.from({ length: ROWS }, (_, i) => ({
    blobRef: `sha224-${run}${String(i).padStart(56 - run.length, '0')}`,
    size: 32768,
    key,
    offset: i * 32768,
    storedAt,
  }));
}

type Write = (index: DynamoBlobIndex, rows: BlobRow[], lock: CreationLock) => Promise<void>;
const variants: Record<string, Write> = {
  'conditional PutItem per row (issue 27 until the lock)': async (index, rows) => {
    const created = await mapConcurrently(rows, ROW_CONCURRENCY, (r) => index.replaceIf(r, null));
    if (created.some((c) => !c)) throw new Error('a fresh row was not created');
  },
  'under the creation lock (uploads now)': async (index, rows, lock) => {
    const chunks: BlobRow[][] = [];
    for (let i = 0; i < rows.length; i += PER_UPLOAD) chunks.push(rows.slice(i, i + PER_UPLOAD));
    // Requests of one client arrive together: their row phases queue on the lock.
    await Promise.all(
      chunks.map((chunk) =>
        lock.whileCreating(async (sendBy) => {
          const present = await index.get(chunk.map((r) => r.blobRef));
          const failed = await index.put(
            chunk.filter((r) => !present.has(r.blobRef)),
            sendBy,
          );
          if (present.size || failed.length) throw new Error('fresh rows not written');
        }),
      ),
    );
  },
  'BatchWriteItem alone, 25 a request (no exactness)': async (index, rows) => {
    const failed = await index.put(rows);
    if (failed.length) throw new Error(`${failed.length} rows not written`);
  },
};
type Variant = keyof typeof variants;

const dir = await mkdtemp(join(tmpdir(), 'row-writes-'));
const aws = await startEmbeddedAws(dir);
try {
  const config = onEmbeddedAws(readConfig({ BLOBSERVER_TABLE: 'rows' }), aws);
  const ddb = dynamoClientFor(config);
  await ensureTable(ddb, 'rows');
  const index = new DynamoBlobIndex(ddb, 'rows');
  const lock = new DynamoCreationLock(ddb, 'rows', ROOT_NAMESPACE);
  for (const write of Object.values(variants)) await write(index, rowsFor(`f${Object.values(variants).indexOf(write)}`).slice(0, 200), lock); // warm-up
  const names = Object.keys(variants) as Variant[];
  const wall = new Map<Variant, number[]>(names.map((n) => [n, []]));
  const cpu = new Map<Variant, number[]>(names.map((n) => [n, []]));
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? [...names].reverse() : names;
    for (const [i, name] of order.entries()) {
      const rows = rowsFor(`${rep}${i}`);
      const [t0, c0] = [performance.now(), cpuMs()];
      await variants[name]!(index, rows, lock);
      wall.get(name)!.push(performance.now() - t0);
      cpu.get(name)!.push(cpuMs() - c0);
    }
  }
  ddb.destroy();
  const base = median(wall.get(names[2]!)!);
  console.log(`${ROWS} new rows into dynalite (embedded, worker thread), interleaved, median of ${REPS}`);
  console.log(
    table(
      ['how', 'wall s', 'CPU s (all threads)', 'CPU us per row', 'wall / BatchWriteItem alone'],
      names.map((n) => [
        n,
        fmt(median(wall.get(n)!) / 1000, 2),
        fmt(median(cpu.get(n)!) / 1000, 2),
        fmt((median(cpu.get(n)!) * 1000) / ROWS),
        fmt(median(wall.get(n)!) / base, 2),
      ]),
    ),
  );
} finally {
  await aws.close();
  await rm(dir, { recursive: true, force: true });
}
