import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServer, type LocalServer } from '../local/server.js';
import { startAwsChild } from './aws-child.js';
import { median } from './measure.js';
import { makeTree, perkeepClientEnv, runTool, TREE } from './perkeep.js';
import { startPerkeepd } from './perkeepd.js';
import { AUTH } from './server.js';
import { fmt, table } from './table.js';

/**
 * Issue 29's put comparison: `blobserver put` of a tree to a fresh local server (embedded
 * dynalite + s3rver, as `npm start` runs it, in this process) against `pk-put file` of the same
 * tree to a fresh perkeepd on its filesystem storage (PK_PUT, PERKEEPD), interleaved (the order
 * rotates every repetition), wall time with process start, medians. Target: ours / theirs <= 0.7.
 * Then the server's own CPU for a batched put (what Lambda bills): the emulators and the S3 front
 * in a child process (aws-child.ts), so this process's CPU is the handlers, the SDK and HTTP.
 *
 * Alone: `PK_PUT=... PERKEEPD=... npx tsx bench/put-vs-perkeepd.ts` (BENCH_PUT_REPS, default 3;
 * BENCH_PUT_TREES=125,47 picks the trees; BENCH_PUT_ONE_THREAD=true adds, interleaved, our put with
 * the emulators on the server's thread, BLOBSERVER_EMULATOR_THREADS=false, as before issue 29).
 */

export const TREES = {
  '125': TREE,
  '47': { small: { count: 1000, size: 32 * 1024 }, large: { count: 5, size: 3_000_000 } },
} as const satisfies Record<string, typeof TREE>;

export const PUT_TARGET = 0.7;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));
const QUIET = { POWERTOOLS_LOG_LEVEL: 'CRITICAL' };

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

function localServer(dir: string, env: Record<string, string> = {}): Promise<LocalServer> {
  return startLocalServer({ BLOBSERVER_DATA_DIR: dir, PORT: '0', BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH, ...QUIET, ...env });
}

/** `blobserver put --json` as the installed bin runs it; answers the root ref and the blob count. */
export async function ourPut(url: string, tree: string, work: string): Promise<{ ref: string; blobs: number }> {
  const env = { BLOBSERVER_URL: url, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: join(work, 'no-config') };
  const summary = JSON.parse(await runTool(process.execPath, [BIN, 'put', '--json', tree], env)) as { refs: { ref: string }[]; blobs: number };
  return { ref: summary.refs[0]!.ref, blobs: summary.blobs };
}

export interface PutComparison {
  label: string;
  bytes: number;
  blobs: number;
  ours: { seconds: number[]; cpuSeconds: number[]; ref: string };
  /** With `emulatorsOnServerThread`: ours with dynalite and s3rver on the server's thread (BLOBSERVER_EMULATOR_THREADS=false), as before issue 29. */
  oursOneThread?: { seconds: number[]; cpuSeconds: number[]; ref: string };
  /** Undefined without PK_PUT and PERKEEPD. */
  theirs?: { seconds: number[]; ref: string };
  /** ours / theirs, medians. */
  ratio?: number;
}

