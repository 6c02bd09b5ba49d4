import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServer } from '../local/server.js';
import { median } from './measure.js';
import { makeTree, perkeepClientEnv, runTool, TREE } from './perkeep.js';
import { AUTH, AUTHORIZATION } from './server.js';
import { fmt, table } from './table.js';

/**
 * `blobserver put` of a generated tree (2,000 files of 32 KiB + 20 files of 3 MB) against the
 * local server, and `pk-put file` of the same tree in the same run when PK_PUT names a pk-put
 * binary. Each tool gets a fresh server (same code and settings, empty storage) per run, behind
 * a proxy that counts HTTP requests. Wall time includes process start. Run alone with
 * `npm run bench:client`; BENCH_CLIENT_REPS sets the runs per tool (default 1).
 */

const TARGET_SPEEDUP = 5;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));

/** A fresh local server behind a request-counting proxy. */
async function countedServer(dir: string) {
  const server = await startLocalServer({
    BLOBSERVER_DATA_DIR: dir,
    PORT: '0',
    BLOBSERVER_HOST: '127.0.0.1',
    BLOBSERVER_AUTH: AUTH,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  const target = new URL(server.url);
  let requests = 0;
  const proxy = createServer((req, res) => {
    requests++;
    const fwd = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    requests: () => requests,
    blobs: async () => {
      let n = 0;
      let after = '';
      for (;;) {
        const page = (await (
          await fetch(`${server.url}/camli/enumerate-blobs?limit=10000&after=${after}`, { headers: { authorization: AUTHORIZATION } })
        ).json()) as { blobs: unknown[]; continueAfter?: string };
        n += page.blobs.length;
        if (!page.continueAfter) return n;
        after = page.continueAfter;
      }
    },
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await server.close();
    },
  };
}

interface ToolRun {
  ms: number;
  ref: string;
  requests: number;
  blobs: number;
}

/** `pkPut`: the pk-put binary to compare with (default PK_PUT); `{}` times `blobserver put` alone. */
export async function clientPutBench({ pkPut }: { pkPut?: string | undefined } = { pkPut: process.env['PK_PUT'] }): Promise<void> {
  const reps = Number(process.env['BENCH_CLIENT_REPS'] || 1);
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-client-'));
  try {
    const tree = join(work, 'tree');
    const bytes = await makeTree(tree);
    const tools: { name: string; run: (url: string, home: string) => Promise<string> }[] = [
      { name: 'blobserver put', run: (url) => runTool(process.execPath, [BIN, 'put', tree], { BLOBSERVER_URL: url, BLOBSERVER_AUTH: AUTH }) },
    ];
    if (pkPut) {
      tools.push({
        name: 'pk-put file',
        run: async (url, home) => runTool(pkPut, ['file', tree], await perkeepClientEnv(home, url)),
      });
    }
    const results = new Map<string, ToolRun[]>(tools.map((t) => [t.name, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const tool of tools) {
        const dir = join(work, `server-${rep}-${results.get(tool.name)!.length}-${tool.name.split(' ')[0]}`);
        const server = await countedServer(dir);
        try {
          const started = performance.now();
          const ref = await tool.run(server.url, join(dir, 'home'));
          const ms = performance.now() - started;
          results.get(tool.name)!.push({ ms, ref, requests: server.requests(), blobs: await server.blobs() });
        } finally {
          await server.close();
        }
      }
    }
    console.log(
      `\n8. put of ${TREE.small.count} x 32 KiB + ${TREE.large.count} x 3 MB files (${fmt(bytes / 1e6)} MB) to a fresh local server per run, median of ${reps} run(s)`,
    );
    const rows = [...results].map(([name, runs]) => {
      const ms = median(runs.map((r) => r.ms));
      const r = runs[0]!;
      return [name, fmt(ms / 1000, 1), fmt(bytes / 1e6 / (ms / 1000), 1), String(r.requests), String(r.blobs), fmt(r.requests / r.blobs, 3), r.ref];
    });
    console.log(table(['tool', 'wall s', 'MB/s', 'requests', 'blobs', 'requests/blob', 'root ref'], rows));
    if (!pkPut) {
      if (!process.env['PK_PUT']) console.log('   (set PK_PUT to a pk-put binary built from Perkeep to compare with pk-put file)');
      return;
    }
    const ours = results.get('blobserver put')!;
    const theirs = results.get('pk-put file')!;
    const speedup = median(theirs.map((r) => r.ms)) / median(ours.map((r) => r.ms));
    const sameRefs = [...ours, ...theirs].every((r) => r.ref === ours[0]!.ref);
    console.log(`   same root ref as pk-put: ${sameRefs ? 'yes' : 'NO'}`);
    console.log(`   target: >= ${TARGET_SPEEDUP}x faster than pk-put file: ${speedup >= TARGET_SPEEDUP ? 'met' : 'NOT met'} (${fmt(speedup, 1)}x)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await clientPutBench();
