import { parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

/**
 * One embedded emulator (dynalite, or s3rver on its Unix socket) on a worker thread of the
 * local server's process. In the server's own thread they shared one event loop and one heap
 * with the handlers: every row dynalite writes (JSON, LevelDB calls, a promise chain each) and
 * every object s3rver writes (MD5, file streams) waited behind the handlers' work and theirs
 * behind it, on one core, and the server's async hooks (X-Ray's context tracking, loaded with
 * Powertools Tracer) ran on each of the emulators' promises. On their own threads they run
 * beside the handlers, with their own heap and no hooks. Still one process: a kill -9 stops
 * them with the server, as before, and what they wrote is where it was (their files, the page
 * cache), so the crash tests' guarantees do not move (docs/storage-model.md).
 */

export type EmulatorJob = { kind: 'dynalite'; dir: string; host: string } | { kind: 's3rver'; dir: string; socketPath: string };

type FromThread = { ready: string } | { failed: string; code?: string | undefined } | 'closed';

export interface EmulatorThread {
  /** dynalite's http://host:port, or the socket path s3rver listens on. */
  address: string;
  close(): Promise<void>;
}

/** Starts `job` on a new worker thread; resolves once it listens. */
export function startEmulatorThread(job: EmulatorJob): Promise<EmulatorThread> {
  const worker = newThread(job);
  const exited = new Promise<void>((ok) => worker.once('exit', () => ok()));
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    const onExit = (code: number) => reject(new Error(`the ${job.kind} thread exited (${code}) before it listened`));
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (m: FromThread) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (typeof m === 'object' && 'failed' in m) {
        void worker.terminate();
        // With its code (ENOTDIR, EACCES...): the server's one-line refusals read it (refusals.ts).
        return reject(Object.assign(new Error(m.failed), m.code ? { code: m.code } : {}));
      }
      if (typeof m !== 'object' || !('ready' in m)) return reject(new Error(`the ${job.kind} thread answered ${JSON.stringify(m)}`));
      // A thread that fails later (its server's 'error') ends; the server's requests to it then fail like any unreachable endpoint.
      worker.on('error', (err) => console.error(`blobserver: the embedded ${job.kind} failed:`, err));
      resolve({
        address: m.ready,
        close: async () => {
          worker.postMessage('close');
          await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000).unref())]);
          await worker.terminate();
        },
      });
    });
  });
}

/**
 * The emulators' heaps start at 128 MB instead of V8's few MB. From a small start V8 sets an
 * old-generation limit close to what is live (about 20 MB for dynalite) and, with the young
 * generation as large as the room left, starts a full mark-compact every few hundred rows: 17 to
 * 26 in dynalite's thread over two puts of the 125 MB bench tree (none at 128 MB), their marking
 * on V8's helper threads beside everything else on a two-core machine. V8 reads the flag when a
 * thread's heap is made, so it is set before the first emulator thread starts (and kept:
 * process-wide, as V8 flags are). The server's own thread keeps its heap as node started it.
 * Peak memory does not move (the buffers of requests in flight make it): docs/benchmarks.md.
 */
function startWithRoomyHeap(): void {
  if (!process.execArgv.some((a) => a.startsWith('--initial-heap-size'))) setFlagsFromString('--initial-heap-size=128');
}

/**
 * A worker running this module. As a .ts file (under tsx) it first registers tsx in the new
 * thread: Node 20 does not apply `--import` loaders to worker threads. Its only flags are the
 * CPU profiler's, so `node --cpu-prof` profiles each emulator's thread too.
 */
function newThread(job: EmulatorJob): Worker {
  startWithRoomyHeap();
  const execArgv = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
  if (!import.meta.url.endsWith('.ts')) return new Worker(fileURLToPath(import.meta.url), { workerData: job, execArgv });
  const [tsx, self] = [JSON.stringify(import.meta.resolve('tsx/esm/api')), JSON.stringify(import.meta.url)];
  return new Worker(`import(${tsx}).then((api) => { api.register(); return import(${self}); })`, { eval: true, workerData: job, execArgv });
}

async function runThread(job: EmulatorJob): Promise<void> {
  const port = parentPort!;
  const emulators = await import('./emulators.js');
  let close: () => Promise<void>;
  try {
    if (job.kind === 'dynalite') {
      const e = await emulators.startDynalite(job.dir, job.host);
      port.postMessage({ ready: e.endpoint } satisfies FromThread);
      close = e.close;
    } else {
      const s3rver = await emulators.listenS3rver(job.dir, job.socketPath);
      port.postMessage({ ready: job.socketPath } satisfies FromThread);
      close = s3rver.close;
    }
  } catch (err) {
    port.postMessage({ failed: (err as Error).message, code: (err as NodeJS.ErrnoException).code } satisfies FromThread);
    return;
  }
  port.on('message', (m) => {
    if (m !== 'close') return;
    close().finally(() => {
      port.postMessage('closed' satisfies FromThread);
      port.close();
    });
  });
}

// Not awaited: emulators.ts imports this module, so it must finish evaluating before runThread's import of emulators.ts can.
if (parentPort && workerData && (workerData as EmulatorJob).kind) void runThread(workerData as EmulatorJob);
