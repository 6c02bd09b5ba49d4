import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fmt, table } from './table.js';

/**
 * Splits V8 CPU profiles (`node --cpu-prof`, one .cpuprofile per thread) of the local server
 * during a put into the parts of the upload path, for docs/benchmarks.md. Each sample goes to
 * the first part (in the order below) that any frame of its stack belongs to, so a hash
 * computed inside multipart.ts counts as verification, not as parsing. Samples are of the
 * thread's time, which on a loaded machine includes waiting for a core.
 *
 *   npx tsx bench/profile-split.ts PROFILE.cpuprofile...
 */

type Part = [name: string, frame: (f: Frame) => boolean];
interface Frame {
  functionName: string;
  url: string;
}

const under = (re: RegExp) => (f: Frame) => re.test(f.url);
const PARTS: Part[] = [
  ['module loading (start)', (f) => /^node:internal\/modules|\/tsx\//.test(f.url)],
  ['dynalite + LevelDB', under(/node_modules\/(dynalite|classic-level|abstract-level|level-|lock\/|big\.js|async\/)/)],
  ['s3rver (koa, files, MD5)', under(/node_modules\/(s3rver|koa|@koa|fs-extra|graceful-fs|xmlbuilder)/)],
  ['S3 front (auth, CRC32, proxy)', under(/local\/(s3-front|s3-checksums|s3-request-auth|presigned-check)\.ts/)],
  ['digest verification (SHA-224)', (f) => f.functionName === 'update' && f.url === 'node:internal/crypto/hash'],
  ['multipart parsing (busboy)', under(/node_modules\/(busboy|streamsearch)|lambda\/core\/upload\/multipart\.ts/)],
  ['packing, rows (blob-writes, index)', under(/lambda\/core\/storage\//)],
  ['AWS SDK (S3, DynamoDB requests)', under(/node_modules\/(@aws-sdk|@smithy|@aws-crypto)/)],
  ['HTTP in, Lambda event (local/)', under(/local\/(server|event)\.ts/)],
  ['handlers, tokens, answers (lambda/)', under(/\/lambda\//)],
];

const V8_STATES = new Map([
  ['(idle)', 'idle'],
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'V8/native, no JS frame'],
]);

interface Profile {
  nodes: { id: number; callFrame: Frame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export function splitProfile(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ms = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const leaf = byId.get(profile.samples[i]!)!;
    let part = V8_STATES.get(leaf.callFrame.functionName);
    if (!part) {
      const frames: Frame[] = [];
      for (let n: typeof leaf | undefined = leaf; n; n = byId.get(parent.get(n.id)!)) frames.push(n.callFrame);
      part = PARTS.find(([, is]) => frames.some(is))?.[0] ?? 'other (Node internals: streams, timers, promises)';
    }
    ms.set(part, (ms.get(part) ?? 0) + dt);
  }
  return ms;
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  for (const file of process.argv.slice(2)) {
    const ms = splitProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const busy = [...ms].filter(([k]) => k !== 'idle').reduce((n, [, v]) => n + v, 0);
    console.log(`\n${basename(file)}: ${fmt(busy)} ms not idle`);
    console.log(
      table(
        ['part', 'ms', 'of not idle'],
        [...ms].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, fmt(v), k === 'idle' ? '-' : `${fmt((v / busy) * 100, 1)}%`]),
      ),
    );
  }
}
