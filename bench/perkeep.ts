import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalServer } from '../local/server.js';
import { AUTH, withDataDir } from './server.js';

/**
 * Perkeep's own clients against the local server (on its embedded emulators), when PK_PUT and
 * PK_GET name the binaries: `pk-put file` of a tree of 2,000 x 32 KiB + 20 x 3 MB files, then
 * `pk-get -o` of it with an empty client cache. Wall-clock seconds of each.
 */

export interface PerkeepFigures {
  files: number;
  bytes: number;
  putSeconds: number;
  getSeconds: number;
}

/** The tree the issues measure with: 2,000 files of 32 KiB and 20 files of 3 MB, random bytes. */
export const TREE = { small: { count: 2000, size: 32 * 1024 }, large: { count: 20, size: 3_000_000 } };

/** Writes TREE (or another shape) under `root`; answers its size in bytes. */
export async function makeTree(root: string, shape: typeof TREE = TREE): Promise<number> {
  await mkdir(join(root, 'small'), { recursive: true });
  await mkdir(join(root, 'large'), { recursive: true });
  for (let i = 0; i < shape.small.count; i++) await writeFile(join(root, 'small', `f${String(i).padStart(4, '0')}`), randomBytes(shape.small.size));
  for (let i = 0; i < shape.large.count; i++) await writeFile(join(root, 'large', `big${i}`), randomBytes(shape.large.size));
  return shape.small.count * shape.small.size + shape.large.count * shape.large.size;
}

/** Runs a client to completion; answers the last line it printed (pk-put's and blobserver's root ref). */
export function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop()!.trim()) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${err.slice(-2000)}`)),
    );
  });
}

/**
 * The environment of a Perkeep client run against `url`: its own HOME, client-config.json and
 * caches under `home`, so no earlier run's have-cache can answer for the server; `others` are
 * more named servers (pk sync's --src/--dest), all with Basic `auth` (`userpass:ID:SECRET`).
 */
export async function perkeepClientEnv(home: string, url: string, auth = AUTH, others: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  await mkdir(join(home, 'config'), { recursive: true });
  const servers = {
    lane: { server: url, auth, default: true },
    ...Object.fromEntries(Object.entries(others).map(([name, server]) => [name, { server, auth }])),
  };
  await writeFile(join(home, 'config', 'client-config.json'), JSON.stringify({ servers }));
  return { HOME: home, CAMLI_CONFIG_DIR: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
}

async function treeSize(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += (await stat(join(e.parentPath, e.name))).size;
  }
  return { files, bytes };
}

export async function perkeepTree(pkPut: string, pkGet: string): Promise<PerkeepFigures> {
  return withDataDir(async (dir) => {
    const tree = join(dir, 'tree');
    await makeTree(tree);
    const server = await startLocalServer({ BLOBSERVER_DATA_DIR: join(dir, 'data'), PORT: '0', BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH });
    try {
      const t0 = Date.now();
      const ref = await runTool(pkPut, ['file', tree], await perkeepClientEnv(join(dir, 'put'), server.url));
      const putSeconds = (Date.now() - t0) / 1000;
      const out = join(dir, 'out');
      await mkdir(out);
      // Another HOME: pk-get starts with an empty client cache.
      const getEnv = await perkeepClientEnv(join(dir, 'get'), server.url);
      const t1 = Date.now();
      await runTool(pkGet, ['-o', out, ref], getEnv);
      const getSeconds = (Date.now() - t1) / 1000;
      const [want, got] = [await treeSize(tree), await treeSize(out)];
      if (want.files !== got.files || want.bytes !== got.bytes)
        throw new Error(`pk-get rebuilt ${got.files} files / ${got.bytes} bytes of ${want.files} / ${want.bytes}`);
      return { ...want, putSeconds, getSeconds };
    } finally {
      await server.close();
    }
  });
}
