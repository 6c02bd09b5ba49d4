import { close, open, read } from 'node:fs';

/**
 * A regular file's bytes in a few large reads into fresh buffers (never reused, so the chunker
 * hands out views of them instead of copies): the whole file in one buffer up to WINDOW bytes,
 * else WINDOW at a time. `sizeHint` is the size lstat saw; a read that ends there is taken as
 * the end of the file without one more read to see 0 bytes (as fs.readFile does), and a file
 * that grew since is read on to its end.
 */
export const WINDOW = 8 << 20;

const openFile = (path: string) => new Promise<number>((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
const readInto = (fd: number, buf: Uint8Array, at: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => read(fd, buf, at, length, position, (err, n) => (err ? reject(err) : resolve(n))));

export async function* fileWindows(path: string, sizeHint: number): AsyncGenerator<Uint8Array> {
  const fd = await openFile(path);
  try {
    let pos = 0;
    for (;;) {
      const length = Math.min(WINDOW, sizeHint - pos);
      if (length <= 0) return;
      // Not zero-filled: every byte yielded is read first.
      const buf = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
      let filled = 0;
      while (filled < length) {
        const n = await readInto(fd, buf, filled, length - filled, pos + filled);
        if (n === 0) break;
        filled += n;
      }
      pos += filled;
      if (filled) yield filled === length ? buf : buf.subarray(0, filled);
      if (filled < length) return;
    }
  } finally {
    close(fd, () => undefined);
  }
}
