/**
 * The blob server's TypeScript client: HTTP only (fetch), Node 20+ and browsers.
 * Node-only helpers (file trees, restore, Perkeep's client-config.json) are in ./node/.
 */
export {
  BlobServerClient,
  authorizationHeader,
  MAX_REFS_PER_REQUEST,
  type ClientOptions,
  type SizedRef,
  type UploadForm,
  type UploadTarget,
} from './http-client.js';
export { BatchReader, type BatchReaderOptions, type BlobSource } from './batch-read.js';
export { Uploader, type UploaderOptions, type UploadStats } from './uploader.js';
export { BlobServerError, type Operation } from './errors.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { fileBlobs, MAX_CHUNK_SIZE } from './chunker.js';
export { blobRefOf, createHasher, hashImplementation, type HashName } from './hash.js';
export { isBlobRef, verifies, type BlobData } from './blobref.js';
export {
  bytesSchema,
  directorySchema,
  fileSchema,
  parseSchema,
  schemaBlob,
  staticSets,
  symlinkSchema,
  type BytesPart,
  type CommonAttributes,
  type ParsedSchema,
  type SchemaBlob,
} from './schema.js';
export { EncryptedStore, EncryptedWriter, FULL_META_ENTRIES, type EncryptedStoreOptions, type EncryptedWriterOptions } from './encrypt/encrypted-store.js';
export { AgePool, ageWork, ageWorkersWanted } from './encrypt/age-pool.js';
export { inlineAgeWork, type AgeWork, type Sealed, type Opened } from './encrypt/age-work.js';
export {
  decryptBlob,
  encryptBlob,
  EncryptionError,
  formatMeta,
  parseKey,
  parseMeta,
  META_HEADER,
  type AgeKey,
  type MetaEntry,
} from './encrypt/format.js';
export { fetchUsage, setQuota, type NamespaceUsage, type QuotaChange } from './admin/admin-client.js';
