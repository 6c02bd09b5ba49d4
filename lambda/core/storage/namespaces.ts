import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { namedNamespace, namespaceNameProblem, ROOT_NAMESPACE, type Namespace } from '../namespace.js';
import { DynamoBlobIndex } from './dynamodb-index.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { bucketKey, namespaceKey, NAMESPACES_PREFIX } from './object-keys.js';
import { s3Folders } from './s3-folders.js';
import { storeForNamespace } from './namespaced-store.js';
import type { BlobIndex, BlobStore } from './storage-api.js';
import type { Logger } from '../telemetry.js';

/**
 * The namespaces a bucket holds, and one namespace's storage as fsck and the collector take it.
 * Namespaces are made by use, with no registry: a named namespace exists once it has an object
 * under `ns/<name>/` (its first blob, or its generation, written by its first discovery).
 */

/**
 * The root namespace, then every named namespace with objects, by name: a delimited listing of
 * `ns/` (one request per 1000 namespaces). s3rver, the local server's S3, leaves out folders whose
 * objects all sit more than one level down, so when that listing is empty and `ns/` is not, the
 * names come from a full listing of `ns/` instead (a laptop's store, never a cloud one).
 */
export async function namespacesIn(s3: S3Client, bucket: string): Promise<Namespace[]> {
  const names = new Set<string>();
  for await (const folder of s3Folders(s3, bucket, NAMESPACES_PREFIX)) names.add(folder.slice(NAMESPACES_PREFIX.length, -1));
  if (names.size === 0) {
    let token: string | undefined;
    do {
      const out: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: NAMESPACES_PREFIX, ContinuationToken: token }));
      for (const o of out.Contents ?? []) {
        const rest = o.Key!.slice(NAMESPACES_PREFIX.length);
        if (rest.includes('/')) names.add(rest.split('/')[0]!);
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
  // Only this server writes under ns/, and only valid names; anything else is not a namespace.
  const named = [...names].filter((n) => namespaceNameProblem(n) === undefined).sort();
  return [ROOT_NAMESPACE, ...named.map(namedNamespace)];
}

export interface NamespaceStorage {
  index: BlobIndex;
  store: BlobStore;
  /** S3's delimited listing of the namespace's `prefix` (fsck's pack days), in the namespace's key spelling. */
  folders: (prefix: string) => AsyncIterable<string>;
}

/** One namespace's rows, objects and folders, over a table and a bucket. */
export function namespaceStorage(
  clients: { ddb: DynamoDBClient; s3: S3Client; table: string; bucket: string; log?: Logger | undefined },
  objects: BlobStore,
  ns: Namespace,
): NamespaceStorage {
  return {
    index: new DynamoBlobIndex(clients.ddb, clients.table, clients.log, ns),
    store: storeForNamespace(objects, ns),
    folders: async function* (prefix) {
      for await (const f of s3Folders(clients.s3, clients.bucket, bucketKey(ns, prefix))) {
        const own = namespaceKey(ns, f);
        if (own !== undefined) yield own;
      }
    },
  };
}
