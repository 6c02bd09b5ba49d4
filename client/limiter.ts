/**
 * Runs at most `max` tasks at once; the rest wait in order. A finishing task hands its slot
 * straight to the first waiter (the count never drops in between), so a caller arriving while
 * that waiter is being woken queues behind it instead of slipping in as an extra task.
 */
export function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < max) active++;
    // Woken with the slot already counted as ours.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
