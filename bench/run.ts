import { cpus } from 'node:os';
import type { HashName } from '../lambda/core/blobref.js';
import { LARGE_PART, SMALL_PART, SMALL_PARTS, rawHashThroughput, rawHasher, type RawHashFigures } from './hash.js';
import { MiB, mbPerSecond, pairedRuns } from './measure.js';
import { endToEndUpload, preuploadLatency } from './server.js';
import { fmt, pct, table } from './table.js';
import { buildBatch, handlerRun, parseRun } from './upload-path.js';

/**
 * `npm run bench`: prints the figures the seed-protocol issue asks for, all from one run so
 * the ratios compare like with like. Medians over several runs; MB = 10^6 bytes.
 */

const REPS = { hash: 25, parse: 41, e2e: 7, preupload: 11 };
const HASHES: HashName[] = ['sha1', 'sha224'];
const PARSE_TARGET = 0.5;
const WARMUP_MS = 2500;
const PREUPLOAD_DDB_TARGET = 10;

// The SDK's notice that future releases need Node 22 is not a benchmark figure.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const started = Date.now();
const cpu = cpus();
console.log(`blobserver benchmark: node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}`);
console.log(`medians of ${REPS.hash}/${REPS.parse}/${REPS.e2e}/${REPS.preupload} runs (hash/parse/end-to-end/preupload); MB = 10^6 bytes\n`);

// 1. Raw hashing.
const raw = new Map<HashName, RawHashFigures>();
for (const h of HASHES) raw.set(h, await rawHashThroughput(h, REPS.hash));
console.log('1. raw node:crypto hashing (MB/s)');
console.log(
  table(
    ['hash', `${SMALL_PARTS} x 64 KiB buffers`, '1 x 4 MiB buffer'],
    HASHES.map((h) => [h, fmt(raw.get(h)!.small), fmt(raw.get(h)!.large)]),
  ),
);

// 2. Upload path, storage stubbed, each case timed alternately with raw hashing of the same blobs.
const cases = [];
for (const h of HASHES) {
  const small = buildBatch(h, SMALL_PARTS, SMALL_PART);
  const large = buildBatch(h, 1, LARGE_PART);
  cases.push(
    { what: `${h} readBlobParts ${SMALL_PARTS} x 64 KiB`, hash: h, batch: small, run: await parseRun(small), target: true },
    { what: `${h} readBlobParts 1 x 4 MiB`, hash: h, batch: large, run: await parseRun(large), target: false },
    { what: `${h} uploadHandler ${SMALL_PARTS} x 64 KiB`, hash: h, batch: small, run: await handlerRun(small), target: false },
    { what: `${h} uploadHandler 1 x 4 MiB`, hash: h, batch: large, run: await handlerRun(large), target: false },
  );
}
// V8 needs a couple of seconds of this work before busboy's code runs at full speed.
for (const deadline = Date.now() + WARMUP_MS; Date.now() < deadline; ) for (const c of cases) await c.run();
const rows: string[][] = [];
let worstSmallRatio = Infinity;
for (const c of cases) {
  const paired = await pairedRuns(REPS.parse, rawHasher(c.hash, c.batch.blobs), c.run);
  if (c.target) worstSmallRatio = Math.min(worstSmallRatio, paired.ratio);
  rows.push([c.what, fmt(mbPerSecond(c.batch.payload, paired.b)), fmt(mbPerSecond(c.batch.payload, paired.a)), pct(paired.ratio)]);
}
console.log('\n2. upload path, storage stubbed (readBlobParts = parse + verify; uploadHandler adds token, base64 event body, fresh URL)');
console.log(table(['case', 'MB/s', 'raw hash MB/s', 'of raw'], rows));
console.log(
  `   target: readBlobParts on 64 KiB parts >= ${pct(PARSE_TARGET)} of raw hash: ${worstSmallRatio >= PARSE_TARGET ? 'met' : 'NOT met'} (worst ${fmt(worstSmallRatio * 100, 1)}%)`,
);

// 3. End to end through the local server.
const e2e = await endToEndUpload(REPS.e2e, [
  { label: `${SMALL_PARTS} x 64 KiB batch (4 MiB)`, parts: SMALL_PARTS, partSize: SMALL_PART },
  { label: '1 x 4 MiB blob', parts: 1, partSize: 4 * MiB },
]);
console.log('\n3. end-to-end upload, HTTP -> local server -> embedded dynalite + s3rver (fresh sha224 blobs)');
console.log(table(['upload', 'MB/s', 'median ms'], e2e.cases.map((c) => [c.label, fmt(c.mbps, 1), fmt(c.medianMs)])));

// 4. Preupload latency and DynamoDB requests.
const pre = await preuploadLatency(REPS.preupload, [1, 100, 1000]);
console.log('\n4. preupload, HTTP -> local server -> counting proxy -> dynalite (half the refs stored)');
console.log(
  table(
    ['refs', 'present', 'median ms', 'DynamoDB requests', 'operations'],
    pre.map((p) => [String(p.refs), String(p.present), fmt(p.medianMs, 1), String(p.ddbRequests), p.operations]),
  ),
);
const thousand = pre.find((p) => p.refs === 1000)!;
console.log(`   target: 1000 refs -> <= ${PREUPLOAD_DDB_TARGET} DynamoDB requests: ${thousand.ddbRequests <= PREUPLOAD_DDB_TARGET ? 'met' : 'NOT met'} (${thousand.ddbRequests})`);

// 5. blobserver put vs pk-put file (PK_PUT) on a generated tree: bench/client-put.ts.
await (await import('./client-put.js')).clientPutBench();

console.log(`\ntotal ${fmt((Date.now() - started) / 1000, 1)} s`);
