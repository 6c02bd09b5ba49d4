import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseUserPass } from '../../lambda/core/config.js';

/**
 * perkeepd (a Perkeep build's binary, PERKEEPD) on loopback with a server config of the caller's:
 * its own HOME under `dir`, the tail of its stderr kept for the error, started when it answers
 * `/?camli.mode=config` with the credentials, stopped by `close` (SIGTERM, then SIGKILL).
 * The test suites (storage-encrypt, support/perkeepd-encrypt.ts) and the benchmarks
 * (storage-filesystem, bench/perkeepd.ts) differ only in `prefixes`.
 */

export interface PerkeepdConfig {
  /** `userpass:USER:PASSWORD`: what perkeepd asks of its clients. */
  auth: string;
  /** The server config's handler prefixes (`/` the root handler, and the storage behind it). */
  prefixes: Record<string, unknown>;
  /** How long it may take to answer (default 60 s: a loaded machine starts Go binaries slowly). */
  readyWithinMs?: number;
}

export interface Perkeepd {
  url: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address() as { port: number };
  await new Promise((ok) => probe.close(ok));
  return port;
}

export async function startPerkeepd(binary: string, dir: string, config: PerkeepdConfig): Promise<Perkeepd> {
  const port = await freePort();
  await mkdir(join(dir, 'home'), { recursive: true });
  const configFile = join(dir, `server-config-${port}.json`);
  await writeFile(configFile, JSON.stringify({ handlerConfig: true, listen: `127.0.0.1:${port}`, https: false, auth: config.auth, prefixes: config.prefixes }));
  const child = spawn(binary, ['-openbrowser=false', `-configfile=${configFile}`], {
    env: { PATH: process.env['PATH'], HOME: join(dir, 'home') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const url = `http://127.0.0.1:${port}`;
  const { username, password } = parseUserPass(config.auth);
  const authorization = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  const close = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const readyWithin = config.readyWithinMs ?? 60_000;
  for (const deadline = Date.now() + readyWithin; ; ) {
    if (child.exitCode !== null) throw new Error(`perkeepd exited (${child.exitCode}): ${log}`);
    const up = await fetch(`${url}/?camli.mode=config`, { headers: { authorization } }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`perkeepd did not answer within ${readyWithin / 1000} s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, close };
}
