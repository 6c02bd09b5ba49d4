import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lane, PASSWORD, startTestServer, USER } from '../test/support/test-server.js';
import { PRICES, ddbCounts, s3Counts } from './cost.js';
import { makeTree, runTool } from './perkeep.js';
import { fmt, table } from './table.js';

/**
 * What usage and quotas (issue 27) add to an upload's storage requests, from the requests
 * themselves: `blobserver put` of bench section 12's tree (300 x 32 KiB + 1 x 3 MB) into a local
 * server on dynalite + s3rver with counting proxies in front of both, `ROUNDS` times on fresh
 * servers. Request units are counted, not timed, so they are the same on any machine: run it on
 * two builds (before and after a change) to compare their DynamoDB cost per GB ingested
 * (`npx tsx bench/quota-cost.ts`). Lambda time is not measured here (bench section 12 does).
 */
const COST_TREE = { small: { count: 300, size: 32 * 1024 }, large: { count: 1, size: 3_000_000 } };
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));
const ROUNDS = 2;

const work = await mkdtemp(join(tmpdir(), 'quota-cost-'));
const rows: string[][] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const tree = join(work, `tree-${round}`);
    const bytes = await makeTree(tree, COST_TREE);
    const ts = await startTestServer(lane('dynalite+s3rver').factory, {}, { proxy: true });
    try {
      const ddb0 = ts.proxies!.dynamodb.requests.length;
      const s30 = ts.proxies!.s3.requests.length;
      await runTool(process.execPath, [BIN, 'put', tree], { BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}` });
      const ddbReqs = ts.proxies!.dynamodb.requests.slice(ddb0);
      const units = ddbCounts(ddbReqs);
      const ops = new Map<string, number>();
      for (const r of ddbReqs) ops.set(r.operation ?? '?', (ops.get(r.operation ?? '?') ?? 0) + 1);
      const s3 = s3Counts(ts.proxies!.s3.requests.slice(s30));
      const perGb = ((units.writeUnits * PRICES.ddbWriteUnit + units.readUnits * PRICES.ddbReadUnit) * 1e9) / bytes;
      rows.push([
        String(round),
        fmt(bytes / 1e6, 1),
        [...ops].map(([k, v]) => `${k} ${v}`).join(', '),
        `${units.writeUnits}/${units.readUnits}`,
        `${s3.tier1}/${s3.tier2}`,
        fmt(perGb, 4),
      ]);
    } finally {
      await ts.close();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(`DynamoDB of blobserver put (tree of 300 x 32 KiB + 1 x 3 MB), at ${PRICES.region} list prices of ${PRICES.date}`);
console.log(table(['round', 'MB', 'DynamoDB requests', 'WRU/RRU', 'S3 tier1/tier2', 'DynamoDB $/GB'], rows));
