import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseUserPass } from '../lambda/core/config.js';
import { AUTH } from './server.js';

/**
 * perkeepd (PERKEEPD names the binary) as a blob-only server on its filesystem storage under
 * `dir`, on loopback, with the bench's credentials: the reference the restore and put tables
 * compare with (config as in the developers' guide).
 */

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address() as { port: number };
  await new Promise((ok) => probe.close(ok));
  return port;
}

export async function startPerkeepd(binary: string, dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  await mkdir(join(dir, 'blobs'), { recursive: true });
  await mkdir(join(dir, 'home'), { recursive: true });
  const config = join(dir, 'server-config.json');
  await writeFile(
    config,
    JSON.stringify({
      handlerConfig: true,
      listen: `127.0.0.1:${port}`,
      https: false,
      auth: AUTH,
      prefixes: {
        '/': { handler: 'root', handlerArgs: { blobRoot: '/bs/', stealth: false } },
        '/bs/': { handler: 'storage-filesystem', handlerArgs: { path: join(dir, 'blobs') } },
      },
    }),
  );
  const child = spawn(binary, ['-openbrowser=false', `-configfile=${config}`], {
    env: { PATH: process.env['PATH'], HOME: join(dir, 'home') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const url = `http://127.0.0.1:${port}`;
  const { username, password } = parseUserPass(AUTH);
  const authorization = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`perkeepd exited (${child.exitCode}): ${log}`);
    const up = await fetch(`${url}/?camli.mode=config`, { headers: { authorization } }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`perkeepd did not answer within 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    close: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
