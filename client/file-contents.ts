import type { BlobSource } from './batch-read.js';
import { BlobServerError } from './errors.js';
import { MAX_BLOB_SIZE } from './http-client.js';
import { parseSchema, type BytesPart, type ParsedSchema } from './schema.js';

/**
 * A file's bytes as its schema lists them, read blob by blob and checked against the sizes the
 * schema declares (a server may be hostile: its blobs hash correctly, yet the schema may lie),
 * for restore (node/restore.ts) and the page's download (ui/worker.ts) alike. No Node API.
 */

/** A blob's verified bytes, at most `maxSize` (default 16 MiB); a blob the server does not have is an error (404). */
export async function fetchBlob(client: BlobSource, ref: string, maxSize = MAX_BLOB_SIZE): Promise<Uint8Array> {
  const bytes = await client.get(ref, { maxSize });
  if (!bytes) throw new BlobServerError(`get: the server has no blob ${ref}`, { operation: 'get', blobRefs: [ref], status: 404 });
  return bytes;
}

export const refused = (ref: string, why: string) => new BlobServerError(`get: ${ref} ${why}`, { operation: 'get', blobRefs: [ref] });

export async function fetchSchema(client: BlobSource, ref: string, type: string): Promise<ParsedSchema> {
  const schema = parseSchema(await fetchBlob(client, ref));
  if (schema?.camliType !== type) throw refused(ref, `is not a "${type}" schema blob`);
  return schema;
}

/** The bytes of a part list, each blob checked against the size the schema gives it. */
export async function* contents(client: BlobSource, parts: readonly BytesPart[], ref: string): AsyncGenerator<Uint8Array> {
  if (!Array.isArray(parts)) throw refused(ref, 'has a "parts" that is not a list');
  for (const p of parts) {
    const size = p.size;
    if (!Number.isSafeInteger(size) || size < 0) throw refused(ref, `declares a part of size ${JSON.stringify(size)}`);
    if ('blobRef' in p) {
      if (size > MAX_BLOB_SIZE) throw refused(ref, `declares a ${size}-byte chunk, larger than a blob may be`);
      const bytes = await fetchBlob(client, p.blobRef, size);
      if (bytes.length !== size) throw refused(ref, `declares ${size} bytes for ${p.blobRef}, which has ${bytes.length}`);
      yield bytes;
    } else {
      let n = 0;
      for await (const chunk of contents(client, (await fetchSchema(client, p.bytesRef, 'bytes')).parts ?? [], p.bytesRef)) {
        n += chunk.length;
        if (n > size) throw refused(ref, `declares ${size} bytes for ${p.bytesRef}, which holds more`);
        yield chunk;
      }
      if (n !== size) throw refused(ref, `declares ${size} bytes for ${p.bytesRef}, which holds ${n}`);
    }
  }
}
