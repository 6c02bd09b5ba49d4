import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every directory, symlink and regular file under `dir` (the file's SHA-256), sorted: two
 * trees with equal listings are equal byte for byte (restore checks in tests and the bench).
 */
export async function treeListing(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    if (st.isDirectory()) out.push(`${prefix}${name}/`, ...(await treeListing(path, `${prefix}${name}/`)));
    else if (st.isSymbolicLink()) out.push(`${prefix}${name} -> ${await readlink(path)}`);
    else
      out.push(
        `${prefix}${name} ${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')}`,
      );
  }
  return out;
}
