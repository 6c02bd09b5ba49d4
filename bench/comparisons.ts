import { cpus, loadavg } from 'node:os';
import { coldStartComparison } from './cold-start.js';
import { putComparisons } from './put-vs-perkeepd.js';
import { fmt } from './table.js';

/**
 * `npm run bench`: issue 29's four comparisons, each a ratio of one interleaved run on this
 * machine, in a few minutes:
 *
 * 1. the client alone (a put to a server that stores nothing) against reading and hashing the
 *    same files: `clientAlone` below;
 * 2. and 3. `blobserver put` to the local server against `pk-put file` to perkeepd on its
 *    filesystem, on the 125 MB and the 47 MB trees (bench/put-vs-perkeepd.ts; needs PK_PUT and
 *    PERKEEPD), then the server's own CPU per blob of a batched put;
 * 4. cold starts under the Lambda RIE against a minimal handler (bench/cold-start.ts).
 *
 * Every earlier section (hashing, the upload path, preupload, storage requests, restores, the
 * deployed stack, the page) is `npm run bench:all` (bench/run.ts).
 */

/** Comparison 1: the client alone against the read + hash floor (bench/client-alone.ts). */
async function clientAlone(): Promise<void> {
  console.log('\n1. the client alone (put to a server that stores nothing) against reading and hashing the files');
  await (await import('./client-alone.js')).clientAloneBench('1');
}

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const started = Date.now();
const cpu = cpus();
console.log(
  `issue 29 comparisons: node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), load average ${loadavg()
    .map((l) => fmt(l, 1))
    .join(' ')} at start; MB = 10^6 bytes`,
);
await clientAlone();
console.log(`\n2-3. blobserver put -> local server against pk-put file -> perkeepd, on the 125 MB and 47 MB trees`);
if (!process.env['PK_PUT'] || !process.env['PERKEEPD'])
  console.log('   needs Perkeep binaries: PK_PUT=/path/to/pk-put PERKEEPD=/path/to/perkeepd npm run bench (without them only our side runs)');
await putComparisons();
console.log('\n4.');
await coldStartComparison();
console.log(
  `\nload average ${loadavg()
    .map((l) => fmt(l, 1))
    .join(' ')} at the end; total ${fmt((Date.now() - started) / 1000, 1)} s`,
);
