import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, listening, npmStart, stop } from '../test/support/npm-start.js';
import { median } from './measure.js';
import { makeTree, TREE } from './perkeep.js';
import { ourPut } from './put-vs-perkeepd.js';
import { AUTH } from './server.js';
import { fmt, table } from './table.js';

/**
 * Where the local server's CPU goes during one `blobserver put` of the 125 MB tree, by thread
 * (Linux: /proc/<pid>/task): its own thread (handlers, SDK, HTTP, the S3 front), the two
 * emulator threads (dynalite, s3rver), V8's helper threads (the concurrent marking and sweeping
 * of full collections, the optimizing compiler) and libuv's pool (files, LevelDB calls). The
 * server runs as `npm start` runs it, in a child, warmed by a put of a small tree first. Three
 * settings, interleaved, fresh storage each run: the emulator threads' heaps as shipped (128 MB
 * at start, local/emulator-thread.ts), V8's default (`--initial-heap-size=0`, which the server
 * leaves alone), and every heap from 128 MB. Medians.
 *
 * `npm run bench:threads` (BENCH_THREADS_REPS, default 3). The third setting gives the server's own
 * thread the same start (a node flag, which only the command that starts node can set): not shipped.
 */

const SETTINGS = [
  { name: 'emulator heaps from 128 MB (shipped)', flags: [] },
  { name: "V8's default heaps", flags: ['--initial-heap-size=0'] },
  { name: 'every heap from 128 MB', flags: ['--initial-heap-size=128'] },
] as const;

/** /proc's clock ticks are 1/100 s on Linux. */
const TICK_S = 0.01;

type Group = 'server thread' | 'emulator threads' | 'V8 helpers' | 'libuv pool' | 'other';
const GROUPS: readonly Group[] = ['server thread', 'emulator threads', 'V8 helpers', 'libuv pool', 'other'];

function groupOf(comm: string): Group {
  if (comm === 'MainThread' || comm === 'node') return 'server thread';
  if (comm === 'WorkerThread') return 'emulator threads';
  if (comm === 'V8Worker') return 'V8 helpers';
  if (comm === 'libuv-worker') return 'libuv pool';
  return 'other';
}

/** CPU seconds so far of each thread of `pid`, by thread id, with its group. */
async function threadCpu(pid: number): Promise<Map<string, { group: Group; s: number }>> {
  const out = new Map<string, { group: Group; s: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = (await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8')).trim();
      // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { group: groupOf(comm), s: (Number(fields[11]) + Number(fields[12])) * TICK_S });
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return out;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

interface Run {
  seconds: number;
  cpu: Record<Group, number>;
  peakMb: number;
}

async function oneRun(flags: readonly string[], dir: string, tree: string, warm: string, work: string): Promise<Run> {
  const server = npmStart(childEnv(join(dir, 'data'), { BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH }), flags);
  try {
    const url = await listening(server);
    await ourPut(url, warm, work);
    const before = await threadCpu(server.pid!);
    const t0 = performance.now();
    await ourPut(url, tree, work);
    const seconds = (performance.now() - t0) / 1000;
    const after = await threadCpu(server.pid!);
    const cpu = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
    for (const [tid, t] of after) cpu[t.group] += t.s - (before.get(tid)?.s ?? 0);
    return { seconds, cpu, peakMb: await peakRssMb(server.pid!) };
  } finally {
    await stop(server);
  }
}

export async function serverThreads(reps = Number(process.env['BENCH_THREADS_REPS'] || 3)): Promise<void> {
  if (process.platform !== 'linux') throw new Error('bench/server-threads.ts reads /proc: Linux only');
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-threads-'));
  try {
    const tree = join(work, 'tree');
    const bytes = await makeTree(tree, TREE);
    const warm = join(work, 'warm');
    await makeTree(warm, { small: { count: 100, size: 32 * 1024 }, large: { count: 1, size: 3_000_000 } });
    const runs = new Map<string, Run[]>(SETTINGS.map((s) => [s.name, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const setting of rep % 2 ? [...SETTINGS].reverse() : SETTINGS) {
        const dir = join(work, `run-${rep}-${SETTINGS.indexOf(setting)}`);
        runs.get(setting.name)!.push(await oneRun(setting.flags, dir, tree, warm, work));
        await rm(dir, { recursive: true, force: true });
      }
    }
    console.log(
      `\nthe local server's CPU by thread during one put of the 125 MB tree (${fmt(bytes / 1e6)} MB), as npm start runs it, warmed, interleaved, median of ${reps}`,
    );
    const rows = SETTINGS.map((s) => {
      const r = runs.get(s.name)!;
      const m = (f: (x: Run) => number) => fmt(median(r.map(f)), 2);
      return [
        s.name,
        m((x) => x.seconds),
        m((x) => GROUPS.reduce((n, g) => n + x.cpu[g], 0)),
        ...GROUPS.map((g) => m((x) => x.cpu[g])),
        fmt(median(r.map((x) => x.peakMb))),
      ];
    });
    console.log(table(['setting', 'put wall s', 'server CPU s', ...GROUPS.map((g) => `${g} s`), 'peak RSS MB'], rows));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('server-threads.ts')) {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  await serverThreads();
}
