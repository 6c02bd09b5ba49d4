import { readFile, stat } from 'node:fs/promises';
import type { KeySource } from './config.js';
import type { SecretReader } from './secrets.js';
import { keyringOf, type Keyring } from './tokens.js';

/**
 * Where the upload-URL signing keys come from.
 *
 * - Cloud: a Secrets Manager secret whose value is the key. Rotating it (a new AWSCURRENT)
 *   keeps the old value as AWSPREVIOUS, which still verifies the URLs it signed.
 * - Local: a JSON file `{"keys": ["<base64>", ...]}`, newest first, that the local server
 *   generates under its data directory.
 */
export type KeyringLoader = (opts?: { refresh?: boolean }) => Promise<Keyring>;

export function keyringLoader(source: KeySource, secrets: SecretReader): KeyringLoader {
  if (source.kind === 'file') {
    // `npm run rotate-key` replaces the file while the server runs: notice it (a stat per
    // call is cheap), so new URLs are signed with the new key at once.
    let cached: { keyring: Keyring; version: string } | undefined;
    return async ({ refresh = false } = {}) => {
      const s = await stat(source.path);
      const version = `${s.ino}:${s.mtimeMs}:${s.size}`;
      if (!cached || refresh || cached.version !== version) cached = { keyring: await readKeyFile(source.path), version };
      return cached.keyring;
    };
  }
  return async ({ refresh = false } = {}) => {
    const [current, previous] = await Promise.all([
      secrets.read(source.secretId, 'AWSCURRENT', refresh),
      secrets.read(source.secretId, 'AWSPREVIOUS', refresh),
    ]);
    if (!current) throw new Error('signing key secret has no AWSCURRENT value');
    return keyringOf([current, previous].filter((s): s is string => !!s).map((s) => Buffer.from(s, 'utf8')));
  };
}

export async function readKeyFile(path: string): Promise<Keyring> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(parsed.keys) || parsed.keys.some((k) => typeof k !== 'string')) {
    throw new Error(`${path}: expected {"keys": ["<base64>", ...]}`);
  }
  return keyringOf((parsed.keys as string[]).map((k) => Buffer.from(k, 'base64')));
}
