/**
 * The Node-only parts of the client (`@camli-serverless/blobserver-client/node`): file trees
 * uploaded as pk-put does, schemas restored as files as pk-get does (safely, against any
 * server), and Perkeep's client-config.json.
 */
export { putPath, type BlobSink, type PutTreeOptions } from './put-tree.js';
export { fetchBlob, restorable, restoreSchema } from './restore.js';
export { perkeepConfigPath, resolveServer, type ServerSettings } from './config.js';
export { readKeyFile, writeNewKeyFile } from './key-file.js';
