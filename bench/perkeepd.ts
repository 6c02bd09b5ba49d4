import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startPerkeepd as startConfigured, type Perkeepd } from '../test/support/perkeepd.js';
import { AUTH } from './server.js';

/**
 * perkeepd (PERKEEPD names the binary) as a blob-only server on its filesystem storage under
 * `dir`, on loopback, with the bench's credentials: the reference the restore and put tables
 * compare with (config as in the developers' guide).
 */
export async function startPerkeepd(binary: string, dir: string): Promise<Perkeepd> {
  await mkdir(join(dir, 'blobs'), { recursive: true });
  return startConfigured(binary, dir, {
    auth: AUTH,
    prefixes: {
      '/': { handler: 'root', handlerArgs: { blobRoot: '/bs/', stealth: false } },
      '/bs/': { handler: 'storage-filesystem', handlerArgs: { path: join(dir, 'blobs') } },
    },
    readyWithinMs: 30_000,
  });
}
