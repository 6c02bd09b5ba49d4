import { readFile, stat } from 'node:fs/promises';
import type { KeySource } from '../config.js';
import type { SecretReader } from './secrets.js';
import { keyringOf, type Keyring, type TokenFailure } from './tokens.js';

/**
 * Where the upload-URL signing keys come from.
 *
 * - Cloud: a Secrets Manager secret whose value is the key. Rotating it (a new AWSCURRENT)
 *   keeps the old value as AWSPREVIOUS, which still verifies the URLs it signed.
 * - Local: a JSON file `{"keys": ["<base64>", ...]}`, newest first, that the local server
 *   generates under its data directory.
 */
export type KeyringLoader = (opts?: { refresh?: boolean }) => Promise<Keyring>;

/**
 * Least time between two forced reloads of the secret. A forced reload is asked for by any
 * request whose URL names a key id we do not know, which anyone can send, so it must not
 * cost a Secrets Manager read per request; a real rotation is seen at most this much later.
 */
export const MIN_FORCED_RELOAD_SECONDS = 60;

export interface KeyringLoaderOptions {
  minForcedReloadSeconds?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export function keyringLoader(source: KeySource, secrets: Pick<SecretReader, 'read'>, opts: KeyringLoaderOptions = {}): KeyringLoader {
  if (source.kind === 'file') {
    // `npm run rotate-key` replaces the file while the server runs: notice it (a stat per
    // call is cheap), so new URLs are signed with the new key at once. A forced reload adds
    // nothing to that stat, so the file is read only when it changed.
    let cached: { keyring: Keyring; version: string } | undefined;
    return async () => {
      const s = await stat(source.path);
      const version = `${s.ino}:${s.mtimeMs}:${s.size}`;
      if (!cached || cached.version !== version) cached = { keyring: await readKeyFile(source.path), version };
      return cached.keyring;
    };
  }
  const minGapMs = (opts.minForcedReloadSeconds ?? MIN_FORCED_RELOAD_SECONDS) * 1000;
  const now = opts.now ?? Date.now;
  let lastForced = -Infinity;
  return async ({ refresh = false } = {}) => {
    // Honour a forced reload at most once per interval, whatever the traffic.
    const force = refresh && now() - lastForced >= minGapMs;
    if (force) lastForced = now();
    const [current, previous] = await Promise.all([secrets.read(source.secretId, 'AWSCURRENT', force), secrets.read(source.secretId, 'AWSPREVIOUS', force)]);
    if (!current) throw new Error('signing key secret has no AWSCURRENT value');
    return keyringOf([current, previous].filter((s): s is string => !!s).map((s) => Buffer.from(s, 'utf8')));
  };
}

async function readKeyFile(path: string): Promise<Keyring> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(parsed.keys) || parsed.keys.some((k) => typeof k !== 'string')) {
    throw new Error(`${path}: expected {"keys": ["<base64>", ...]}`);
  }
  return keyringOf((parsed.keys as string[]).map((k) => Buffer.from(k, 'base64')));
}

/**
 * Runs `verify` with the cached keys, and once more with reloaded ones when the token names a
 * key id we do not know: it may come from a rotation newer than our cache. The loader
 * rate-limits such reloads, so unknown ids from anonymous callers cannot multiply reads.
 */
export async function verifyWithKeyReload<C extends { ok: true } | TokenFailure>(keyring: KeyringLoader, verify: (keys: Keyring) => C): Promise<C> {
  const check = verify(await keyring());
  return !check.ok && (check as TokenFailure).reason === 'unknown-key' ? verify(await keyring({ refresh: true })) : check;
}
