import { cpus } from 'node:os';
import type { HashName } from '../lambda/core/blobref.js';
import { MAX_ALLOWED_BLOB_SIZE, MAX_BLOB_SIZE } from '../lambda/core/limits.js';
import { LARGE_PART, SMALL_PART, SMALL_PARTS, rawHashThroughput, rawHasher, type RawHashFigures } from './hash.js';
import { MiB, mbPerSecond, pairedRuns } from './measure.js';
import { FUNCTION_TIMEOUT_SECONDS, MAX_PARTS_PER_REQUEST } from '../lambda/core/limits.js';
import { largeBlobLane } from './large-blob.js';
import { perkeepTree } from './perkeep.js';
import { endToEndUpload, preuploadLatency, worstAcceptedUpload } from './server.js';
import { storageCost } from './storage-cost.js';
import { fmt, pct, table } from './table.js';
import { buildBatch, handlerRun, parseRun } from './upload-path.js';

/**
 * `npm run bench`: prints the figures the seed-protocol issue asks for, all from one run so
 * the ratios compare like with like. Medians over several runs; MB = 10^6 bytes.
 */

const REPS = { hash: 25, parse: 41, e2e: 7, preupload: 11, cost: 5, large: 11, worst: 3 };
/** API Gateway's integration timeout: a completion of the largest allowed blob must finish well inside it. */
const GATEWAY_TIMEOUT_S = 29;
/** Issue 7's targets for a batched upload, and what the first storage model cost per blob (1 PutObject; 1 PutItem + 1 BatchGetItem). */
const BATCH_TARGET = { s3: 0.1, ddb: 0.2 };
const FIRST_MODEL_PER_BLOB = { s3: 1, ddb: 2 };
const HASHES: HashName[] = ['sha1', 'sha224'];
const PARSE_TARGET = 0.5;
const WARMUP_MS = 2500;
const PREUPLOAD_DDB_TARGET = 10;

// The SDK's notice that future releases need Node 22 is not a benchmark figure.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const started = Date.now();
const cpu = cpus();
console.log(`blobserver benchmark: node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}`);
console.log(
  `medians of ${REPS.hash}/${REPS.parse}/${REPS.e2e}/${REPS.preupload}/${REPS.cost} runs (hash/parse/end-to-end/preupload/storage); MB = 10^6 bytes\n`,
);

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
console.log(
  table(
    ['upload', 'MB/s', 'median ms'],
    e2e.cases.map((c) => [c.label, fmt(c.mbps, 1), fmt(c.medianMs)]),
  ),
);

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
console.log(
  `   target: 1000 refs -> <= ${PREUPLOAD_DDB_TARGET} DynamoDB requests: ${thousand.ddbRequests <= PREUPLOAD_DDB_TARGET ? 'met' : 'NOT met'} (${thousand.ddbRequests})`,
);

// 5. Storage requests per blob and MB/s, for the storage model.
const cost = await storageCost(REPS.cost, SMALL_PARTS, SMALL_PART);
console.log('\n5. storage requests per blob, HTTP -> local server -> counting proxies -> dynalite + s3rver (fresh sha224 blobs)');
console.log(
  table(
    ['case', 'S3/blob', 'DynamoDB/blob', 'MB/s', 'requests (last run)'],
    cost.map((c) => [c.label, fmt(c.s3PerBlob, 3), fmt(c.ddbPerBlob, 3), fmt(c.mbps, 1), c.operations]),
  ),
);
const batched = cost[0]!;
const single = cost[1]!;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
console.log(
  `   target: batched upload <= ${BATCH_TARGET.s3} S3 and <= ${BATCH_TARGET.ddb} DynamoDB requests per blob: ${verdict(batched.s3PerBlob <= BATCH_TARGET.s3 && batched.ddbPerBlob <= BATCH_TARGET.ddb)}`,
);
console.log(
  `   target: one-blob requests no more than the first model (${FIRST_MODEL_PER_BLOB.s3} S3, ${FIRST_MODEL_PER_BLOB.ddb} DynamoDB per blob): ${verdict(single.s3PerBlob <= FIRST_MODEL_PER_BLOB.s3 && single.ddbPerBlob <= FIRST_MODEL_PER_BLOB.ddb)}`,
);

