import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbsenceMemo } from '../../lambda/core/storage/absence-memo.js';

/** absence-memo.ts: the refs a process read absent, used once by an upload, and bounded in memory. */
describe('absence memo', () => {
  it('answers the marks of the refs it noted, once', () => {
    const memo = new AbsenceMemo();
    const [early, late] = [
      { birth: 'b', from: 3 },
      { birth: 'b', from: 7 },
    ];
    memo.note(['x', 'y'], early);
    memo.note(['y'], late);
    assert.deepEqual(
      memo.take(['x', 'y', 'z']),
      new Map([
        ['x', early],
        ['y', late],
      ]),
    );
    // An upload uses each once: a second upload of the same blobs reads their rows.
    assert.deepEqual(memo.take(['x', 'y']), new Map());
  });

  it('forgets the oldest refs past its capacity', () => {
    const memo = new AbsenceMemo(3);
    const mark = { birth: 'b', from: 1 };
    memo.note(['a', 'b', 'c'], mark);
    memo.note(['a'], mark); // noted again: now the newest
    memo.note(['d'], mark);
    assert.deepEqual([...memo.take(['a', 'b', 'c', 'd']).keys()], ['a', 'c', 'd']);
  });
});
