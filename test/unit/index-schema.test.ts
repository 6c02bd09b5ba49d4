import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SHARDS, shardOf, shardsAfter } from '../../lambda/core/storage/index-schema.js';

/** Range shards: walking SHARDS in order, each by sort key, must be blobref order, from any `after`. */
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const ref = fc.oneof(
  hex(40).map((d) => `sha1-${d}`),
  hex(56).map((d) => `sha224-${d}`),
);

describe('index schema: range shards', () => {
  it('32 shards, sorted, each a prefix of the refs it holds', () => {
    assert.equal(SHARDS.length, 32);
    assert.deepEqual([...SHARDS].sort(), SHARDS);
    assert.equal(shardOf(`sha224-a${'0'.repeat(55)}`), 'sha224-a');
    assert.equal(shardOf(`sha1-0${'f'.repeat(39)}`), 'sha1-0');
    fc.assert(fc.property(ref, (r) => SHARDS.includes(shardOf(r)) && r.startsWith(shardOf(r))));
  });

  it('shard order agrees with blobref order', () => {
    fc.assert(
      fc.property(ref, ref, (a, b) => {
        if (a < b) assert.ok(SHARDS.indexOf(shardOf(a)) <= SHARDS.indexOf(shardOf(b)), `${a} < ${b}`);
      }),
    );
  });

  it('shardsAfter(after) keeps every shard holding a ref greater than after, in order, for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          ref,
          fc.string(),
          ref.map((r) => r.slice(0, 7)),
        ),
        fc.array(ref, { maxLength: 30 }),
        (after, refs) => {
          const kept = shardsAfter(after);
          assert.deepEqual(
            kept,
            SHARDS.filter((s) => kept.includes(s)),
            'out of order',
          );
          for (const r of refs) if (r > after) assert.ok(kept.includes(shardOf(r)), `${r} > ${JSON.stringify(after)} but its shard is skipped`);
        },
      ),
    );
  });
});
