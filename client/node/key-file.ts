import { readFile, stat, writeFile } from 'node:fs/promises';
import { EncryptionError, parseKey, type AgeKey } from '../encrypt/format.js';

/**
 * An age X25519 identity file, as perkeepd's `encrypt` storage takes its keyFile: refused
 * when group or others have any permission on it (Perkeep's check: mode & 0077), and it holds
 * exactly one `AGE-SECRET-KEY-1...` line.
 */
export async function readKeyFile(path: string): Promise<AgeKey> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new EncryptionError(`key file ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const perm = st.mode & 0o777;
  if (process.platform !== 'win32' && (perm & 0o077) !== 0) {
    throw new EncryptionError(`key file ${path} permissions are too permissive (${perm.toString(8)}), they should be 600 (chmod 600 ${path})`);
  }
  return parseKey(await readFile(path, 'utf8')).catch((err: Error) => {
    throw new EncryptionError(`key file ${path}: ${err.message}`);
  });
}

/** Makes a new key file (mode 600; never over an existing file); returns its public recipient. */
export async function writeNewKeyFile(path: string): Promise<string> {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  await writeFile(path, identity + '\n', { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new EncryptionError(`key file ${path}: ${err.code === 'EEXIST' ? 'exists already (not overwritten)' : err.message}`);
  });
  return identityToRecipient(identity);
}
