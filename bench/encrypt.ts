import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServer } from '../local/server.js';
import { median } from './measure.js';
import { makeTree, runTool, TREE } from './perkeep.js';
import { AUTH } from './server.js';
import { fmt, table } from './table.js';

/**
 * `blobserver put --encrypt` and `get --encrypt` of the generated tree against `put`/`get`
 * without, on one local server, interleaved (plain, encrypted, plain, encrypted, ...), each
 * run into fresh namespaces so nothing is deduplicated. Wall time includes process start (and,
 * encrypted, reading the meta). Target: encryption costs at most 15% more, both ways.
 * `npm run bench:encrypt`; BENCH_ENCRYPT_REPS runs per side (default 2); BENCH_ENCRYPT_SCALE
 * shrinks the tree (0.25 = a quarter of the files).
 */

const TARGET = 1.15;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));

export async function encryptBench(): Promise<void> {
  const reps = Number(process.env['BENCH_ENCRYPT_REPS'] || 2);
  const scale = Number(process.env['BENCH_ENCRYPT_SCALE'] || 1);
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
    const env = { BLOBSERVER_URL: server.url, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: join(work, 'no-config') };
    const sides = {
      plain: (i: number) => ['--server', `${server.url}/plain-${i}`],
      encrypted: (i: number) => ['--encrypt', join(work, 'key'), '--encrypted-namespace', `enc-${i}-blobs`, '--meta-namespace', `enc-${i}-meta`],
    };
    const times = { put: { plain: [] as number[], encrypted: [] as number[] }, get: { plain: [] as number[], encrypted: [] as number[] } };
    const timed = async (args: string[]) => {
      const t = performance.now();
      const out = await runTool(process.execPath, [BIN, ...args], env);
      return { ms: performance.now() - t, out };
    };
    for (let i = 0; i < reps; i++) {
      for (const side of ['plain', 'encrypted'] as const) {
        const put = await timed(['put', ...sides[side](i), tree]);
        times.put[side].push(put.ms);
        const out = join(work, `out-${side}-${i}`);
        await mkdir(out);
        const get = await timed(['get', ...sides[side](i), put.out, '-o', out]);
        times.get[side].push(get.ms);
        await rm(out, { recursive: true, force: true });
      }
    }
    console.log(
      `\nEncryption: put and get of ${shape.small.count} x 32 KiB + ${shape.large.count} x 3 MB files (${fmt(bytes / 1e6)} MB), local server, interleaved, median of ${reps} run(s) per side`,
    );
    const rows = (['put', 'get'] as const).map((op) => {
      const p = median(times[op].plain);
      const e = median(times[op].encrypted);
      return [op, fmt(p / 1000, 2), fmt(e / 1000, 2), fmt(e / p, 3), e / p <= TARGET ? 'met' : 'NOT met'];
    });
    console.log(table(['operation', 'plain s', '--encrypt s', 'ratio', `target <= ${TARGET}`], rows));
    console.log(`   runs (s): ${JSON.stringify(times, (_, v) => (typeof v === 'number' ? Math.round(v) / 1000 : v))}`);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await encryptBench();
