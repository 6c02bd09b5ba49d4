import { mbPerSecond, timeRuns } from './measure.js';
import { AUTHORIZATION, operationCounts, preupload, proxiedServer, randomBlobs, upload, uploadRequest, withDataDir } from './server.js';

/**
 * What the storage model costs per blob: S3 and DynamoDB requests (counted by proxies between
 * the local server and dynalite + s3rver) and MB/s end to end, for a batched upload, for
 * one-blob requests (what pk-put sends), and for GETs of the blobs each stored.
 */

export interface CostFigure {
  label: string;
  blobs: number;
  s3PerBlob: number;
  ddbPerBlob: number;
  operations: string;
  mbps: number;
}

export async function storageCost(reps: number, parts: number, partSize: number): Promise<CostFigure[]> {
  return withDataDir(async (dir) => {
    const { server, s3, ddb, close } = await proxiedServer(dir);
    try {
      const { uploadUrl } = await preupload(server, []);
      const figures: CostFigure[] = [];
      /** Times `fn` over fresh blobs per run, counting the storage requests of the last run. */
      const measure = async (label: string, run: (blobs: { name: string; data: Buffer }[]) => Promise<void>, fresh: () => { name: string; data: Buffer }[]) => {
        const inputs = Array.from({ length: reps + 2 }, fresh);
        let next = 0;
        let last: { s3: number; ddb: number; ops: Map<string, number> } | undefined;
        const runs = await timeRuns(reps, async () => {
          const [s3From, ddbFrom] = [s3.requests.length, ddb.requests.length];
          await run(inputs[next++]!);
          const [s3Reqs, ddbReqs] = [s3.requests.slice(s3From), ddb.requests.slice(ddbFrom)];
          last = { s3: s3Reqs.length, ddb: ddbReqs.length, ops: operationCounts([...s3Reqs, ...ddbReqs]) };
        });
        const n = parts;
        figures.push({
          label,
          blobs: n,
          s3PerBlob: last!.s3 / n,
          ddbPerBlob: last!.ddb / n,
          operations: [...last!.ops].map(([op, k]) => `${k} ${op}`).join(', '),
          mbps: mbPerSecond(n * partSize, runs),
        });
        return inputs.slice(0, next);
      };
      const get = async (blobs: { name: string; data: Buffer }[]) => {
        for (const b of blobs) {
          const res = await fetch(`${server.url}/camli/${b.name}`, { headers: { authorization: AUTHORIZATION } });
          const bytes = Buffer.from(await res.arrayBuffer());
          if (res.status !== 200 || !bytes.equals(b.data)) throw new Error(`GET ${b.name}: ${res.status}`);
        }
      };
      const batched = await measure(
        `upload ${parts} x ${partSize / 1024} KiB, one request`,
        (blobs) => upload(uploadUrl, uploadRequest(blobs)),
        () => randomBlobs(parts, partSize),
      );
      const single = await measure(
        `upload ${parts} x ${partSize / 1024} KiB, one blob a request`,
        async (blobs) => {
          for (const b of blobs) await upload(uploadUrl, uploadRequest([b]));
        },
        () => randomBlobs(parts, partSize),
      );
      let i = 0;
      await measure(
        'GET each, packed (stored in one request)',
        (blobs) => get(blobs),
        () => batched[i++ % batched.length]!,
      );
      let j = 0;
      await measure(
        'GET each, own object (one blob a request)',
        (blobs) => get(blobs),
        () => single[j++ % single.length]!,
      );
      return figures;
    } finally {
      await close();
    }
  });
}
