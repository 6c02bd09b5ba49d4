import { constants } from 'node:fs';
import { lutimes, mkdir, open, symlink, type FileHandle } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { BlobSource } from '../batch-read.js';
import { BlobServerError } from '../errors.js';
import { contents, fetchBlob, fetchSchema, refused } from '../file-contents.js';
import { parseSchema, type ParsedSchema } from '../schema.js';

export { fetchBlob };

/**
 * `blobserver get REF -o DIR`: a `file`, `directory` or `symlink` schema restored as files
 * under DIR (as pk-get does), reading file contents part by part so memory holds one chunk.
 *
 * The server may be hostile (its blobs hash correctly, yet say anything), so restore creates
 * every entry itself and never writes through anything already there: files are opened with
 * O_CREAT|O_EXCL|O_NOFOLLOW, directories made one level at a time (mkdir does not follow a
 * final symlink), a path that exists already, or a name seen twice in one directory, is
 * refused; names must be one path element; modes keep the permission bits only (no
 * setuid/setgid/sticky); every blob is cut off at the size its schema declares, schema blobs at
 * 16 MiB.
 *
 * Through a BatchReader, each directory's member schemas and then their contents are named
 * ahead (prefetch), so they come in batches straight from S3.
 */

/** More entries than a directory of any real tree holds: a bound on what a listing may cost. */
const MAX_DIRECTORY_ENTRIES = 1_000_000;

/** A path short enough for one error line (a deep tree's reaches 4 KB): its start and its end. */
function shortPath(path: string): string {
  return path.length <= 160 ? path : `${path.slice(0, 60)}...${path.slice(-90)}`;
}

/** A file name from a schema must be one path component. */
function safeName(name: string | undefined, ref: string): string {
  if (name === undefined) return ref;
  if (typeof name !== 'string' || !name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw refused(ref, `names an unsafe file name ${JSON.stringify(name)} (not a single path element)`);
  }
  return name;
}

/** The schema's permission bits only: never setuid, setgid or sticky. */
function permission(schema: ParsedSchema): number | undefined {
  if (typeof schema.unixPermission !== 'string' || !/^[0-7]{1,7}$/.test(schema.unixPermission)) return undefined;
  return parseInt(schema.unixPermission, 8) & 0o777;
}

/** The schema's mtime in seconds with their fraction (a Date would drop everything below the millisecond). */
function mtimeSeconds(schema: ParsedSchema): number | undefined {
  if (typeof schema.unixMtime !== 'string') return undefined;
  const m = /^(.*?)(\.\d+)?Z$/.exec(schema.unixMtime);
  const seconds = m ? Date.parse(m[1] + 'Z') / 1000 + Number(m[2] ?? 0) : NaN;
  return Number.isNaN(seconds) ? undefined : seconds;
}

/** Mode and mtime set through the open handle, so no path (and no symlink swapped in) is followed. */
async function setAttributes(handle: FileHandle, schema: ParsedSchema) {
  const mode = permission(schema);
  if (mode !== undefined) await handle.chmod(mode);
  const mtime = mtimeSeconds(schema);
  if (mtime !== undefined) await handle.utimes(mtime, mtime);
}

/** Turns "it is already there" into a refusal that names the path. */
async function creating<T>(path: string, ref: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP')
      throw refused(ref, `would be written at ${shortPath(path)}, which already exists; restore writes nothing over an existing path`);
    throw err;
  }
}

/** A new, empty file at `path`: never one that exists, never through a symlink. */
function createFile(path: string, ref: string): Promise<FileHandle> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  return creating(path, ref, () => open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666));
}

/** Writes a file schema's contents and attributes through `file`, and closes it. */
async function fillFile(client: BlobSource, ref: string, schema: ParsedSchema, file: FileHandle): Promise<void> {
  try {
    for await (const chunk of contents(client, schema.parts ?? [], ref)) await file.write(chunk);
    await setAttributes(file, schema);
  } finally {
    await file.close();
  }
}

/**
 * Restores the schema blob `ref` (already fetched as `schema`) into `dir`; returns the path
 * written. A filesystem failure (a tree deeper than paths may be long: ENAMETOOLONG) is told in
 * one short line: the code, the depth, and the path shortened.
 */
export async function restoreSchema(client: BlobSource, ref: string, schema: ParsedSchema, dir: string): Promise<string> {
  try {
    return await restoreEntry(client, ref, schema, dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof BlobServerError || typeof e?.code !== 'string' || typeof e.path !== 'string') throw err;
    const depth = relative(dir, e.path).split(sep).length;
    throw new BlobServerError(
      `get: cannot restore ${ref}: ${e.code}${e.syscall ? ` (${e.syscall})` : ''} at depth ${depth}, ${shortPath(e.path)} (${e.path.length} characters)`,
      { operation: 'get', blobRefs: [ref], cause: err },
    );
  }
}

