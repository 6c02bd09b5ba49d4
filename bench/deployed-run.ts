import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../infra/bundling.js';
import type { DeployedStack } from '../test/support/deployed-stack.js';
import { openDeployedStack } from '../test/support/deployed-target.js';
import { ACCESS_LOG_LINE_BYTES, PRICES, costOf, ddbCounts, s3Counts, withCredentialLookups, type Usage } from './cost.js';
import { median } from './measure.js';
import { type TREE, makeTree, runTool } from './perkeep.js';
import { fmt, table } from './table.js';

/**
 * Run by bench/deployed.ts inside a loopback-only network namespace: starts LocalStack, opens
 * the deployed-artifact lane (cdk.out's bundles in the Lambda RIE behind the template's routes)
 * and puts and restores a tree with `blobserver put`/`get` and, when PK_PUT/PK_GET are set,
 * `pk-put file`/`pk-get -o`, counting every request each makes. Prints each function's cold
 * start and invoke durations, and the cost per GB ingested and restored at list prices.
 */

/** The tree shape (32 KiB files and 3 MB files), scaled down to keep the run short. */
const COST_TREE: typeof TREE = { small: { count: 300, size: 32 * 1024 }, large: { count: 1, size: 3_000_000 } };
const TARGET_PER_GB = 0.025;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));

interface Mark {
  requests: number;
  metered: number;
  responseBytes: number;
  logBytes: Map<string, number>;
  invokes: Map<string, number>;
  inits: Map<string, number>;
  s3: number;
  ddb: number;
}

function mark(d: DeployedStack): Mark {
  return {
    requests: d.front.counts.requests,
    metered: d.front.counts.meteredRequests,
    responseBytes: d.front.counts.responseBytes,
    logBytes: new Map([...d.functions].map(([id, f]) => [id, f.stats.logBytes])),
    invokes: new Map([...d.functions].map(([id, f]) => [id, f.stats.invokeMs.length])),
    inits: new Map([...d.functions].map(([id, f]) => [id, f.stats.initMs.length])),
    s3: d.proxies.s3.requests.length,
    ddb: d.proxies.dynamodb.requests.length,
  };
}

/**
 * Everything billed between `from` and now. `restoredBytes`: a restore sends at least the bytes
 * it restores out of AWS (through the API, or from S3 by presigned URL, which the front does
 * not see), so data transfer out is the larger of that and the API's response bytes.
 */
