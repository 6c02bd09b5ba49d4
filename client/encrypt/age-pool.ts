import { EncryptionError, type AgeKey } from './format.js';
import { errorOf, inlineAgeWork, type AgeWork, type Expected, type Opened, type Sealed, type WorkFailure } from './age-work.js';

/**
 * A bounded pool of worker threads for age work (Node): encryption and decryption (age's
 * payload cipher is pure JS, its X25519 an OpenSSL call per blob) run beside the main thread's
 * chunking, hashing and HTTP instead of between them. The work itself is age-work.ts's, the
 * same as inline; only where it runs differs. Where worker threads do not exist (the page's
 * Web Worker, other runtimes) `ageWork()` is inline.
 *
 * Size: `os.availableParallelism()` threads, or BLOBSERVER_AGE_WORKERS (0: inline). Threads
 * start on first use and do not keep the process alive while idle.
 */

export type JobRequest = { id: number; identity: string; recipient: string; bytes: Uint8Array } & (
  | { op: 'seal' }
  | { op: 'open'; what: string; expect?: Expected | undefined }
);
export type JobResult = { id: number } & ({ ref: string; bytes: Uint8Array } | { bytes: Uint8Array; matches: boolean } | { failure: WorkFailure });

type WorkerThreads = typeof import('node:worker_threads');
type Worker = import('node:worker_threads').Worker;

const threads: WorkerThreads | undefined = await loadNode<WorkerThreads>('node:worker_threads');
const os: typeof import('node:os') | undefined = await loadNode<typeof import('node:os')>('node:os');

async function loadNode<T>(name: string): Promise<T | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  try {
    return (await import(name)) as T;
  } catch {
    return undefined;
  }
}

/** Jobs given to one thread at once: age's X25519 is asynchronous (WebCrypto), so two overlap a little. */
const JOBS_PER_THREAD = 2;

interface Slot {
  worker: Worker;
  jobs: number;
}

interface Job {
  request: JobRequest;
  transfer: ArrayBuffer[];
  resolve: (r: JobResult) => void;
  reject: (err: Error) => void;
}

export class AgePool implements AgeWork {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private readonly running = new Map<number, { job: Job; slot: Slot }>();
  private nextId = 1;
  private closed = false;

  /** `size` threads at most (at least 1). */
  constructor(readonly size: number) {
    if (!threads) throw new Error('worker threads are not available here');
    if (!(size >= 1)) throw new Error(`age pool size ${size}: at least 1`);
  }

  async seal(key: AgeKey, plaintext: Uint8Array): Promise<Sealed> {
    // A copy is moved to the thread: the caller's buffer (perhaps a Node Buffer, a view into a pooled one) stays usable.
    const bytes = new Uint8Array(plaintext);
    const r = await this.run({ id: 0, op: 'seal', identity: key.identity, recipient: key.recipient, bytes }, [bytes.buffer]);
    if (!('ref' in r)) throw new Error('age pool: a seal job answered without a ref');
    return { ref: r.ref, bytes: r.bytes };
  }

  async open(key: AgeKey, sealed: Uint8Array, what: string, expect?: Expected): Promise<Opened> {
    const bytes = new Uint8Array(sealed);
    const r = await this.run({ id: 0, op: 'open', identity: key.identity, recipient: key.recipient, bytes, what, expect }, [bytes.buffer]);
    if (!('matches' in r)) throw new Error('age pool: an open job answered without a verdict');
    return { plaintext: r.bytes, matches: r.matches };
  }

  /** Stops the threads; jobs still running fail. The pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const j of this.waiting.splice(0)) j.reject(new Error('age pool closed'));
  }

  private run(request: JobRequest, transfer: ArrayBuffer[]): Promise<JobResult> {
    if (this.closed) return Promise.reject(new Error('age pool closed'));
    return new Promise<JobResult>((resolve, reject) => {
      this.waiting.push({ request: { ...request, id: this.nextId++ }, transfer, resolve, reject });
      this.pump();
    }).then((r) => {
      if ('failure' in r) throw errorOf(r.failure);
      return r;
    });
  }

  private pump() {
    while (this.waiting.length) {
      const slot = this.freeSlot();
      if (!slot) return;
      const job = this.waiting.shift()!;
      if (slot.jobs++ === 0) slot.worker.ref();
      this.running.set(job.request.id, { job, slot });
      slot.worker.postMessage(job.request, job.transfer);
    }
  }

  /** The least busy thread with room, starting one while fewer than `size` run. */
  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.jobs < JOBS_PER_THREAD && (!best || s.jobs < best.jobs)) best = s;
    if (best?.jobs === 0 || this.slots.length >= this.size) return best;
    return this.start();
  }

  private start(): Slot {
    const worker = newWorker();
    const slot: Slot = { worker, jobs: 0 };
    worker.unref();
    worker.on('message', (r: JobResult) => {
      const entry = this.running.get(r.id);
      if (!entry) return;
      this.running.delete(r.id);
      if (--slot.jobs === 0) worker.unref();
      entry.job.resolve(r);
      this.pump();
    });
    const fail = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const [id, e] of this.running) {
        if (e.slot !== slot) continue;
        this.running.delete(id);
        e.job.reject(err);
      }
      this.pump();
    };
    worker.on('error', (err) => fail(new Error(`age pool: a worker thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`age pool: a worker thread exited (code ${code})`)));
    this.slots.push(slot);
    return slot;
  }
}

/**
 * A thread running age-worker.js, beside this module. Run from source (age-pool.ts under tsx,
 * as the tests do), the thread registers tsx itself first: Node 20's threads do not inherit
 * the `--import tsx` hooks.
 */
function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new threads!.Worker(new URL('./age-worker.js', import.meta.url), { execArgv: workerExecArgv() });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./age-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`;
  return new threads!.Worker(boot, { eval: true, execArgv: [] });
}

/** The process's Node flags but those only a main script takes (`node --input-type=module -e`). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++;
    else if (!argv[i]!.startsWith('--input-type=')) out.push(argv[i]!);
  }
  return out;
}

/** Threads wanted: BLOBSERVER_AGE_WORKERS if set (0: inline), else the cores Node may use. */
export function ageWorkersWanted(env: Record<string, string | undefined> = typeof process === 'undefined' ? {} : process.env): number {
  const set = env['BLOBSERVER_AGE_WORKERS'];
  if (set !== undefined && set !== '') {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 0 || n > 256) throw new EncryptionError(`BLOBSERVER_AGE_WORKERS=${set}: a whole number from 0 to 256`);
    return n;
  }
  return os?.availableParallelism?.() ?? os?.cpus().length ?? 1;
}

let shared: AgeWork | undefined;

/** The process's age work: one shared pool where worker threads exist and are wanted, else inline. */
export function ageWork(): AgeWork {
  if (!shared) {
    const n = threads ? ageWorkersWanted() : 0;
    shared = n > 0 ? new AgePool(n) : inlineAgeWork;
  }
  return shared;
}

/** Jobs worth keeping in flight for this work: enough to keep every thread busy. */
export function ageParallelism(work: AgeWork): number {
  return work instanceof AgePool ? work.size * JOBS_PER_THREAD : 1;
}
