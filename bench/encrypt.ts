import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServer } from '../local/server.js';
import { median } from './measure.js';
import { makeTree, runTool, TREE } from './perkeep.js';
import { generateX25519Identity } from 'age-encryption';
import { openInline, sealInline } from '../client/encrypt/age-work.js';
import { parseKey } from '../client/encrypt/format.js';
import { AUTH, AUTHORIZATION } from './server.js';
import { fmt, table } from './table.js';

/**
 * `blobserver put --encrypt` and `get --encrypt` of the generated tree against `put`/`get`
 * without, on one local server, interleaved (plain, encrypted, encrypted inline, plain, ...),
 * each run into fresh namespaces so nothing is deduplicated. Wall time includes process start
 * (and, encrypted, reading the meta). Target: encryption costs at most 15% more, both ways.
 *
 * "encrypted" is the default (age work in a pool of worker threads, os.availableParallelism());
 * "inline" is BLOBSERVER_AGE_WORKERS=0 (age work on the main thread), for comparison. Each run
 * also reports the CLI's CPU seconds, the whole process's and the main thread's (Node >= 23.9),
 * the client's own cost whatever the server's. Then age alone, inline in this process: CPU per
 * blob and per MB, which with the blob count gives the tree's crypto CPU seconds; and from
 * those, a derivation (not a measurement) of the ratio with k cores free for the pool.
 *
 * `npm run bench:encrypt`; BENCH_ENCRYPT_REPS runs per side (default 2); BENCH_ENCRYPT_SCALE
 * shrinks the tree (0.25 = a quarter of the files); BENCH_ENCRYPT_INLINE=0 skips the inline side.
 */

const TARGET = 1.15;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));
const CPU_REPORT = fileURLToPath(new URL('./cpu-report.mjs', import.meta.url));

type Side = 'plain' | 'encrypted' | 'inline';
interface Run {
  wall: number;
  process: number;
  main: number | null;
}