function usageSince(d: DeployedStack, from: Mark, restoredBytes = 0): Usage {
  const apiRequests = d.front.counts.requests - from.requests;
  const functionLogBytes = [...d.functions].reduce((s, [id, f]) => s + f.stats.logBytes - (from.logBytes.get(id) ?? 0), 0);
  return {
    apiRequests,
    apiMeteredRequests: d.front.counts.meteredRequests - from.metered,
    transferOutBytes: Math.max(d.front.counts.responseBytes - from.responseBytes, restoredBytes),
    logBytes: functionLogBytes + apiRequests * ACCESS_LOG_LINE_BYTES,
    functions: [...d.functions].map(([id, f]) => {
      const invokes = f.stats.invokeMs.slice(from.invokes.get(id));
      const inits = f.stats.initMs.slice(from.inits.get(id));
      const billedMs = [...invokes, ...inits].reduce((s, ms) => s + Math.ceil(ms), 0);
      return { name: id, invocations: invokes.length, billedMs, memoryMb: f.spec.memoryMb };
    }),
    s3: s3Counts(d.proxies.s3.requests.slice(from.s3)),
    ddb: ddbCounts(d.proxies.dynamodb.requests.slice(from.ddb)),
  };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-deployed-'));
  const { startLocalStack, localStackUnavailable } = (await import(join(PROJECT_ROOT, 'scripts', 'localstack.mjs'))) as {
    startLocalStack(root: string, dir: string): Promise<{ endpoint: string; stop(): Promise<void> }>;
    localStackUnavailable(root: string): string | undefined;
  };
  const why = localStackUnavailable(PROJECT_ROOT);
  if (why) {
    console.log(`\n11-12. deployed stack in the Lambda RIE: skipped (${why})`);
    return;
  }
  const ls = await startLocalStack(PROJECT_ROOT, join(work, 'localstack'));
  let d: DeployedStack | undefined;
  // Interrupted (Ctrl-C, a timeout): stop what this started, then go.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([d?.close(), ls.stop()]).then(() => process.exit(1));
    });
  }
  process.env['BLOBSERVER_TEST_LOCALSTACK_URL'] = ls.endpoint;
  try {
    d = await openDeployedStack();
    const stack = d;
    const userpass = stack.userpass;
    const clientEnv = async (home: string) => {
      await mkdir(join(home, 'config'), { recursive: true });
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(home, 'config', 'client-config.json'), JSON.stringify({ servers: { bench: { server: stack.url, auth: userpass, default: true } } }));
      return { HOME: home, CAMLI_CONFIG_DIR: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
    };
    const settle = () => new Promise((r) => setTimeout(r, 300)); // the emulator's last report lines

    const phases: { tool: string; what: 'ingest' | 'restore'; bytes: number; seconds: number; usage: Usage }[] = [];
    const phase = async (tool: string, what: 'ingest' | 'restore', bytes: number, run: () => Promise<unknown>) => {
      const from = mark(stack);
      console.error(`bench/deployed-run.ts: ${tool} (${what}, ${fmt(bytes / 1e6, 1)} MB)`);
      const t0 = performance.now();
      await run();
      const seconds = (performance.now() - t0) / 1000;
      await settle();
      phases.push({ tool, what, bytes, seconds, usage: usageSince(stack, from, what === 'restore' ? bytes : 0) });
    };

    const clients: { name: string; put: (tree: string, home: string) => Promise<string>; get: (ref: string, out: string, home: string) => Promise<unknown> }[] =
      [
        {
          name: 'blobserver',
          put: (tree) => runTool(process.execPath, [BIN, 'put', tree], { BLOBSERVER_URL: stack.url, BLOBSERVER_AUTH: userpass }),
          get: (ref, out) => runTool(process.execPath, [BIN, 'get', ref, '-o', out], { BLOBSERVER_URL: stack.url, BLOBSERVER_AUTH: userpass }),
        },
      ];
    // The same with a stored, scoped credential (docs/security.md): its lookups are the extra reads.
    const made = await fetch(`${stack.url}/admin/credentials`, {
      method: 'POST',
      headers: { authorization: stack.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'bench', namespaces: ['/'], operations: ['read', 'write'] }),
    });
    if (made.status !== 201) throw new Error(`making the bench's credential: HTTP ${made.status} ${await made.text()}`);
    const scoped = ((await made.json()) as { auth: string }).auth;
    clients.push({
      name: 'blobserver (scoped credential)',
      put: (tree) => runTool(process.execPath, [BIN, 'put', tree], { BLOBSERVER_URL: stack.url, BLOBSERVER_AUTH: scoped }),
      get: (ref, out) => runTool(process.execPath, [BIN, 'get', ref, '-o', out], { BLOBSERVER_URL: stack.url, BLOBSERVER_AUTH: scoped }),
    });
    if (process.env['PK_PUT'] && process.env['PK_GET']) {
      const [pkPut, pkGet] = [process.env['PK_PUT'], process.env['PK_GET']];
      clients.push({
        name: 'pk',
        put: async (tree, home) => runTool(pkPut, ['file', tree], await clientEnv(home)),
        get: async (ref, out, home) => runTool(pkGet, ['-o', out, ref], await clientEnv(home)),
      });
    }
    for (const c of clients) {
      // A fresh random tree per client, so none finds the other's blobs already stored.
      const tree = join(work, `tree-${c.name}`);
      const bytes = await makeTree(tree, COST_TREE);
      let ref = '';
      const scopedTag = c.name.startsWith('blobserver (') ? ' (scoped credential)' : '';
      await phase(
        c.name === 'pk' ? 'pk-put file' : `blobserver put${scopedTag}`,
        'ingest',
        bytes,
        async () => (ref = await c.put(tree, join(work, `home-put-${c.name}`))),
      );
      const out = join(work, `out-${c.name}`);
      await mkdir(out);
      await phase(c.name === 'pk' ? 'pk-get -o' : `blobserver get -o${scopedTag}`, 'restore', bytes, () => c.get(ref, out, join(work, `home-get-${c.name}`)));
    }

    console.log(`\n11. the functions as synthesized (cdk.out), in AWS's Lambda Runtime Interface Emulator + aws-lambda-ric, behind the template's routes`);
    console.log('    (LocalStack S3 + Secrets Manager, DynamoDB Local; durations as the emulator reports them: INIT REPORT, INVOKE RTDONE)');
    console.log(
      table(
        ['function', 'memory MB', 'environments (cold starts)', 'init ms (median)', 'init ms (max)', 'invocations', 'invoke ms (median)', 'invoke ms (p90)'],
        [...stack.functions].map(([id, f]) => {
          const sorted = [...f.stats.invokeMs].sort((a, b) => a - b);
          return [
            id,
            String(f.spec.memoryMb),
            String(f.stats.initMs.length),
            fmt(median(f.stats.initMs)),
            fmt(Math.max(...f.stats.initMs)),
            String(sorted.length),
            fmt(median(sorted), 1),
            fmt(sorted[Math.floor(sorted.length * 0.9)] ?? NaN, 1),
          ];
        }),
      ),
    );

    console.log(
      `\n12. cost of the deployed stack per GB, at ${PRICES.region} list prices of ${PRICES.date} (Lambda arm64 $${PRICES.lambdaArmGbSecond}/GB-s + $0.20/M requests, HTTP API $1.00/M metered in 512 KB units,` +
        ` S3 $0.005/1k PUT/COPY/POST/LIST + $0.0004/1k GET, DynamoDB $0.625/M WRU + $0.125/M RRU, CloudWatch Logs $${PRICES.logsIngestedGb}/GB ingested,` +
        ` data transfer out $${PRICES.dataTransferOutGb}/GB to a client outside AWS); tree of ${COST_TREE.small.count} x 32 KiB + ${COST_TREE.large.count} x 3 MB files`,
    );
    const GB = 1e9;
    console.log(
      table(
        [
          'client',
          'MB',
          's',
          'API requests (metered)',
          'invocations',
          'Lambda GB-s',
          'S3 tier1/tier2 (copies)',
          'DynamoDB WRU/RRU',
          'API $/GB',
          'Lambda $/GB',
          'S3 $/GB',
          'DynamoDB $/GB',
          'Logs $/GB',
          'out $/GB',
          'total $/GB',
          'in AWS $/GB',
        ],
        phases.map((p) => {
          const c = costOf(p.usage);
          const per = (x: number) => fmt((x / p.bytes) * GB, 4);
          const gbs = p.usage.functions.reduce((s, f) => s + (f.billedMs / 1000) * (f.memoryMb / 1024), 0);
          return [
            p.tool,
            fmt(p.bytes / 1e6, 1),
            fmt(p.seconds, 1),
            `${p.usage.apiRequests} (${p.usage.apiMeteredRequests})`,
            String(p.usage.functions.reduce((s, f) => s + f.invocations, 0)),
            fmt(gbs, 1),
            `${p.usage.s3.tier1}/${p.usage.s3.tier2} (${p.usage.s3.copies})`,
            `${fmt(p.usage.ddb.writeUnits, 0)}/${fmt(p.usage.ddb.readUnits, 1)}`,
            per(c.api),
            per(c.lambda),
            per(c.s3),
            per(c.ddb),
            per(c.logs),
            per(c.transferOut),
            per(c.total),
            per(c.total - c.transferOut),
          ];
        }),
      ),
    );
    // Scoped credentials (docs/security.md): the runs above use the owner's credential, which
    // needs no lookup; a stored credential adds at most one read per request (every request a
    // cache miss), and with the cache one per function instance per 60 s.
    console.log(
      "\n12b. cost per GB with a stored (scoped) credential instead of the owner's: measured in table 12 (the '(scoped credential)' rows, another random tree), and the bound from the owner's runs: one read per request, or with the cache one per function per 60 s",
    );
    console.log(
      table(
        [
          'client',
          'owner $/GB (before)',
          'scoped, a read per request $/GB',
          'scoped, cached: a read per function per 60 s $/GB',
          'extra reads (per request / cached)',
        ],
        phases
          .filter((p) => !p.tool.includes('(scoped credential)'))
          .map((p) => {
            const perGb = (u: Usage) => fmt((costOf(u).total / p.bytes) * GB, 5);
            const worst = p.usage.apiRequests;
            const cached = p.usage.functions.filter((f) => f.invocations > 0).length * Math.max(1, Math.ceil(p.seconds / 60));
            return [
              p.tool,
              perGb(p.usage),
              perGb(withCredentialLookups(p.usage, worst)),
              perGb(withCredentialLookups(p.usage, cached)),
              `${worst} / ${cached}`,
            ];
          }),
      ),
    );
    const ours = phases.find((p) => p.tool === 'blobserver put')!;
    const perGb = (costOf(ours.usage).total / ours.bytes) * GB;
    console.log(`   storage itself: $${PRICES.s3StorageGbMonth} per GB-month (S3 Standard), not included above; fixed monthly costs: docs/deploy.md#costs`);
    console.log(
      '   total: the client outside AWS (a restore pays data transfer out, after the first 100 GB a month of the account); in AWS: a client in the same region (no transfer charge)',
    );
    console.log(`   target: blobserver put <= $${TARGET_PER_GB} per GB ingested: ${perGb <= TARGET_PER_GB ? 'met' : 'NOT met'} ($${fmt(perGb, 4)})`);
    if (!process.env['PK_PUT'] || !process.env['PK_GET']) console.log('   (set PK_PUT and PK_GET to Perkeep binaries to add pk-put file / pk-get -o)');
  } finally {
    await d?.close();
    await ls.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
