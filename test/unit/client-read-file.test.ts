import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileWindows, WINDOW } from '../../client/node/read-file.js';

/** put's file reads: every byte once, in order, in windows of at most WINDOW, each a buffer of its own. */
describe('fileWindows', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'read-file-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const read = async (path: string, sizeHint: number) => {
    const windows: Uint8Array[] = [];
    for await (const w of fileWindows(path, sizeHint)) windows.push(w);
    return windows;
  };

  for (const size of [0, 1, 32 << 10, WINDOW, WINDOW + 1, 2 * WINDOW + 12_345]) {
    it(`a file of ${size} bytes`, async () => {
      const data = randomBytes(size);
      const path = join(dir, `f${size}`);
      await writeFile(path, data);
      const windows = await read(path, size);
      assert.ok(windows.every((w) => w.length > 0 && w.length <= WINDOW));
      assert.equal(new Set(windows.map((w) => w.buffer)).size, windows.length, 'no two windows share a buffer');
      assert.ok(Buffer.concat(windows).equals(data));
    });
  }

  it('a file that shrank since it was listed ends where its bytes end', async () => {
    const path = join(dir, 'shrunk');
    await writeFile(path, randomBytes(100_000));
    await truncate(path, 40_000);
    assert.equal(Buffer.concat(await read(path, 100_000)).length, 40_000);
  });
});
