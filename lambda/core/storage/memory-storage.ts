import { createHash } from 'node:crypto';
import { SHARDS, shardOf, shardsAfter } from './index-schema.js';
import { ROW_WRITE_WINDOW_MS } from '../limits.js';
import type { BlobIndex, BlobRow, BlobStore, ObjectVersion, ObjectVersions, StoredObjectInfo } from './storage-api.js';

/** In-memory BlobIndex and BlobStore with the same contracts, for unit tests and the conformance kit. */

export class MemoryBlobIndex implements BlobIndex {
  readonly rows = new Map<string, BlobRow>();

  async get(refs: readonly string[]): Promise<Map<string, BlobRow>> {
    const out = new Map<string, BlobRow>();
    for (const ref of refs) {
      const row = this.rows.get(ref);
      if (row) out.set(ref, { ...row });
    }
    return out;
  }

  async list(after: string, count: number, within = ''): Promise<BlobRow[]> {
    const shards = new Set(shardsAfter(after));
    return [...this.rows.values()]
      .filter((r) => shards.has(shardOf(r.blobRef)) && r.blobRef > after && r.blobRef.startsWith(within))
      .sort((a, b) => SHARDS.indexOf(shardOf(a.blobRef)) - SHARDS.indexOf(shardOf(b.blobRef)) || (a.blobRef < b.blobRef ? -1 : 1))
      .slice(0, count)
      .map((r) => ({ ...r }));
  }

  async put(rows: readonly BlobRow[], sendBy?: number): Promise<string[]> {
    if (!rows.length) return [];
    const deadline = sendBy ?? Math.min(...rows.map((r) => Date.parse(r.storedAt))) + ROW_WRITE_WINDOW_MS;
    if (Date.now() > deadline) return rows.map((r) => r.blobRef);
    for (const row of rows) this.rows.set(row.blobRef, { ...row });
    return [];
  }

  async deleteIf(ref: string, key: string): Promise<boolean> {
    if (this.rows.get(ref)?.key !== key) return false;
    this.rows.delete(ref);
    return true;
  }

  async replaceIf(row: BlobRow, oldKey: string | null): Promise<boolean> {
    if ((this.rows.get(row.blobRef)?.key ?? null) !== oldKey) return false;
    this.rows.set(row.blobRef, { ...row });
    return true;
  }
}

export class MemoryBlobStore implements BlobStore {
  readonly objects = new Map<string, { bytes: Buffer; lastModified: Date }>();
  /** With `versioned`, what delete() removed, newest last, as a versioned bucket keeps it. */
  readonly noncurrent = new Map<string, (ObjectVersion & { bytes: Buffer })[]>();
  readonly versions: ObjectVersions | undefined;
  private nextVersion = 0;

  constructor({ versioned = false }: { versioned?: boolean } = {}) {
    this.versions = versioned
      ? {
          noncurrent: async (key) =>
            [...(this.noncurrent.get(key) ?? [])].reverse().map(({ versionId, size, lastModified }) => ({ versionId, size, lastModified })),
          read: async (key, versionId) => {
            const v = this.noncurrent.get(key)?.find((x) => x.versionId === versionId);
            return v && Buffer.from(v.bytes);
          },
          restore: async (key, versionId) => {
            const v = this.noncurrent.get(key)?.find((x) => x.versionId === versionId);
            if (!v) throw Object.assign(new Error(`no version ${versionId} of ${key}`), { name: 'NoSuchVersion' });
            this.keepVersion(key);
            this.objects.set(key, { bytes: Buffer.from(v.bytes), lastModified: new Date() });
          },
        }
      : undefined;
  }

  /** A versioned store keeps what is current at `key` as a noncurrent version before it goes. */
  private keepVersion(key: string): void {
    const o = this.objects.get(key);
    if (!this.versions || !o) return;
    const list = this.noncurrent.get(key) ?? [];
    list.push({ versionId: `v${++this.nextVersion}`, size: o.bytes.length, lastModified: o.lastModified, bytes: o.bytes });
    this.noncurrent.set(key, list);
  }

  async create(key: string, body: Buffer): Promise<void> {
    if (this.objects.has(key)) throw Object.assign(new Error(`object ${key} already exists`), { name: 'PreconditionFailed' });
    this.objects.set(key, { bytes: Buffer.from(body), lastModified: new Date() });
  }

  async read(key: string, range?: { offset: number; length: number }): Promise<Buffer | undefined> {
    const o = this.objects.get(key);
    if (!o) return undefined;
    return Buffer.from(range ? o.bytes.subarray(range.offset, range.offset + range.length) : o.bytes);
  }

  async size(key: string): Promise<number | undefined> {
    return this.objects.get(key)?.bytes.length;
  }

  async copy(fromKey: string, toKey: string, ifMatch?: string): Promise<void> {
    const o = this.objects.get(fromKey);
    if (!o) throw Object.assign(new Error(`no object ${fromKey}`), { name: 'NoSuchKey' });
    // S3's ETag of a single-part object: the quoted MD5 of its bytes.
    if (ifMatch !== undefined && ifMatch !== `"${createHash('md5').update(o.bytes).digest('hex')}"`) {
      throw Object.assign(new Error(`${fromKey} is not the version ${ifMatch}`), { name: 'PreconditionFailed' });
    }
    await this.create(toKey, o.bytes);
  }

  async delete(key: string): Promise<void> {
    this.keepVersion(key);
    this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const o = this.objects.get(key);
      if (o) yield { key, size: o.bytes.length, lastModified: o.lastModified };
    }
  }

  async presignedGetUrl(key: string, ttlSeconds: number): Promise<string> {
    return `memory://${key}?ttl=${ttlSeconds}`;
  }

  async presignedRangeUrl(
    key: string,
    range: { offset: number; length: number },
    ttlSeconds: number,
  ): Promise<{ url: string; headers: Record<string, string> }> {
    return { url: `memory://${key}?ttl=${ttlSeconds}`, headers: { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } };
  }

  async signingExpiration(): Promise<Date | undefined> {
    return undefined;
  }
}
