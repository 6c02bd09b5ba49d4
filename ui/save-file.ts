/**
 * A download streamed into a file the user picked (the File System Access API's
 * `showSaveFilePicker`, in Chromium browsers), in the worker: piece by piece, so the file is never
 * held in memory. The writable writes to a swap file that becomes the file only on `close()`: a
 * piece refused by the size checks (client/file-contents.ts) aborts it, so the file keeps what it
 * held before (nothing of the download is ever committed), and an empty file the picker made for
 * this download is removed.
 */

/** `remove()` (Chromium 110+, not yet in TypeScript's DOM library). */
type Removable = FileSystemFileHandle & { remove?: () => Promise<void> };

/** Writes `pieces` into `handle`; answers the bytes written. On a failure nothing is committed, and the failure is thrown. */
export async function saveToFile(pieces: AsyncIterable<Uint8Array>, handle: FileSystemFileHandle): Promise<number> {
  // Empty before the download: the picker made it (or there was nothing in it to keep).
  const wasEmpty = await handle.getFile().then(
    (f) => f.size === 0,
    () => false,
  );
  const writable = await handle.createWritable();
  let bytes = 0;
  try {
    for await (const piece of pieces) {
      await writable.write(piece as Uint8Array<ArrayBuffer>);
      bytes += piece.length;
    }
  } catch (err) {
    await writable.abort().catch(() => undefined);
    if (wasEmpty) await (handle as Removable).remove?.().catch(() => undefined);
    throw err;
  }
  await writable.close();
  return bytes;
}
