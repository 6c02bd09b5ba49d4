import { open, mkdir, symlink, chmod, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServerError } from '../errors.js';
import type { BlobSource } from '../batch-read.js';
import { parseSchema, type BytesPart, type ParsedSchema } from '../schema.js';

/**
 * `blobserver get REF -o DIR`: a `file`, `directory` or `symlink` schema restored as files
 * under DIR (as pk-get does), reading file contents part by part so memory holds one chunk.
 * Through a BatchReader, each directory's member schemas and then their contents are named
 * ahead (prefetch), so they come in batches straight from S3.
 */

/** A blob's verified bytes; a blob the server does not have is an error (404). */
export async function fetchBlob(client: BlobSource, ref: string): Promise<Uint8Array> {
  const bytes = await client.get(ref);
  if (!bytes) throw new BlobServerError(`get: the server has no blob ${ref}`, { operation: 'get', blobRefs: [ref], status: 404 });
  return bytes;
}

async function fetchSchema(client: BlobSource, ref: string, type: string): Promise<ParsedSchema> {
  const schema = parseSchema(await fetchBlob(client, ref));
  if (schema?.camliType !== type) throw new BlobServerError(`get: ${ref} is not a "${type}" schema blob`, { operation: 'get', blobRefs: [ref] });
  return schema;
}

/** A file name from a schema must be one path component. */
function safeName(name: string | undefined, ref: string): string {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    if (name === undefined) return ref;
    throw new BlobServerError(`get: ${ref} names an unsafe file name ${JSON.stringify(name)}`, { operation: 'get', blobRefs: [ref] });
  }
  return name;
}

async function* contents(client: BlobSource, parts: readonly BytesPart[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    if ('blobRef' in p) yield fetchBlob(client, p.blobRef);
    else yield* contents(client, (await fetchSchema(client, p.bytesRef, 'bytes')).parts ?? []);
  }
}

async function setAttributes(path: string, schema: ParsedSchema) {
  if (schema.unixPermission) await chmod(path, parseInt(schema.unixPermission, 8) & 0o7777);
  if (schema.unixMtime) {
    // Seconds with their fraction: a Date would drop everything below the millisecond.
    const m = /^(.*?)(\.\d+)?Z$/.exec(schema.unixMtime);
    const seconds = m ? Date.parse(m[1] + 'Z') / 1000 + Number(m[2] ?? 0) : NaN;
    if (!Number.isNaN(seconds)) await utimes(path, seconds, seconds);
  }
}

/** Restores the schema blob `ref` (already fetched as `schema`) into `dir`; returns the path written. */
export async function restoreSchema(client: BlobSource, ref: string, schema: ParsedSchema, dir: string): Promise<string> {
  const path = join(dir, safeName(schema.fileName, ref));
  switch (schema.camliType) {
    case 'file': {
      const file = await open(path, 'w');
      try {
        for await (const chunk of contents(client, schema.parts ?? [])) await file.write(chunk);
      } finally {
        await file.close();
      }
      await setAttributes(path, schema);
      return path;
    }
    case 'directory': {
      await mkdir(path, { recursive: true });
      if (schema.entries) {
        const members: string[] = [];
        for await (const member of setMembers(client, schema.entries)) members.push(member);
        client.prefetch?.(members);
        const schemas: ParsedSchema[] = [];
        for (const member of members) schemas.push(parseSchema(await fetchBlob(client, member)) ?? { camliType: 'unknown' });
        await client.prefetchContents?.(schemas, members);
        for (const [i, member] of members.entries()) await restoreSchema(client, member, schemas[i], path);
      }
      await setAttributes(path, schema);
      return path;
    }
    case 'symlink':
      await symlink(schema.symlinkTarget ?? '', path);
      return path;
    default:
      throw new BlobServerError(`get: ${ref} is a "${schema.camliType}" blob, which cannot be restored as a file`, { operation: 'get', blobRefs: [ref] });
  }
}

/** Members of a static-set, following its mergeSets. */
async function* setMembers(client: BlobSource, ref: string): AsyncGenerator<string> {
  const set = await fetchSchema(client, ref, 'static-set');
  yield* set.members ?? [];
  for (const sub of set.mergeSets ?? []) yield* setMembers(client, sub);
}

export const restorable = (schema: ParsedSchema | undefined): schema is ParsedSchema =>
  schema !== undefined && ['file', 'directory', 'symlink'].includes(schema.camliType);
