import { lstat, mkdtemp, rename, rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BlobSource } from '../batch-read.js';
import { BlobServerError } from '../errors.js';
import type { ParsedSchema } from '../schema.js';
import { restoreSchema } from './restore.js';

/**
 * restoreSchema into a hidden directory beside the target, renamed into place only once all
 * of it is restored: a refusal midway (a blob that fails decryption or its ref) removes what
 * was written, so no partial file or tree is ever left under its real name.
 */
export async function restoreAtomically(source: BlobSource, ref: string, schema: ParsedSchema, dir: string): Promise<string> {
  const staging = await mkdtemp(join(dir, '.blobserver-get-'));
  try {
    const made = await restoreSchema(source, ref, schema, staging);
    const target = join(dir, basename(made));
    const exists = await lstat(target).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new BlobServerError(`get: ${ref} would be written at ${target}, which already exists; restore writes nothing over an existing path`, {
        operation: 'get',
        blobRefs: [ref],
      });
    await rename(made, target);
    await rmdir(staging);
    return target;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
