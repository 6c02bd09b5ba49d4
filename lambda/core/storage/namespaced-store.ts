import type { Namespace } from '../namespace.js';
import { bucketKey, namespaceKey } from './object-keys.js';
import type { BlobStore, ObjectVersions, StoredObjectInfo } from './storage-api.js';

/**
 * One namespace's view of the bucket: every key goes through bucketKey (object-keys.ts), so the
 * code above (BlobStorage, fsck) names keys as it always did and can only ever reach this
 * namespace's objects (and the shared staging area, by a random id its token names).
 */
export class NamespacedBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    readonly namespace: Namespace,
  ) {
    if (!namespace.name) throw new Error('the root namespace uses the bucket as it is');
    const versions = inner.versions;
    // The recovery window of this namespace's keys only (fsck restores per namespace).
    this.versions = versions && {
      noncurrent: (key) => versions.noncurrent(this.at(key)),
      read: (key, versionId) => versions.read(this.at(key), versionId),
      restore: (key, versionId) => versions.restore(this.at(key), versionId),
    };
  }

  readonly versions: ObjectVersions | undefined;

  private at(key: string): string {
    return bucketKey(this.namespace, key);
  }

  create(key: string, body: Buffer): Promise<void> {
    return this.inner.create(this.at(key), body);
  }

  read(key: string, range?: { offset: number; length: number }): Promise<Buffer | undefined> {
    return this.inner.read(this.at(key), range);
  }

  size(key: string): Promise<number | undefined> {
    return this.inner.size(this.at(key));
  }

  copy(fromKey: string, toKey: string, ifMatch?: string): Promise<void> {
    return this.inner.copy(this.at(fromKey), this.at(toKey), ifMatch);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(this.at(key));
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    for await (const o of this.inner.list(this.at(prefix))) {
      const key = namespaceKey(this.namespace, o.key);
      if (key !== undefined) yield { ...o, key };
    }
  }

  presignedGetUrl(key: string, ttlSeconds: number): Promise<string> {
    return this.inner.presignedGetUrl(this.at(key), ttlSeconds);
  }

  presignedRangeUrl(key: string, range: { offset: number; length: number }, ttlSeconds: number) {
    return this.inner.presignedRangeUrl(this.at(key), range, ttlSeconds);
  }

  signingExpiration(): Promise<Date | undefined> {
    return this.inner.signingExpiration();
  }
}

/** The namespace's store: the bucket's own for the root namespace, unchanged. */
export function storeForNamespace(inner: BlobStore, ns: Namespace): BlobStore {
  return ns.name ? new NamespacedBlobStore(inner, ns) : inner;
}
