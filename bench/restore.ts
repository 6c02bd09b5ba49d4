import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServerClient } from '../client/http-client.js';
import { startLocalServer, type LocalServer } from '../local/server.js';
import { startAwsProxy } from '../test/support/aws-proxy.js';
import { treeListing } from '../test/support/tree.js';
import { startAwsChild } from './aws-child.js';
import { median } from './measure.js';
import { makeTree, perkeepClientEnv, runTool, TREE } from './perkeep.js';
import { startPerkeepd } from './perkeepd.js';
import { AUTH, proxiedServer } from './server.js';
import { fmt, table } from './table.js';

/**
 * Reads (DESIGN §9) and server CPU, `npm run bench:restore` (also section 10 of `npm run bench`):
 *
 * a. put: `blobserver put` of the issue's tree to a fresh local server against `pk-put file` of
 *    it to a fresh perkeepd on its filesystem (PERKEEPD, PK_PUT), interleaved;
 * b. restore: `blobserver get` (batch locate, straight from S3) against `pk-get` from the same
 *    local server and `pk-get` from perkeepd (PK_GET), interleaved, every restore checked byte
 *    for byte against the tree;
 * c. requests per blob of a restore, counted by proxies in front of the server and of S3;
 * d. the local server's CPU per blob (process.cpuUsage of this process; the clients are child
 *    processes) for one-blob uploads (pk-put), batched uploads (blobserver put), batch reads
 *    (blobserver get) and one-blob reads (pk-get), with the AWS SDK's per-request defaults
 *    (BLOBSERVER_SDK_DEFAULTS=true) and without (aws-clients.ts), interleaved; each both with
 *    the emulators in this process (as `npm start` runs them) and in a child (aws-child.ts),
 *    which splits the CPU into the server's alone (what Lambda bills) and the emulators'.
 *
 * BENCH_RESTORE_REPS sets the runs of a and b (default 3); BENCH_RESTORE_TREE=small uses a
 * 31 MB tree instead of the issue's 126 MB one; BENCH_RESTORE_ONLY=cpu runs d alone.
 */

const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));
const SMALL_TREE: typeof TREE = { small: { count: 500, size: 32 * 1024 }, large: { count: 5, size: 3_000_000 } };
const CPU_TREE: typeof TREE = { small: { count: 300, size: 32 * 1024 }, large: { count: 2, size: 3_000_000 } };
const QUIET = { POWERTOOLS_LOG_LEVEL: 'CRITICAL' };

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function localServer(dir: string, env: Record<string, string> = {}): Promise<LocalServer> {
  return startLocalServer({ BLOBSERVER_DATA_DIR: dir, PORT: '0', BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH, ...QUIET, ...env });
}

const ourEnv = (url: string, work: string) => ({ BLOBSERVER_URL: url, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: join(work, 'no-config') });

/** `blobserver put --json`: the root ref and how many blobs the tree is. */
async function ourPut(url: string, tree: string, work: string): Promise<{ ref: string; blobs: number }> {
  const summary = JSON.parse(await runTool(process.execPath, [BIN, 'put', '--json', tree], ourEnv(url, work))) as { refs: { ref: string }[]; blobs: number };
  return { ref: summary.refs[0]!.ref, blobs: summary.blobs };
}

async function blobCount(url: string): Promise<number> {
  let n = 0;
  for await (const _ of new BlobServerClient({ server: url, auth: AUTH }).enumerate()) n++;
  return n;
}

interface Timed {
  seconds: number;
  cpuMs: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  const c0 = cpuMs();
  const t0 = performance.now();
  await fn();
  return { seconds: (performance.now() - t0) / 1000, cpuMs: cpuMs() - c0 };
}

/** Rotates the order of `xs` by `rep`, so each tool runs first, middle and last in turn. */
const rotated = <T>(xs: readonly T[], rep: number) => xs.map((_, i) => xs[(i + rep) % xs.length]!);

