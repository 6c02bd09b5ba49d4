// Loaded into a benchmarked CLI process (`node --import`): at exit, appends one JSON line to
// BENCH_CPU_FILE with the process's CPU seconds, the main thread's alone (Node >= 23.9 has
// process.threadCpuUsage; else null), and the wall time since start.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_CPU_FILE;
const t0 = performance.now();
if (file) {
  process.on('exit', () => {
    const p = process.cpuUsage();
    const t = process.threadCpuUsage?.();
    const s = (u) => (u.user + u.system) / 1e6;
    appendFileSync(file, `${JSON.stringify({ process: s(p), main: t ? s(t) : null, wall: (performance.now() - t0) / 1000 })}\n`);
  });
}
