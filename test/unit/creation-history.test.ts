import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CreationHistory, type LockMark } from '../../lambda/core/storage/creation-history.js';

/**
 * creation-history.ts decides which rows a holder of the row-creation lock reads again. Its
 * safety: every ref whose row a holder wrote after a mark is among those read again. Its use:
 * when every take since the mark was this process's, only the refs its holders wrote are.
 */

const REFS = ['a', 'b', 'c', 'd', 'e', 'f'];

/** One step of a namespace's history, as the lock item and this process see it. */
type Step =
  | { kind: 'take'; ours: boolean; writes: string[] }
  /** A read of rows by this process: it takes a mark first (its own, or the item as it is). */
  | { kind: 'read' }
  /** Something made the lock item anew (a new life: a new birth, counts from 1). */
  | { kind: 'reborn' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('take' as const), ours: fc.boolean(), writes: fc.subarray(REFS) }),
  fc.constant({ kind: 'read' as const }),
  fc.constant({ kind: 'reborn' as const }),
);

interface Take {
  birth: string;
  count: number;
  ours: boolean;
  writes: string[];
}

/** Plays `steps`; at each own take, checks every earlier read's mark against what was written since. */
function play(steps: Step[], remembered: number): { checks: number; spared: number } {
  const history = new CreationHistory(remembered);
  let birth = 'life-0';
  let count = 0;
  let lives = 0;
  const takes: Take[] = [];
  const reads: { mark: LockMark | undefined; after: number }[] = [];
  let checks = 0;
  let spared = 0;
  for (const s of steps) {
    if (s.kind === 'reborn') {
      birth = `life-${++lives}`;
      count = 0;
    } else if (s.kind === 'read') {
      // Before this process's first take, the item as it was when first read (let go by its last holder).
      const mark = history.mark() ?? history.observed({ birth, from: count + 1 });
      reads.push({ mark, after: takes.length });
    } else {
      count++;
      const take = { birth, count, ours: s.ours, writes: s.writes };
      if (s.ours) {
        const writes = history.taken(birth, count);
        for (const read of reads) {
          // What holders wrote after the read's mark: every take since the read (and, for an
          // own mark, the holder it names, which may have been writing during the read).
          const since = takes.slice(read.after);
          const named = read.mark && takes.find((t) => t.ours && t.birth === read.mark!.birth && t.count === read.mark!.from);
          const wrote = new Set([...since, ...(named ? [named] : [])].flatMap((t) => t.writes));
          const again = new Set(history.mayHaveRows(REFS, read.mark, birth, count));
          for (const ref of wrote) assert.ok(again.has(ref), `${ref} was written after the mark ${JSON.stringify(read.mark)} but is not read again`);
          checks++;
          if (again.size < REFS.length) spared++;
        }
        for (const ref of s.writes) writes.add(ref);
      }
      takes.push(take);
    }
  }
  return { checks, spared };
}

describe('creation history: which rows a holder reads again', () => {
  it('every ref written after a mark is read again, whoever wrote it and however the lock was remade', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (steps, remembered) => {
        play(steps, remembered);
      }),
      { numRuns: 2000 },
    );
  });

  it('when only this process took the lock since the read, only what its holders wrote is read again', () => {
    const history = new CreationHistory();
    assert.equal(history.mark(), undefined);
    const first = history.taken('life', 5);
    first.add('a');
    const mark = history.mark();
    assert.deepEqual(mark, { birth: 'life', from: 5 });
    history.taken('life', 6).add('b');
    // Take 7 asks: takes 5 (which may have been writing during the read) and 6 wrote a and b.
    assert.deepEqual(history.mayHaveRows(['a', 'b', 'c'], mark, 'life', 7), ['a', 'b']);
    history.taken('life', 7);
    // A take by another process (8) in between: everything is read again.
    history.taken('life', 9);
    assert.deepEqual(history.mayHaveRows(['c'], mark, 'life', 9), ['c']);
    // The item let go at count 9 by another process, read before this process's next take 10: nothing to read again.
    assert.deepEqual(history.mayHaveRows(['c'], { birth: 'life', from: 10 }, 'life', 10), []);
    // A mark of another life, or none, reads everything again.
    assert.deepEqual(history.mayHaveRows(['c'], { birth: 'other', from: 10 }, 'life', 10), ['c']);
    assert.deepEqual(history.mayHaveRows(['c'], undefined, 'life', 10), ['c']);
  });

  it('forgets the oldest holders: a mark older than what it remembers reads everything again', () => {
    const history = new CreationHistory(2);
    history.taken('life', 1);
    const old = history.mark();
    history.taken('life', 2);
    history.taken('life', 3);
    assert.deepEqual(history.mayHaveRows(['a'], old, 'life', 4), ['a']);
    assert.deepEqual(history.mayHaveRows(['a'], history.mark(), 'life', 4), []);
  });

  it('spares reads in most histories where this process is the only writer', () => {
    let spared = 0;
    let checks = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('take' as const), ours: fc.constant(true), writes: fc.subarray(REFS, { maxLength: 2 }) }),
            fc.constant({ kind: 'read' as const }),
          ),
          { maxLength: 30 },
        ),
        (steps) => {
          const r = play(steps, 256);
          spared += r.spared;
          checks += r.checks;
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(checks > 0 && spared / checks > 0.5, `${spared} of ${checks}`);
  });
});
