import { createHash, randomBytes } from 'node:crypto';
import { blobRefOf } from '../lambda/core/blobref.js';
import { startLocalServer } from '../local/server.js';
import { postFormRedirected } from '../test/support/upload-form.js';
import { median, timeRuns } from './measure.js';
import { AUTH, preupload, withDataDir } from './server.js';

/**
 * The large-blob lane (DESIGN §6) on the local server and its embedded emulators:
 * - the completion alone (GET of S3's redirect: the staged object streamed from s3rver through
 *   sha224, copied under blobs/, row written, staged object deleted), timed alternately with
 *   raw sha224 of the same bytes in memory;
 * - a whole upload as a client sees it: preupload, POST of the form to S3, the 303 followed.
 * Every run uses fresh bytes: a completion consumes its staged object.
 */
export interface LargeBlobFigures {
  size: number;
  completionMbps: number;
  rawHashMbps: number;
  /** Median of per-pair ratios completion time / raw hash time. */
  completionVsRaw: number;
  endToEndMs: number;
}

export async function largeBlobLane(reps: number, size: number): Promise<LargeBlobFigures> {
  return withDataDir(async (dir) => {
    const server = await startLocalServer({
      BLOBSERVER_DATA_DIR: dir,
      PORT: '0',
      BLOBSERVER_HOST: '127.0.0.1',
      BLOBSERVER_AUTH: AUTH,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    try {
      const fresh = () => {
        const data = randomBytes(size);
        return { data, ref: blobRefOf(data) };
      };
      const complete = async (location: string) => {
        const res = await fetch(location);
        const body = (await res.json()) as { received?: unknown[] };
        if (res.status !== 200 || body.received?.length !== 1) throw new Error(`completion answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      };

      // Completion vs raw hashing: stage a fresh blob (untimed), then time its completion.
      let staged: { location: string; data: Buffer } | undefined;
      const stage = async () => {
        const b = fresh();
        staged = { location: await postFormRedirected((await preupload(server, [])).uploadForm, b.data, b.ref), data: b.data };
      };
      const completions: number[] = [];
      const hashes: number[] = [];
      const ratios: number[] = [];
      for (let i = 0; i < reps + 1; i++) {
        await stage();
        const t0 = process.hrtime.bigint();
        await complete(staged!.location);
        const t1 = process.hrtime.bigint();
        createHash('sha224').update(staged!.data).digest();
        const t2 = process.hrtime.bigint();
        if (i === 0) continue; // warm-up
        const [c, h] = [Number(t1 - t0) / 1e6, Number(t2 - t1) / 1e6];
        completions.push(c);
        hashes.push(h);
        ratios.push(h / c);
      }

      // End to end, as a client: preupload, POST the form, follow the 303.
      const blobs = Array.from({ length: reps + 1 }, fresh);
      const endToEnd = await timeRuns(
        reps,
        async () => {
          const b = blobs.pop()!;
          const { uploadForm } = await preupload(server, [b.ref]);
          await complete(await postFormRedirected(uploadForm, b.data, b.ref));
        },
        1,
      );

      const mbps = (ms: number[]) => size / 1e6 / (median(ms) / 1000);
      return { size, completionMbps: mbps(completions), rawHashMbps: mbps(hashes), completionVsRaw: median(ratios), endToEndMs: median(endToEnd) };
    } finally {
      await server.close();
    }
  });
}