export async function encryptBench(): Promise<void> {
  const reps = Number(process.env['BENCH_ENCRYPT_REPS'] || 2);
  const scale = Number(process.env['BENCH_ENCRYPT_SCALE'] || 1);
  const sideNames: Side[] = process.env['BENCH_ENCRYPT_INLINE'] === '0' ? ['plain', 'encrypted'] : ['plain', 'encrypted', 'inline'];
  const shape = {
    small: { count: Math.max(1, Math.round(TREE.small.count * scale)), size: TREE.small.size },
    large: { count: Math.max(1, Math.round(TREE.large.count * scale)), size: TREE.large.size },
  };
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-encrypt-'));
  const server = await startLocalServer({
    BLOBSERVER_DATA_DIR: join(work, 'data'),
    PORT: '0',
    BLOBSERVER_HOST: '127.0.0.1',
    BLOBSERVER_AUTH: AUTH,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  try {
    const tree = join(work, 'tree');
    const bytes = await makeTree(tree, shape);
    await runTool(process.execPath, [BIN, 'genkey', join(work, 'key')], {});
    const cpuFile = join(work, 'cpu.jsonl');
    const env = { BLOBSERVER_URL: server.url, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: join(work, 'no-config'), BENCH_CPU_FILE: cpuFile };
    const encrypted = (i: number, side: string) => [
      '--encrypt',
      join(work, 'key'),
      '--encrypted-namespace',
      `${side}-${i}-blobs`,
      '--meta-namespace',
      `${side}-${i}-meta`,
    ];
    const sides: Record<Side, { args: (i: number) => string[]; env: Record<string, string> }> = {
      plain: { args: (i) => ['--server', `${server.url}/plain-${i}`], env: {} },
      encrypted: {
        args: (i) => encrypted(i, 'enc'),
        env: process.env['BLOBSERVER_AGE_WORKERS'] ? { BLOBSERVER_AGE_WORKERS: process.env['BLOBSERVER_AGE_WORKERS'] } : {},
      },
      inline: { args: (i) => encrypted(i, 'inl'), env: { BLOBSERVER_AGE_WORKERS: '0' } },
    };
    const runs = { put: {} as Record<Side, Run[]>, get: {} as Record<Side, Run[]> };
    for (const s of sideNames) {
      runs.put[s] = [];
      runs.get[s] = [];
    }
    const timed = async (args: string[], sideEnv: Record<string, string>) => {
      await rm(cpuFile, { force: true });
      const t = performance.now();
      const out = await runTool(process.execPath, ['--import', CPU_REPORT, BIN, ...args], { ...env, ...sideEnv });
      const wall = (performance.now() - t) / 1000;
      const cpu = JSON.parse((await readFile(cpuFile, 'utf8')).trim()) as { process: number; main: number | null };
      return { run: { wall, process: cpu.process, main: cpu.main }, out };
    };
    for (let i = 0; i < reps; i++) {
      for (const side of sideNames) {
        const put = await timed(['put', ...sides[side].args(i), tree], sides[side].env);
        runs.put[side].push(put.run);
        const out = join(work, `out-${side}-${i}`);
        await mkdir(out);
        const get = await timed(['get', ...sides[side].args(i), put.out, '-o', out], sides[side].env);
        runs.get[side].push(get.run);
        await rm(out, { recursive: true, force: true });
      }
    }
    const blobs = await countBlobs(`${server.url}/enc-0-blobs`);
    const age = await ageAlone();

    console.log(
      `\nEncryption: put and get of ${shape.small.count} x 32 KiB + ${shape.large.count} x 3 MB files (${fmt(bytes / 1e6)} MB, ${blobs.count} blobs), ` +
        `local server, Node ${process.versions.node}, ${availableParallelism()} cores, interleaved, median of ${reps} run(s) per side; ` +
        `age pool: ${process.env['BLOBSERVER_AGE_WORKERS'] ?? availableParallelism()} thread(s)`,
    );
    const med = (rs: Run[], f: (r: Run) => number | null) => {
      const xs = rs.map(f).filter((x): x is number => x !== null);
      return xs.length ? median(xs) : NaN;
    };
    const rows: string[][] = [];
    for (const op of ['put', 'get'] as const) {
      const plainWall = med(runs[op].plain, (r) => r.wall);
      for (const side of sideNames) {
        const rs = runs[op][side];
        const w = med(rs, (r) => r.wall);
        const ratio = w / plainWall;
        rows.push([
          op,
          side,
          fmt(w, 2),
          side === 'plain' ? '' : fmt(ratio, 3),
          side === 'plain' ? '' : ratio <= TARGET ? 'met' : 'NOT met',
          fmt(
            med(rs, (r) => r.process),
            2,
          ),
          fmt(
            med(rs, (r) => r.main),
            2,
          ),
        ]);
      }
    }
    console.log(table(['operation', 'side', 'wall s', 'ratio', `target <= ${TARGET}`, 'CLI CPU s', 'main thread CPU s'], rows));
    console.log(`   runs: ${JSON.stringify(runs, (_, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);

    const mb = blobs.bytes / 1e6;
    const crypto = { put: (blobs.count * age.seal.perBlob + mb * age.seal.perMB) / 1000, get: (blobs.count * age.open.perBlob + mb * age.open.perMB) / 1000 };
    console.log(
      `\nage alone (inline, one thread, CPU): seal ${fmt(age.seal.perBlob, 3)} ms per blob + ${fmt(age.seal.perMB, 1)} ms per MB; ` +
        `open ${fmt(age.open.perBlob, 3)} ms per blob + ${fmt(age.open.perMB, 1)} ms per MB. ` +
        `This tree: ${blobs.count} blobs, ${fmt(mb)} MB: ${fmt(crypto.put, 2)} CPU s to seal, ${fmt(crypto.get, 2)} CPU s to open.`,
    );
    // Derivation, not a measurement: the encrypted run takes the plain run's time plus what
    // encryption adds to the main thread, unless the pool's k threads need longer for the crypto.
    const ks = [1, 2, 4, 8, 16, 32];
    const derived: string[][] = [];
    for (const op of ['put', 'get'] as const) {
      const wall = med(runs[op].plain, (r) => r.wall);
      const mainPlain = med(runs[op].plain, (r) => r.main);
      // Node < 23.9 cannot tell the main thread's CPU: then only the crypto term (a lower bound).
      const measured = Math.max(0, med(runs[op].encrypted, (r) => r.main) - mainPlain);
      const extra = Number.isNaN(measured) ? 0 : measured;
      const est = (base: number, k: number) => Math.max(1 + extra / base, crypto[op] / (k * base));
      derived.push([op, 'this local server', fmt(wall, 2), Number.isNaN(measured) ? 'n/a' : fmt(extra, 2), ...ks.map((k) => fmt(est(wall, k), 2))]);
      if (!Number.isNaN(mainPlain))
        derived.push([op, 'client alone (server free)', fmt(mainPlain, 2), fmt(extra, 2), ...ks.map((k) => fmt(est(mainPlain, k), 2))]);
    }
    console.log(
      '\nDERIVED (not measured): expected ratio with k cores free for the age pool = max(1 + E/T, C/(k*T)); T: plain time ' +
        '(wall here, or the plain CLI main thread CPU when the server costs nothing), E: main thread CPU the encryption adds, C: crypto CPU s above',
    );
    console.log(table(['operation', 'against', 'T s', 'E s', ...ks.map((k) => `k=${k}`)], derived));
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Blobs in a namespace and their bytes (its enumeration). */
async function countBlobs(root: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  let after = '';
  for (;;) {
    const res = await fetch(`${root}/camli/enumerate-blobs?limit=10000${after ? `&after=${after}` : ''}`, { headers: { authorization: AUTHORIZATION } });
    const page = (await res.json()) as { blobs: { size: number }[]; continueAfter?: string };
    count += page.blobs.length;
    for (const b of page.blobs) bytes += b.size;
    if (!page.continueAfter) return { count, bytes };
    after = page.continueAfter;
  }
}

/** age's CPU cost on this thread: per blob (64-byte blobs) and per MB (1 MiB blobs, less the per-blob part). */
async function ageAlone(): Promise<{ seal: { perBlob: number; perMB: number }; open: { perBlob: number; perMB: number } }> {
  const key = await parseKey(await generateX25519Identity());
  const cpuMs = async (fn: () => Promise<unknown>) => {
    const c = process.cpuUsage();
    await fn();
    const d = process.cpuUsage(c);
    return (d.user + d.system) / 1000;
  };
  const tiny = Array.from({ length: 300 }, () => randomBytes(64));
  const big = Array.from({ length: 24 }, () => randomBytes(1 << 20));
  await sealInline(key, tiny[0]!); // warm up: the key's engines, the JIT
  const sealedTiny: Uint8Array[] = [];
  const sealedBig: Uint8Array[] = [];
  const sealTiny = await cpuMs(async () => {
    for (const b of tiny) sealedTiny.push((await sealInline(key, b)).bytes);
  });
  const sealBig = await cpuMs(async () => {
    for (const b of big) sealedBig.push((await sealInline(key, b)).bytes);
  });
  const openTiny = await cpuMs(async () => {
    for (const b of sealedTiny) await openInline(key, b, 'bench');
  });
  const openBig = await cpuMs(async () => {
    for (const b of sealedBig) await openInline(key, b, 'bench');
  });
  const per = (tinyMs: number, bigMs: number) => {
    const perBlob = tinyMs / tiny.length;
    return { perBlob, perMB: (bigMs / big.length - perBlob) / ((1 << 20) / 1e6) };
  };
  return { seal: per(sealTiny, sealBig), open: per(openTiny, openBig) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await encryptBench();
