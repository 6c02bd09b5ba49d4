import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { limiter } from '../../client/limiter.js';

test('limiter(1): a caller arriving while a waiter is being woken queues behind it, never runs alongside', async () => {
  // The third caller arrives after each number of microtask turns in turn, so one of them lands
  // between the first task's end and the woken second task's start.
  for (let turns = 0; turns < 20; turns++) {
    const limit = limiter(1);
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await Promise.resolve();
      running--;
    };
    const first = limit(task);
    const second = limit(task);
    let third: Promise<void> | undefined;
    const arrive = (async () => {
      for (let k = 0; k < turns; k++) await Promise.resolve();
      third = limit(task);
    })();
    await Promise.all([first, second, arrive]);
    await third;
    assert.equal(most, 1, `2 tasks ran at once when the third caller came ${turns} microtask turns in`);
  }
});

test('limiter(n) never runs more than n tasks at once, and runs every task', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      // Per task: microtask turns it takes, and turns after which the next caller arrives.
      fc.array(fc.record({ work: fc.nat(5), gap: fc.nat(3) }), { minLength: 1, maxLength: 20 }),
      async (max, tasks) => {
        const limit = limiter(max);
        let running = 0;
        let most = 0;
        const done: Promise<number>[] = [];
        for (const [i, t] of tasks.entries()) {
          done.push(
            limit(async () => {
              running++;
              most = Math.max(most, running);
              for (let k = 0; k < t.work; k++) await Promise.resolve();
              running--;
              return i;
            }),
          );
          for (let k = 0; k < t.gap; k++) await Promise.resolve();
        }
        assert.deepEqual(
          await Promise.all(done),
          tasks.map((_, i) => i),
        );
        assert.ok(most <= max, `${most} tasks ran at once under limiter(${max})`);
      },
    ),
  );
});
