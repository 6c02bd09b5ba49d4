import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The local server's upload-URL signing keys: generated on first start under the data
 * directory (never in the repo), `{"keys": [current, previous]}` as base64.
 */
const KEYS_KEPT = 2;

async function writeKeys(path: string, keys: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

async function readKeys(path: string): Promise<string[] | undefined> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { keys: string[] }).keys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function ensureKeyFile(path: string): Promise<void> {
  if (!(await readKeys(path))) await writeKeys(path, [randomBytes(32).toString('base64')]);
}

/** Makes a new current key; the old current stays as previous so its URLs keep working until they expire. */
export async function rotateKeyFile(path: string): Promise<void> {
  const keys = (await readKeys(path)) ?? [];
  await writeKeys(path, [randomBytes(32).toString('base64'), ...keys].slice(0, KEYS_KEPT));
}
