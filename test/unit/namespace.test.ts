import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namedNamespace, namespaceNameProblem, RESERVED_NAMESPACE_NAMES, ROOT_NAMESPACE } from '../../lambda/core/namespace.js';
import { partitionValue, SHARDS } from '../../lambda/core/storage/index-schema.js';
import { bucketKey, GENERATION_KEY, namespaceKey } from '../../lambda/core/storage/object-keys.js';
import { ROUTES } from '../../lambda/routes.js';

describe('namespace names, keys and rows (DESIGN §12)', () => {
  it('reserves every literal first segment of the root routes, so no namespace shadows one', () => {
    const firsts = new Set(ROUTES.map((r) => r.path.split('/')[1]!).filter((s) => s && !s.startsWith('{')));
    for (const s of firsts) assert.ok(RESERVED_NAMESPACE_NAMES.has(s), `${s} is a route's first segment but not reserved`);
    for (const s of firsts) assert.match(String(namespaceNameProblem(s)), /reserved/);
  });

  it('takes lowercase DNS-label names only', () => {
    for (const ok of ['a', 'photos', 'enc-meta', '0', 'a'.repeat(63)]) assert.equal(namespaceNameProblem(ok), undefined, ok);
    for (const bad of ['', 'A', 'a_b', '-a', 'a.b', 'a/b', 'é', 'a'.repeat(64), ' a', '%61']) assert.ok(namespaceNameProblem(bad), bad);
  });

  it("maps a namespace's keys under ns/<name>/, staging shared, scratch apart, and back; the root's unchanged", () => {
    const ns = namedNamespace('photos');
    const keys = ['blobs/sha224-ab/123', 'packs/2026-01-02/abc', GENERATION_KEY, 'staging/0123/sha224-ab', 'fsck-runs/run1/pack-rows/x.json'];
    for (const k of keys) assert.equal(bucketKey(ROOT_NAMESPACE, k), k);
    assert.deepEqual(
      keys.map((k) => bucketKey(ns, k)),
      [
        'ns/photos/blobs/sha224-ab/123',
        'ns/photos/packs/2026-01-02/abc',
        'ns/photos/meta/storage-generation.json',
        'staging/0123/sha224-ab',
        'fsck-runs/ns/photos/run1/pack-rows/x.json',
      ],
    );
    for (const k of keys) assert.equal(namespaceKey(ns, bucketKey(ns, k)), k);
    // Another namespace's keys, and the root's, are not this one's.
    assert.equal(namespaceKey(ns, 'ns/photos2/blobs/x'), undefined);
    assert.equal(namespaceKey(ns, 'blobs/x'), undefined);
    assert.equal(namespaceKey(ns, 'fsck-runs/run1/x'), undefined);
  });

  it("keeps each namespace's rows under partition key values no other namespace (or the root) uses", () => {
    const values = (name: string) => SHARDS.map((s) => partitionValue(name ? namedNamespace(name) : ROOT_NAMESPACE, s));
    assert.deepEqual(values(''), [...SHARDS]);
    const all = [...values(''), ...values('sha1'), ...values('sha224'), ...values('a'), ...values('a-b')];
    assert.equal(new Set(all).size, all.length);
  });
});