async function restoreEntry(client: BlobSource, ref: string, schema: ParsedSchema, dir: string): Promise<string> {
  const path = join(dir, safeName(schema.fileName, ref));
  switch (schema.camliType) {
    case 'file':
      await fillFile(client, ref, schema, await createFile(path, ref));
      return path;
    case 'directory': {
      await creating(path, ref, () => mkdir(path));
      if (schema.entries) {
        const members: string[] = [];
        for await (const member of setMembers(client, schema.entries)) {
          if (members.length >= MAX_DIRECTORY_ENTRIES) throw refused(ref, `lists more than ${MAX_DIRECTORY_ENTRIES} entries`);
          members.push(member);
        }
        client.prefetch?.(members);
        const names = new Set<string>();
        const schemas: ParsedSchema[] = [];
        for (const member of members) {
          const child = parseSchema(await fetchBlob(client, member)) ?? { camliType: 'unknown' };
          const name = safeName(child.fileName, member);
          if (names.has(name)) throw refused(ref, `lists "${name}" twice in one directory`);
          names.add(name);
          schemas.push(child);
        }
        await client.prefetchContents?.(schemas, members);
        await restoreMembers(client, members, schemas, path);
      }
      // Opened without following, so the attributes land on the directory made above.
      const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        await setAttributes(handle, schema);
      } finally {
        await handle.close();
      }
      return path;
    }
    case 'symlink': {
      if (typeof schema.symlinkTarget !== 'string' || schema.symlinkTarget.includes('\0')) throw refused(ref, 'has no usable symlinkTarget');
      await creating(path, ref, () => symlink(schema.symlinkTarget!, path));
      const mtime = mtimeSeconds(schema);
      if (mtime !== undefined) await lutimes(path, mtime, mtime);
      return path;
    }
    default:
      throw refused(ref, `is a "${schema.camliType}" blob, which cannot be restored as a file`);
  }
}

/**
 * A directory's files are created ahead of their contents, up to FILES_OPEN_AHEAD at a time,
 * and filled FILES_AT_ONCE at a time. Creating a file costs about a millisecond on an ordinary
 * disk (and creations in one directory take turns), so a directory of many small files is bound
 * by creations, not bytes: made while the contents are still on their way (prefetched), they
 * cost nothing extra. Subdirectories are restored one at a time, in order, and files are never
 * created ahead past one, so a tree of depth d holds at most FILES_OPEN_AHEAD + d x FILES_AT_ONCE
 * files open.
 */
const FILES_OPEN_AHEAD = 128;
const FILES_AT_ONCE = 8;

/**
 * Restores a directory's members (names already checked) into `dir`. The first failure stops
 * what has not started; what has started finishes (a file created ahead is closed, left
 * empty) before it is reported, so nothing is still being written once `get` has failed.
 */
async function restoreMembers(client: BlobSource, members: readonly string[], schemas: readonly ParsedSchema[], dir: string): Promise<void> {
  let failure: { error: unknown } | undefined;
  const failed = (error: unknown) => {
    failure ??= { error };
  };
  const isFile = (i: number) => schemas[i]!.camliType === 'file';
  // Creations, in member order, at most FILES_OPEN_AHEAD handles open at once, and never past a
  // subdirectory not yet restored: while one is, this level holds only the files being filled.
  const created = new Map<number, Promise<FileHandle>>();
  let nextCreate = 0;
  let position = 0;
  const createAhead = () => {
    while (!failure && nextCreate < members.length && created.size < FILES_OPEN_AHEAD) {
      const i = nextCreate;
      if (i > position && schemas[i]!.camliType === 'directory') break;
      nextCreate++;
      if (!isFile(i)) continue;
      const handle = createNow(i);
      handle.catch(() => undefined); // awaited (and so reported) when its turn comes
      created.set(i, handle);
    }
  };
  const createNow = (i: number) => createFile(join(dir, safeName(schemas[i]!.fileName, members[i]!)), members[i]!);
  const fill = async (i: number) => {
    // Created ahead by now (of the window, only the files being filled come before this one);
    // made here should that ever not hold, never skipped.
    const handle = created.get(i) ?? createNow(i);
    created.set(i, handle);
    try {
      await fillFile(client, members[i]!, schemas[i]!, await handle);
    } finally {
      created.delete(i);
      createAhead();
    }
  };
  const inFlight = new Set<Promise<void>>();
  createAhead();
  for (const [i, member] of members.entries()) {
    if (failure) break;
    position = i;
    if (!isFile(i)) {
      await restoreEntry(client, member, schemas[i]!, dir).then(() => undefined, failed);
      createAhead();
      continue;
    }
    const filling: Promise<void> = fill(i)
      .then(() => undefined, failed)
      .finally(() => inFlight.delete(filling));
    inFlight.add(filling);
    if (inFlight.size >= FILES_AT_ONCE) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  // Files created ahead of a failure: closed, never filled.
  await Promise.all(
    [...created.values()].map((h) =>
      h.then(
        (f) => f.close(),
        () => undefined,
      ),
    ),
  );
  if (failure) throw failure.error;
}

/** Members of a static-set, following its mergeSets. */
async function* setMembers(client: BlobSource, ref: string, seen = new Set<string>()): AsyncGenerator<string> {
  // Each set once: shared mergeSets (a hostile server can nest them exponentially) add nothing new.
  if (seen.has(ref)) return;
  seen.add(ref);
  const set = await fetchSchema(client, ref, 'static-set');
  if (!Array.isArray(set.members ?? []) || !Array.isArray(set.mergeSets ?? [])) throw refused(ref, 'has members or mergeSets that are not lists');
  yield* set.members ?? [];
  for (const sub of set.mergeSets ?? []) yield* setMembers(client, sub, seen);
}

export const restorable = (schema: ParsedSchema | undefined): schema is ParsedSchema =>
  schema !== undefined && ['file', 'directory', 'symlink'].includes(schema.camliType);