/** One interleaved comparison on a tree of `shape`, `reps` runs of each side, fresh storage per run. */
export async function putComparison(
  shape: typeof TREE,
  reps: number,
  bins: { pkPut?: string | undefined; perkeepd?: string | undefined },
  emulatorsOnServerThread = false,
): Promise<PutComparison> {
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-put-'));
  try {
    const tree = join(work, 'tree');
    const bytes = await makeTree(tree, shape);
    const label = `${shape.small.count} x 32 KiB + ${shape.large.count} x 3 MB (${fmt(bytes / 1e6)} MB)`;
    const ours = { seconds: [] as number[], cpuSeconds: [] as number[], ref: '' };
    const oursOneThread = emulatorsOnServerThread ? { seconds: [] as number[], cpuSeconds: [] as number[], ref: '' } : undefined;
    const theirs = bins.pkPut && bins.perkeepd ? { seconds: [] as number[], ref: '' } : undefined;
    let blobs = 0;
    const sides = ['ours', ...(oursOneThread ? ['oursOneThread'] : []), ...(theirs ? ['theirs'] : [])];
    for (let rep = 0; rep < reps; rep++) {
      for (const side of rep % 2 ? [...sides].reverse() : sides) {
        const dir = join(work, `${side}-${rep}`);
        if (side !== 'theirs') {
          const into = side === 'ours' ? ours : oursOneThread!;
          const server = await localServer(join(dir, 'data'), side === 'ours' ? {} : { BLOBSERVER_EMULATOR_THREADS: 'false' });
          try {
            const c0 = cpuMs();
            const t0 = performance.now();
            const put = await ourPut(server.url, tree, work);
            into.seconds.push((performance.now() - t0) / 1000);
            into.cpuSeconds.push((cpuMs() - c0) / 1000);
            into.ref = put.ref;
            blobs = put.blobs;
          } finally {
            await server.close();
          }
        } else {
          const pk = await startPerkeepd(bins.perkeepd!, dir);
          try {
            const env = await perkeepClientEnv(join(dir, 'client'), pk.url);
            const t0 = performance.now();
            theirs!.ref = await runTool(bins.pkPut!, ['file', tree], env);
            theirs!.seconds.push((performance.now() - t0) / 1000);
          } finally {
            await pk.close();
          }
        }
        await rm(dir, { recursive: true, force: true });
      }
    }
    return {
      label,
      bytes,
      blobs,
      ours,
      ...(oursOneThread ? { oursOneThread } : {}),
      ...(theirs ? { theirs, ratio: median(ours.seconds) / median(theirs.seconds) } : {}),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The table and verdict lines of one comparison. */
export function printPutComparison(c: PutComparison): void {
  const row = (name: string, s: number[]) => [
    name,
    fmt(median(s), 2),
    `${fmt(Math.min(...s), 2)} to ${fmt(Math.max(...s), 2)}`,
    fmt(c.bytes / 1e6 / median(s), 1),
  ];
  const rows = [[...row('blobserver put -> local server', c.ours.seconds), fmt(median(c.ours.cpuSeconds), 2)]];
  if (c.oursOneThread) rows.push([...row('  the same, emulators on the server thread', c.oursOneThread.seconds), fmt(median(c.oursOneThread.cpuSeconds), 2)]);
  if (c.theirs) rows.push([...row('pk-put file -> perkeepd (filesystem)', c.theirs.seconds), '-']);
  console.log(table(['tool -> server', 'wall s (median)', 'runs', 'MB/s', 'local server CPU s'], rows));
  if (c.theirs && c.ratio !== undefined)
    console.log(
      `   ours / pk-put = ${fmt(c.ratio, 2)} (target <= ${PUT_TARGET}: ${c.ratio <= PUT_TARGET ? 'met' : 'NOT met'}); same root ref: ${c.ours.ref === c.theirs.ref ? 'yes' : 'NO'}`,
    );
  else
    console.log(
      '   pk-put -> perkeepd: skipped (set PK_PUT and PERKEEPD to Perkeep binaries, e.g. PK_PUT=/work/perkeep-bin/pk-put PERKEEPD=/work/perkeep-bin/perkeepd)',
    );
}

export interface ServerOnlyCpu {
  blobs: number;
  /** This process: handlers, AWS SDK, HTTP (what Lambda bills), ms per blob. */
  serverMsPerBlob: number;
  /** The child: dynalite, s3rver, the S3 front, ms per blob. */
  emulatorsMsPerBlob: number;
}

/** One batched put of a tree of `shape` with the emulators in a child: the server's CPU alone. */
export async function serverOnlyCpu(shape: typeof TREE): Promise<ServerOnlyCpu> {
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-put-cpu-'));
  const aws = await startAwsChild(join(work, 'aws'));
  let server: LocalServer | undefined;
  try {
    const tree = join(work, 'tree');
    await makeTree(tree, shape);
    server = await localServer(join(work, 'data'), aws.env);
    const child0 = await aws.cpuMs();
    const own0 = cpuMs();
    const { blobs } = await ourPut(server.url, tree, work);
    const own = cpuMs() - own0;
    const child = (await aws.cpuMs()) - child0;
    return { blobs, serverMsPerBlob: own / blobs, emulatorsMsPerBlob: child / blobs };
  } finally {
    await server?.close();
    await aws.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Both trees (BENCH_PUT_TREES), then the server-only CPU; answers the comparisons. */
export async function putComparisons(): Promise<PutComparison[]> {
  const reps = Number(process.env['BENCH_PUT_REPS'] || 3);
  const names = (process.env['BENCH_PUT_TREES'] || '125,47').split(',').map((s) => s.trim()) as (keyof typeof TREES)[];
  const bins = { pkPut: process.env['PK_PUT'], perkeepd: process.env['PERKEEPD'] };
  const out: PutComparison[] = [];
  for (const name of names) {
    const shape = TREES[name];
    if (!shape) throw new Error(`BENCH_PUT_TREES: no tree ${name} (known: ${Object.keys(TREES).join(', ')})`);
    const c = await putComparison(shape, reps, bins, process.env['BENCH_PUT_ONE_THREAD'] === 'true');
    console.log(`\nput of ${c.label}, ${c.blobs} blobs, fresh storage per run, interleaved, median of ${reps}`);
    printPutComparison(c);
    out.push(c);
  }
  const cpu = await serverOnlyCpu(TREES['47']);
  console.log(
    `   server-only CPU of a batched put (${cpu.blobs} blobs; emulators and S3 front in a child process): ${fmt(cpu.serverMsPerBlob, 3)} ms per blob (handlers, SDK, HTTP: what Lambda bills), emulators ${fmt(cpu.emulatorsMsPerBlob, 3)} ms per blob`,
  );
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  await putComparisons();
}
