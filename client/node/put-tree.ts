import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { fileBlobs } from '../chunker.js';
import { compareUtf8 } from '../go-json.js';
import { directorySchema, schemaBlob, commonFields, staticSets, symlinkSchema, type CommonAttributes, type SchemaBlob } from '../schema.js';
import { limiter } from '../limiter.js';
import type { BlobData } from '../blobref.js';
import { groupName, userName } from './owners.js';
import { fileWindows } from './read-file.js';

/**
 * `blobserver put PATH`: a file or a directory tree as Perkeep schema blobs, built the way
 * `pk-put file` builds them (cmd/pk-put/files.go) so that the same tree gives the same refs:
 * entries lstat'ed, files before directories then by name, regular files chunked, symlinks,
 * fifos and sockets as their own schema types, each directory a static-set of its entries.
 * Files are streamed: memory holds one chunk per file plus what the uploader buffers.
 */

/** Where put's blobs go: an Uploader, or an EncryptedStore. */
export interface BlobSink {
  add(blob: BlobData): Promise<void>;
}

export interface PutTreeOptions {
  /** Called as each regular file's bytes are read (for progress). */
  onBytes?: (n: number) => void;
}

/** Files read at once. */
const fileGate = limiter(4);

function attributes(path: string, st: BigIntStats): CommonAttributes {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  return {
    fileName: basename(path),
    permission: Number(st.mode) & 0o777,
    uid,
    owner: userName(uid),
    gid,
    group: groupName(gid),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

/** Uploads PATH (file or directory) and returns the ref pk-put would print for it. */
export async function putPath(path: string, uploader: BlobSink, options: PutTreeOptions = {}): Promise<string> {
  const followed = await stat(path);
  // pk-put names a top-level file by its absolute path's base, a top-level directory by the argument's.
  const full = followed.isDirectory() ? path : resolve(path);
  return putNode(full, await lstat(full, { bigint: true }), uploader, options);
}

async function putNode(path: string, st: BigIntStats, uploader: BlobSink, options: PutTreeOptions): Promise<string> {
  const attrs = attributes(path, st);
  if (st.isFile()) {
    const counted = async function* () {
      for await (const buf of fileWindows(path, Number(st.size))) {
        options.onBytes?.(buf.length);
        yield buf;
      }
    };
    const blobs = fileBlobs(counted(), attrs, { reusesBuffers: false });
    for (let r = await blobs.next(); ; r = await blobs.next()) {
      if (r.done) return r.value.ref;
      await uploader.add(r.value);
    }
  }
  if (st.isDirectory()) {
    const names = await readdir(path);
    const children = await Promise.all(
      names.map(async (name) => {
        const st = await lstat(join(path, name), { bigint: true });
        return { name, st, dir: st.isDirectory() };
      }),
    );
    children.sort((a, b) => Number(a.dir) - Number(b.dir) || compareUtf8(a.name, b.name));
    // Files are read a few at a time (small files are mostly waiting on open/read/close);
    // subdirectories one after another, so a wide tree is never all in flight.
    const files = children.filter((c) => !c.dir);
    const members = await Promise.all(files.map((c) => fileGate(() => putNode(join(path, c.name), c.st, uploader, options))));
    for (const c of children.slice(files.length)) members.push(await putNode(join(path, c.name), c.st, uploader, options));
    const sets = staticSets(members);
    for (const s of sets) await uploader.add(s);
    const dir = directorySchema(attrs, sets[0]!.ref);
    await uploader.add(dir);
    return dir.ref;
  }
  let blob: SchemaBlob;
  if (st.isSymbolicLink()) blob = symlinkSchema(attrs, await readlink(path));
  else if (st.isFIFO()) blob = schemaBlob({ camliVersion: 1, camliType: 'fifo', ...commonFields(attrs) });
  else blob = schemaBlob({ camliVersion: 1, camliType: 'socket', ...commonFields(attrs) });
  await uploader.add(blob);
  return blob.ref;
}
