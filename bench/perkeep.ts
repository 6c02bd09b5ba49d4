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

function run(bin: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((ok, fail) => {
    const p = spawn(bin, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.once('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`${bin} ${args.join(' ')}: exit ${code}\n${err.slice(-2000)}`))));
  });
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

export async function perkeepTree(pkPut: string, pkGet: string, small = 2000, large = 20): Promise<PerkeepFigures> {
  return withDataDir(async (dir) => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'small'), { recursive: true });
    await mkdir(join(tree, 'large'), { recursive: true });
    for (let i = 0; i < small; i++) await writeFile(join(tree, 'small', `f${i}`), randomBytes(32 * 1024));
    for (let i = 0; i < large; i++) await writeFile(join(tree, 'large', `f${i}`), randomBytes(3_000_000));
    const server = await startLocalServer({ BLOBSERVER_DATA_DIR: join(dir, 'data'), PORT: '0', BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH });
    try {
      await mkdir(join(dir, 'config'));
      await writeFile(
        join(dir, 'config', 'client-config.json'),
        JSON.stringify({ servers: { bench: { server: server.url, auth: AUTH, default: true } } }),
      );
      const env = (cache: string) => ({ CAMLI_CONFIG_DIR: join(dir, 'config'), HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, cache) });
      const t0 = Date.now();
      const ref = (await run(pkPut, ['file', tree], env('cache-put'))).trim().split('\n').pop()!;
      const putSeconds = (Date.now() - t0) / 1000;
      const out = join(dir, 'out');
      await mkdir(out);
      const t1 = Date.now();
      await run(pkGet, ['-o', out, ref], env('cache-get'));
      const getSeconds = (Date.now() - t1) / 1000;
      const [want, got] = [await treeSize(tree), await treeSize(out)];
      if (want.files !== got.files || want.bytes !== got.bytes) throw new Error(`pk-get rebuilt ${got.files} files / ${got.bytes} bytes of ${want.files} / ${want.bytes}`);
      return { ...want, putSeconds, getSeconds };
    } finally {
      await server.close();
    }
  });
}
