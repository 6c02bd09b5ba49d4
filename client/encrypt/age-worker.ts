import { parentPort } from 'node:worker_threads';
import type { AgeKey } from './format.js';
import { failureOf, openInline, sealInline } from './age-work.js';
import type { JobRequest, JobResult } from './age-pool.js';

/** A worker thread of the age pool (age-pool.ts): runs one blob's age work per message, several at once. */

const port = parentPort;
if (!port) throw new Error('age-worker.js runs as a worker thread of the age pool');

/** One AgeKey object per identity, so format.ts builds its Encrypter and Decrypter once per key. */
const keys = new Map<string, AgeKey>();
const keyOf = (identity: string, recipient: string) => {
  let k = keys.get(identity);
  if (!k) keys.set(identity, (k = { identity, recipient }));
  return k;
};

port.on('message', async (job: JobRequest) => {
  let result: JobResult;
  let transfer: ArrayBuffer[] = [];
  try {
    const key = keyOf(job.identity, job.recipient);
    if (job.op === 'seal') {
      const s = await sealInline(key, job.bytes);
      result = { id: job.id, ref: s.ref, bytes: s.bytes };
      transfer = [s.bytes.buffer as ArrayBuffer];
    } else {
      const o = await openInline(key, job.bytes, job.what, job.expect);
      result = { id: job.id, bytes: o.plaintext, matches: o.matches };
      transfer = [o.plaintext.buffer as ArrayBuffer];
    }
  } catch (err) {
    result = { id: job.id, failure: failureOf(err) };
  }
  port.postMessage(result, transfer);
});