export async function restoreBench(): Promise<void> {
  const reps = Number(process.env['BENCH_RESTORE_REPS'] || 3);
  const { PK_PUT: pkPut, PK_GET: pkGet, PERKEEPD: perkeepd } = process.env;
  const shape = process.env['BENCH_RESTORE_TREE'] === 'small' ? SMALL_TREE : TREE;
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-restore-'));
  const closers: (() => Promise<void>)[] = [];
  try {
    if (process.env['BENCH_RESTORE_ONLY'] === 'cpu') return await serverCpu(work, pkPut, pkGet);
    const tree = join(work, 'tree');
    const bytes = await makeTree(tree, shape);
    const want = JSON.stringify(await treeListing(tree));
    const label = `${shape.small.count} x 32 KiB + ${shape.large.count} x 3 MB files (${fmt(bytes / 1e6)} MB)`;

    // a. put, interleaved; the last run's servers keep the tree for the restores.
    let ours: { server: LocalServer; ref: string; blobs: number } | undefined;
    let theirs: { url: string; ref: string; close(): Promise<void> } | undefined;
    const puts = new Map<string, Timed[]>([['blobserver put -> local server', []]]);
    if (perkeepd && pkPut) puts.set('pk-put file -> perkeepd', []);
    for (let rep = 0; rep < reps; rep++) {
      for (const name of rotated([...puts.keys()], rep)) {
        const dir = join(work, `put-${rep}-${name.split(' ')[0]}`);
        if (name.startsWith('blobserver')) {
          const server = await localServer(dir);
          let put!: { ref: string; blobs: number };
          puts.get(name)!.push(await timed(async () => (put = await ourPut(server.url, tree, work))));
          if (ours) await ours.server.close();
          ours = { server, ...put };
        } else {
          const pk = await startPerkeepd(perkeepd!, dir);
          let ref = '';
          try {
            puts.get(name)!.push(await timed(async () => (ref = await runTool(pkPut!, ['file', tree], await perkeepClientEnv(join(dir, 'client'), pk.url)))));
          } catch (err) {
            await pk.close();
            throw err;
          }
          await theirs?.close();
          theirs = { url: pk.url, ref, close: pk.close };
        }
      }
    }
    closers.push(() => ours!.server.close());
    if (theirs) closers.push(theirs.close);
    console.log(`\n10a. put of ${label}, fresh storage per run, interleaved, median of ${reps}`);
    const ourPutS = median(puts.get('blobserver put -> local server')!.map((t) => t.seconds));
    console.log(
      table(
        ['tool -> server', 'wall s', 'MB/s', 'local server CPU s'],
        [...puts].map(([name, runs]) => [
          name,
          fmt(median(runs.map((r) => r.seconds)), 2),
          fmt(bytes / 1e6 / median(runs.map((r) => r.seconds)), 1),
          name.startsWith('blobserver') ? fmt(median(runs.map((r) => r.cpuMs)) / 1000, 2) : '-',
        ]),
      ),
    );
    if (theirs) {
      const pkS = median(puts.get('pk-put file -> perkeepd')!.map((t) => t.seconds));
      console.log(
        `   same root ref: ${theirs.ref === ours!.ref ? 'yes' : 'NO'}; target: blobserver put at least as fast as pk-put to perkeepd: ${ourPutS <= pkS ? 'met' : 'NOT met'} (${fmt(pkS / ourPutS, 2)}x)`,
      );
    } else console.log('   (set PERKEEPD and PK_PUT to compare with pk-put file to perkeepd)');

    // b. restore, interleaved, each checked byte for byte.
    const restores = new Map<string, { run: (out: string, home: string) => Promise<unknown>; runs: Timed[] }>();
    restores.set('blobserver get <- local server', {
      run: (out) => runTool(process.execPath, [BIN, 'get', ours!.ref, '-o', out], ourEnv(ours!.server.url, work)),
      runs: [],
    });
    if (pkGet)
      restores.set('pk-get <- local server', {
        run: async (out, home) => runTool(pkGet, ['-o', out, ours!.ref], await perkeepClientEnv(home, ours!.server.url)),
        runs: [],
      });
    if (pkGet && theirs)
      restores.set('pk-get <- perkeepd', {
        run: async (out, home) => runTool(pkGet, ['-o', out, theirs!.ref], await perkeepClientEnv(home, theirs!.url)),
        runs: [],
      });
    for (let rep = 0; rep < reps; rep++) {
      for (const name of rotated([...restores.keys()], rep)) {
        const out = join(work, `out-${rep}-${name.replace(/\W+/g, '-')}`);
        await mkdir(out);
        const r = restores.get(name)!;
        r.runs.push(await timed(() => r.run(out, join(out, '..', `home-${rep}-${name.replace(/\W+/g, '-')}`))));
        const got = JSON.stringify(await treeListing(join(out, 'tree')));
        if (got !== want) throw new Error(`${name}: the restored tree differs from the original`);
        await rm(out, { recursive: true, force: true });
      }
    }
    const oursS = median(restores.get('blobserver get <- local server')!.runs.map((r) => r.seconds));
    console.log(`\n10b. restore of the same tree into an empty directory, interleaved, median of ${reps}; every run checked byte for byte`);
    console.log(
      table(
        ['tool <- server', 'wall s', 'MB/s', 'x blobserver get', 'local server CPU s'],
        [...restores].map(([name, r]) => {
          const s = median(r.runs.map((x) => x.seconds));
          return [
            name,
            fmt(s, 2),
            fmt(bytes / 1e6 / s, 1),
            fmt(s / oursS, 2),
            name.includes('local server') ? fmt(median(r.runs.map((x) => x.cpuMs)) / 1000, 2) : '-',
          ];
        }),
      ),
    );
    const sameServer = restores.get('pk-get <- local server');
    const fromPerkeepd = restores.get('pk-get <- perkeepd');
    if (sameServer) {
      const x = median(sameServer.runs.map((r) => r.seconds)) / oursS;
      console.log(`   target: >= 3x faster than pk-get from the same server: ${x >= 3 ? 'met' : 'NOT met'} (${fmt(x, 2)}x)`);
    }
    if (fromPerkeepd) {
      const x = median(fromPerkeepd.runs.map((r) => r.seconds)) / oursS;
      console.log(`   target: no slower than pk-get from perkeepd on its filesystem: ${x >= 1 ? 'met' : 'NOT met'} (${fmt(x, 2)}x)`);
    }
    for (const close of closers.splice(0).reverse()) await close();

    // c. requests per blob of a restore, through counting proxies.
    const counted = await countedRestore(tree, work, want);
    console.log(`\n10c. requests of one blobserver get of the tree (${counted.blobs} blobs), counted by proxies in front of the local server and of S3`);
    console.log(
      table(
        ['requests', 'count', 'per blob', 'target'],
        [
          ['to the server (function invocations)', String(counted.server), fmt(counted.server / counted.blobs, 4), '<= 0.02'],
          ["S3 GETs (the server's and the client's)", String(counted.s3Gets), fmt(counted.s3Gets / counted.blobs, 4), '<= 0.1'],
        ],
      ),
    );

    // d. server CPU per blob.
    await serverCpu(work, pkPut, pkGet);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

async function countedRestore(tree: string, work: string, want: string): Promise<{ blobs: number; server: number; s3Gets: number }> {
  const dir = join(work, 'counted');
  const { server, s3, close } = await proxiedServer(dir);
  const front = await startAwsProxy(server.url);
  try {
    const { ref, blobs } = await ourPut(front.endpoint, tree, work);
    const [server0, s3Gets0] = [front.requests.length, s3.requests.filter((r) => r.method === 'GET').length];
    const out = join(dir, 'out');
    await mkdir(out);
    await runTool(process.execPath, [BIN, 'get', ref, '-o', out], ourEnv(front.endpoint, work));
    if (JSON.stringify(await treeListing(join(out, 'tree'))) !== want) throw new Error('counted restore: the restored tree differs');
    return { blobs, server: front.requests.length - server0, s3Gets: s3.requests.filter((r) => r.method === 'GET').length - s3Gets0 };
  } finally {
    await front.close();
    await close();
  }
}

/** One way of running the local server for 10d: the SDK's defaults or not, emulators in this process or in a child. */
interface CpuVariant {
  name: string;
  sdkDefaults: boolean;
  child: boolean;
}

const CPU_VARIANTS = [
  { name: 'in-process, SDK defaults', sdkDefaults: true, child: false },
  { name: 'in-process, aws-clients.ts cuts', sdkDefaults: false, child: false },
  { name: 'server only, SDK defaults', sdkDefaults: true, child: true },
  { name: 'server only, aws-clients.ts cuts', sdkDefaults: false, child: true },
] as const satisfies readonly CpuVariant[];

async function serverCpu(work: string, pkPut?: string, pkGet?: string): Promise<void> {
  const treeA = join(work, 'cpu-a', 'tree');
  const treeB = join(work, 'cpu-b', 'tree');
  await makeTree(treeA, CPU_TREE);
  await makeTree(treeB, CPU_TREE);
  const phases = ['one-blob uploads (pk-put file)', 'batched uploads (blobserver put)', 'batch reads (blobserver get)', 'one-blob reads (pk-get)'] as const;
  // `${phase}|${variant}` -> this process's ms per blob, one per run; `...|emulators` -> the child's.
  const perBlob = new Map<string, number[]>();
  const reps = 2;
  for (let rep = 0; rep < reps; rep++) {
    for (const variant of rotated(CPU_VARIANTS, rep)) {
      const dir = join(work, `cpu-${rep}-${CPU_VARIANTS.indexOf(variant)}`);
      const aws = variant.child ? await startAwsChild(join(dir, 'aws')) : undefined;
      const record = (key: string, ms: number, blobs: number) => perBlob.set(key, [...(perBlob.get(key) ?? []), ms / blobs]);
      /** Runs `fn` and records this process's CPU (and the child's) per blob, blobs counted after. */
      const measured = async (phase: string, fn: () => Promise<unknown>, blobs: () => Promise<number> | number) => {
        const child0 = await aws?.cpuMs();
        const own = (await timed(fn)).cpuMs;
        const child = aws && (await aws.cpuMs()) - child0!;
        const n = await blobs();
        record(`${phase}|${variant.name}`, own, n);
        if (child !== undefined) record(`${phase}|${variant.name}|emulators`, child, n);
      };
      let server: LocalServer | undefined;
      try {
        server = await localServer(join(dir, 'data'), { BLOBSERVER_SDK_DEFAULTS: String(variant.sdkDefaults), ...aws?.env });
        const url = server.url;
        let refA = '';
        if (pkPut)
          await measured(
            phases[0],
            async () => (refA = await runTool(pkPut, ['file', treeA], await perkeepClientEnv(join(dir, 'put-a'), url))),
            () => blobCount(url),
          );
        const before = pkPut ? await blobCount(url) : 0;
        let put!: { ref: string; blobs: number };
        await measured(
          phases[1],
          async () => (put = await ourPut(url, treeB, work)),
          async () => (await blobCount(url)) - before,
        );
        const outB = join(dir, 'out-b');
        await mkdir(outB);
        await measured(
          phases[2],
          () => runTool(process.execPath, [BIN, 'get', put.ref, '-o', outB], ourEnv(url, work)),
          () => put.blobs,
        );
        if (pkGet && refA) {
          const outA = join(dir, 'out-a');
          await mkdir(outA);
          await measured(
            phases[3],
            async () => runTool(pkGet, ['-o', outA, refA], await perkeepClientEnv(join(dir, 'get-a'), url)),
            () => before,
          );
        }
      } finally {
        await server?.close();
        await aws?.close();
      }
    }
  }
  console.log(
    `\n10d. local server CPU ms per blob, ${CPU_TREE.small.count} x 32 KiB + ${CPU_TREE.large.count} x 3 MB trees, fresh server per run, interleaved, median of ${reps}. ` +
      'In-process: this process runs the server and its embedded dynalite + s3rver (as `npm start` does). Server only: the emulators and the S3 front run in a child process ' +
      "(bench/aws-child.ts), so this process is the handlers + AWS SDK + HTTP, what Lambda bills; the child's CPU is the emulators'. Clients are child processes, never counted.",
  );
  const cell = (key: string) => (perBlob.has(key) ? fmt(median(perBlob.get(key)!), 2) : '-');
  const [inDefaults, inCuts, soloDefaults, soloCuts] = CPU_VARIANTS;
  const ratio = (a: string, b: string) => (perBlob.has(a) && perBlob.has(b) ? fmt(median(perBlob.get(b)!) / median(perBlob.get(a)!), 2) : '-');
  const rows = phases
    .filter((p) => perBlob.has(`${p}|${inCuts.name}`))
    .map((p) => [
      p,
      cell(`${p}|${inDefaults.name}`),
      cell(`${p}|${inCuts.name}`),
      ratio(`${p}|${inDefaults.name}`, `${p}|${inCuts.name}`),
      cell(`${p}|${soloDefaults.name}`),
      cell(`${p}|${soloCuts.name}`),
      ratio(`${p}|${soloDefaults.name}`, `${p}|${soloCuts.name}`),
      cell(`${p}|${soloCuts.name}|emulators`),
    ]);
  console.log(table(['case', inDefaults.name, inCuts.name, 'ratio', soloDefaults.name, soloCuts.name, 'ratio', 'emulators only (child), cuts run'], rows));
  if (!pkPut) console.log('   (set PK_PUT and PK_GET for the one-blob rows)');
  const oneBlob = perBlob.get(`${phases[0]}|${inCuts.name}`);
  if (oneBlob)
    console.log(
      `   target: one-blob uploads <= 3 ms of server CPU per blob (in-process): ${median(oneBlob) <= 3 ? 'met' : 'NOT met'} (${fmt(median(oneBlob), 2)})`,
    );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  await restoreBench();
}