// 6. Perkeep's clients, when built.
if (process.env['PK_PUT'] && process.env['PK_GET']) {
  const pk = await perkeepTree(process.env['PK_PUT'], process.env['PK_GET']);
  console.log(`\n6. Perkeep clients against the local server (embedded emulators): ${pk.files} files, ${fmt(pk.bytes / 1e6, 1)} MB`);
  console.log(
    table(
      ['client', 'seconds', 'MB/s'],
      [
        ['pk-put file', fmt(pk.putSeconds, 1), fmt(pk.bytes / 1e6 / pk.putSeconds, 1)],
        ['pk-get -o', fmt(pk.getSeconds, 1), fmt(pk.bytes / 1e6 / pk.getSeconds, 1)],
      ],
    ),
  );
} else {
  console.log('\n6. Perkeep clients: skipped (set PK_PUT and PK_GET to pk-put and pk-get binaries)');
}

// 7. The large-blob lane: presigned POST to S3, completion verifies and promotes.
const large = await largeBlobLane(REPS.large, MAX_BLOB_SIZE);
console.log(`\n7. large-blob lane (uploadForm), ${large.size} bytes, local server -> embedded dynalite + s3rver (fresh sha224 blobs)`);
console.log(
  table(
    ['case', 'MB/s', 'median ms'],
    [
      ['completion (stream from S3 + sha224, copy, row, delete)', fmt(large.completionMbps), fmt(large.size / 1e3 / large.completionMbps)],
      ['raw sha224 of the same bytes', fmt(large.rawHashMbps), fmt(large.size / 1e3 / large.rawHashMbps)],
      ['end to end: preupload, POST to S3, follow the 303', fmt(large.size / 1e3 / large.endToEndMs), fmt(large.endToEndMs)],
    ],
  ),
);
const largestSeconds = MAX_ALLOWED_BLOB_SIZE / 1e6 / large.completionMbps;
console.log(`   completion at ${pct(large.completionVsRaw)} of raw hashing (median of per-run ratios)`);
console.log(
  `   at this rate a completion of MAX_ALLOWED_BLOB_SIZE (${MAX_ALLOWED_BLOB_SIZE / 2 ** 20} MiB) takes ${fmt(largestSeconds, 1)} s: ${fmt((largestSeconds / GATEWAY_TIMEOUT_S) * 100)}% of API Gateway's ${GATEWAY_TIMEOUT_S} s`,
);

// 8. blobserver put vs pk-put file (PK_PUT) on a generated tree: bench/client-put.ts.
await (await import('./client-put.js')).clientPutBench();

// 9. The slowest request the write side accepts, against the function timeout.
const worst = await worstAcceptedUpload(REPS.worst, MAX_PARTS_PER_REQUEST);
console.log(`\n9. worst accepted upload request: ${MAX_PARTS_PER_REQUEST} parts (the cap) of 16 bytes each, HTTP -> local server -> dynalite + s3rver`);
console.log(
  table(
    ['median ms', 'max ms', 'function timeout ms', 'max of timeout'],
    [[fmt(worst.medianMs), fmt(worst.maxMs), fmt(FUNCTION_TIMEOUT_SECONDS * 1000), pct(worst.maxMs / (FUNCTION_TIMEOUT_SECONDS * 1000))]],
  ),
);

// 10. Reads straight from S3, put and restore against perkeepd, server CPU per blob: bench/restore.ts.
await (await import('./restore.js')).restoreBench();
// 11-12. The functions as synthesized, in the Lambda RIE: cold start, invoke, cost per GB (bench/deployed.ts).
await (await import('./deployed.js')).deployedBench();
// 13. The page at /ui in Chromium: hashing in its worker, a 20 MB file through uploadForm.
await (await import('./ui.js')).uiBench();

console.log(`\ntotal ${fmt((Date.now() - started) / 1000, 1)} s`);
