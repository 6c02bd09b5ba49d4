import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { coalesce, rangeHeader, readSpans, splitInline, type PlacedRow } from '../../lambda/core/read/read-plan.js';

/**
 * The batch locate plan (DESIGN §9): a run handed to a client as a signed range must hold
 * exactly blobs that were asked for and still have rows, end to end.
 */

type Fate = 'wanted' | 'other' | 'removed';
interface Laid {
  ref: string;
  key: string;
  offset: number;
  size: number;
  fate: Fate;
}

/** Objects holding blobs end to end; each blob asked for (with a row), not asked for, or removed (asked for, no row). */
const world = fc
  .array(
    fc.array(fc.record({ size: fc.nat({ max: 120 }), fate: fc.constantFrom<Fate>('wanted', 'wanted', 'other', 'removed') }), { minLength: 1, maxLength: 12 }),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .map((objects) => {
    const laid: Laid[] = [];
    objects.forEach((blobs, k) => {
      let offset = 0;
      blobs.forEach((b, i) => {
        laid.push({ ref: `sha224-${k}-${i}`, key: `packs/${k}`, offset, size: b.size, fate: b.fate });
        offset += b.size;
      });
    });
    return laid;
  });

const rowOf = (b: Laid): PlacedRow => ({ blobRef: b.ref, size: b.size, key: b.key, offset: b.offset });

describe('coalesce', () => {
  it('covers every asked-for stored blob exactly once, end to end, and no byte of any other blob', () => {
    fc.assert(
      fc.property(world, fc.integer({ min: 1, max: 400 }), fc.boolean(), (laid, maxRun, repeat) => {
        const wanted = laid.filter((b) => b.fate === 'wanted');
        // Rows in any order, possibly repeated (a client may name a ref twice).
        const rows = [...wanted].reverse().map(rowOf);
        const runs = coalesce(repeat ? [...rows, ...rows] : rows, maxRun);
        const seen = new Map<string, number>();
        for (const run of runs) {
          let at = 0;
          for (const b of run.blobs) {
            const blob = laid.find((l) => l.ref === b.blobRef)!;
            assert.equal(blob.fate, 'wanted');
            assert.equal(blob.key, run.key);
            assert.equal(b.offset, at, 'blobs lie end to end within the run');
            assert.equal(run.start + b.offset, blob.offset, "the run offset is the blob's place in its object");
            assert.equal(b.size, blob.size);
            at += b.size;
            seen.set(b.blobRef, (seen.get(b.blobRef) ?? 0) + 1);
          }
          assert.equal(at, run.length, 'a run is exactly its blobs');
          assert.ok(run.length <= maxRun || run.blobs.length === 1, 'runs stop growing at maxRun');
          for (const other of laid.filter((l) => l.fate !== 'wanted' && l.key === run.key && l.size > 0)) {
            const overlap = Math.min(run.start + run.length, other.offset + other.size) - Math.max(run.start, other.offset);
            assert.ok(overlap <= 0, `run [${run.start}, +${run.length}) covers bytes of ${other.fate} blob ${other.ref}`);
          }
        }
        assert.deepEqual([...seen.keys()].sort(), wanted.map((b) => b.ref).sort());
        assert.ok(
          [...seen.values()].every((n) => n === 1),
          'each blob in exactly one run',
        );
      }),
    );
  });

  it('merges neighbours into one run and splits at a gap', () => {
    const runs = coalesce(
      [
        { blobRef: 'a', size: 10, key: 'p', offset: 0 },
        { blobRef: 'b', size: 5, key: 'p', offset: 10 },
        { blobRef: 'd', size: 5, key: 'p', offset: 20 },
        { blobRef: 'x', size: 7, key: 'blobs/x/1' },
      ],
      1 << 20,
    );
    assert.deepEqual(
      runs.map((r) => [r.key, r.start, r.length, r.blobs.map((b) => `${b.blobRef}@${b.offset}`).join(',')]),
      [
        ['blobs/x/1', 0, 7, 'x@0'],
        ['p', 0, 15, 'a@0,b@10'],
        ['p', 20, 5, 'd@0'],
      ],
    );
    assert.equal(rangeHeader(runs[1]!), 'bytes=0-14');
  });
});

describe('splitInline and readSpans', () => {
  it('puts every run in exactly one place, inline within budget, and each inline run inside one read of its object', () => {
    fc.assert(
      fc.property(world, fc.nat({ max: 200 }), fc.nat({ max: 600 }), fc.nat({ max: 100 }), (laid, maxInlineRun, inlineBudget, maxGap) => {
        const runs = coalesce(laid.filter((b) => b.fate === 'wanted').map(rowOf), 150);
        const { direct, inline, deferred } = splitInline(runs, { maxInlineRun, inlineBudget });
        assert.equal(direct.length + inline.length + deferred.length, runs.length);
        assert.deepEqual(new Set([...direct, ...inline, ...deferred]).size, runs.length);
        assert.ok(direct.every((r) => r.length > maxInlineRun));
        assert.ok([...inline, ...deferred].every((r) => r.length <= maxInlineRun));
        assert.ok(inline.reduce((n, r) => n + r.length, 0) <= inlineBudget);
        const spans = readSpans(inline, maxGap);
        for (const run of inline) {
          const holding = spans.filter((s) => s.runs.includes(run));
          assert.equal(holding.length, 1);
          const [s] = holding;
          assert.ok(s);
          assert.equal(s.key, run.key);
          assert.ok(s.start <= run.start && run.start + run.length <= s.start + s.length);
        }
      }),
    );
  });
});
