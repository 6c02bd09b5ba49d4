/** Timing helpers for the benchmark: repeat, take the median, express as MB/s (1 MB = 10^6 bytes). */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `fn` `warmup` times untimed, then `reps` times; returns each timed run's milliseconds. */
export async function timeRuns(reps: number, fn: () => unknown, warmup = 2): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

/** Median throughput in MB/s of moving `bytes` per run. */
export function mbPerSecond(bytes: number, runsMs: readonly number[]): number {
  return bytes / 1e6 / (median(runsMs) / 1000);
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

/**
 * Times `a` and `b` alternately (a b, b a, a b, ...) so both see the same phases of a noisy
 * machine; returns each one's runs and the median of the per-pair ratios time(a) / time(b).
 * Both first run untimed for `warmupMs`, long enough for V8 to optimise the code under test.
 */
export async function pairedRuns(reps: number, a: () => unknown, b: () => unknown, warmupMs = 500): Promise<{ a: number[]; b: number[]; ratio: number }> {
  const fns = { a, b };
  const runs = { a: [] as number[], b: [] as number[] };
  for (const deadline = Date.now() + warmupMs; Date.now() < deadline; ) for (const fn of [a, b]) await fn();
  for (let i = 0; i < reps; i++) {
    for (const k of i % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
      const t0 = process.hrtime.bigint();
      await fns[k]();
      runs[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return { ...runs, ratio: median(runs.a.map((t, i) => t / runs.b[i]!)) };
}
