/**
 * Cold starts of the read and write functions as `cdk synth` bundles them (the deployed-artifact
 * lane's cdk.out), against a minimal Node handler bundled with the same esbuild options, each in
 * AWS's Lambda Runtime Interface Emulator with aws-lambda-ric on Node 24 (test/support/rie.ts).
 *
 *   npx tsx bench/cold-start.ts [cold starts per function, default 7]
 *
 * Each cold start is a fresh emulator and runtime: its init is the emulator's `INIT REPORT`
 * duration (the runtime client's start plus the bundle's module evaluation, up to its first
 * request for work), then one invocation (`INVOKE RTDONE` duration), then the emulator is
 * stopped. The three functions take turns (minimal, read, write, then the next order), so a
 * busy machine slows all alike; the ratio is of medians from this one run. The invocation is a
 * request for a route the function does not serve (a 404 from its router): it builds the
 * function's dependencies (config, clients, logger) and touches no AWS service, so the figure
 * is the cold path without the network.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLING, PROJECT_ROOT } from '../infra/bundling.js';
import { EmulatedFunction, lambdaNode, rieUnavailable, type FunctionSpec } from '../test/support/rie.js';
import { readStack, synthesizedStack, type SynthesizedStack } from '../test/support/synthesized-stack.js';
import { median } from './measure.js';
import { table } from './table.js';

const MINIMAL_SOURCE = 'export const handler = async (event) => ({ statusCode: 404, body: JSON.stringify({ routeKey: event.routeKey }) });\n';

/** A handler that does nothing, bundled as the functions are (infra/bundling.ts): the floor of a cold start. */
async function minimalBundle(): Promise<string> {
  const dir = join(PROJECT_ROOT, 'bench', 'out', 'cold-start-minimal');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'entry.mjs'), MINIMAL_SOURCE);
  await build({ ...BUNDLING, entryPoints: { index: join(dir, 'entry.mjs') }, outdir: dir });
  return dir;
}

const USER = 'coldstart';
const PASSWORD = 'bench';
/** Where every AWS call would go: a port nobody listens on, so a request that reached the network would fail, not pass unseen. */
const NO_AWS = 'http://127.0.0.1:9';

/**
 * What Lambda would set, with placeholder names for the stack's resources, static credentials,
 * HTTP Basic credentials from the environment instead of the secret (no Secrets Manager call),
 * and every AWS endpoint unreachable.
 */
function environmentOf(template: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(template)) env[k] = typeof v === 'string' ? v : `placeholder-${k.toLowerCase()}`;
  return {
    ...env,
    BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
    AWS_ENDPOINT_URL: NO_AWS,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDCOLDSTART',
    AWS_SECRET_ACCESS_KEY: 'cold-start-bench',
    AWS_SESSION_TOKEN: 'cold-start-bench',
  };
}

/**
 * The first request each function gets: one that runs a real route's code and touches no AWS
 * service. Read: GET /ui (credentials, the page, a presigned URL's origin). Write: a batch upload
 * whose one part does not match its blobref (busboy, the digest check; nothing to store).
 */
function firstRequest(side: 'minimal' | 'read' | 'write', requestId: string): { event: string; expect: number } {
  const authorization = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const base = { version: '2.0', rawQueryString: '', isBase64Encoded: false };
  const ctx = (method: string, path: string) => ({
    requestId,
    http: { method, path, sourceIp: '127.0.0.1', protocol: 'HTTP/1.1' },
    domainName: 'bench.example',
  });
  if (side === 'write') {
    const body = Buffer.from(
      [
        '--b',
        `content-disposition: form-data; name="sha224-${'0'.repeat(56)}"; filename="x"`,
        'content-type: application/octet-stream',
        '',
        'cold start',
        '--b--',
        '',
      ].join('\r\n'),
    );
    const event = {
      ...base,
      routeKey: 'POST /camli/upload',
      rawPath: '/camli/upload',
      headers: { authorization, host: 'bench.example', 'content-type': 'multipart/form-data; boundary=b' },
      requestContext: ctx('POST', '/camli/upload'),
      body: body.toString('base64'),
      isBase64Encoded: true,
    };
    return { event: JSON.stringify(event), expect: 200 };
  }
  const event = { ...base, routeKey: 'GET /ui', rawPath: '/ui', headers: { authorization, host: 'bench.example' }, requestContext: ctx('GET', '/ui') };
  return { event: JSON.stringify(event), expect: side === 'read' ? 200 : 404 };
}

interface Sample {
  initMs: number;
  invokeMs: number;
}

/** One cold start: a fresh emulator, one invocation, stopped. */
type Spec = FunctionSpec & { side: 'minimal' | 'read' | 'write' };

async function coldStart(spec: Spec): Promise<Sample> {
  const fn = new EmulatedFunction(spec, 1);
  try {
    const requestId = randomUUID();
    const { event, expect } = firstRequest(spec.side, requestId);
    const out = await fn.invoke(event, requestId);
    const status = out.functionError ? undefined : (JSON.parse(out.payload.toString('utf8')) as { statusCode?: number }).statusCode;
    if (status !== expect) throw new Error(`${spec.name}: expected ${expect}, got ${out.payload.toString('utf8').slice(0, 300)}\n${fn.recentOutput()}`);
    const [initMs, invokeMs] = [fn.stats.initMs[0], fn.stats.invokeMs[0]];
    if (initMs === undefined || invokeMs === undefined) throw new Error(`${spec.name}: no INIT REPORT / RTDONE line\n${fn.recentOutput()}`);
    return { initMs, invokeMs };
  } finally {
    await fn.close();
  }
}

export interface ColdStartRow {
  name: string;
  initMedianMs: number;
  invokeMedianMs: number;
  /** Init median over the minimal handler's (undefined for the minimal handler itself). */
  ratio?: number | undefined;
}

/** Per function, the init median against the minimal handler's, interleaved in one run; prints the table. */
export async function coldStartComparison(runs = 7): Promise<ColdStartRow[] | undefined> {
  console.log('\ncold starts in the Lambda RIE: read and write functions (cdk.out) against a minimal handler');
  const why = rieUnavailable();
  if (why) {
    console.log(`  skipped: ${why}`);
    return undefined;
  }
  const stack = await synthesizedStack();
  // COLD_START_BASELINE=<a cdk.out/deployed-* directory of another commit>: its read and write run in the same rounds.
  const baselineDir = process.env['COLD_START_BASELINE'];
  const baseline = baselineDir ? await readStack(baselineDir, join(baselineDir, 'Blobserver.template.json')) : undefined;
  const sidesOf = (s: SynthesizedStack, suffix: string): Spec[] =>
    (['read', 'write'] as const).map((side) => {
      const fn = Object.values(s.functions).find((f) => (side === 'read' ? /ReadFunction/ : /WriteFunction/).test(f.logicalId));
      if (!fn) throw new Error(`no ${side} function in ${s.templatePath}`);
      return {
        side,
        name: `${side}${suffix}`,
        codeDir: fn.codeDir,
        handler: fn.handler,
        memoryMb: fn.memoryMb,
        timeoutSeconds: fn.timeoutSeconds,
        environment: environmentOf(fn.environment),
      };
    });
  const specs: Spec[] = [
    {
      side: 'minimal',
      name: 'minimal',
      handler: 'index.handler',
      timeoutSeconds: 29,
      codeDir: await minimalBundle(),
      memoryMb: 1024,
      environment: environmentOf({ NODE_OPTIONS: sidesOf(stack, '')[0]!.environment['NODE_OPTIONS'] ?? '' }),
    },
    ...sidesOf(stack, ''),
    ...(baseline ? sidesOf(baseline, ` (${baselineDir})`) : []),
  ];
  const samples = new Map<string, Sample[]>(specs.map((s) => [s.name, []]));
  for (let round = 0; round < runs; round++) {
    // Rotate the order so none always runs first (or right after another's teardown).
    const order = specs.map((_, i) => specs[(i + round) % specs.length]!);
    for (const spec of order) samples.get(spec.name)!.push(await coldStart(spec));
  }
  const floor = median(samples.get('minimal')!.map((s) => s.initMs));
  const rows: ColdStartRow[] = specs.map(({ name }) => {
    const s = samples.get(name)!;
    const initMedianMs = median(s.map((x) => x.initMs));
    return { name, initMedianMs, invokeMedianMs: median(s.map((x) => x.invokeMs)), ratio: name === 'minimal' ? undefined : initMedianMs / floor };
  });
  console.log(
    `  Node ${lambdaNode()?.version}, ${runs} cold starts per function, interleaved; init = the RIE's INIT REPORT; first invoke = RTDONE of the first request (read: GET /ui, write: a batch upload of one refused part)`,
  );
  console.log(
    table(
      ['function', 'init ms (median)', 'init ms (all)', 'first invoke ms (median)', 'init / minimal'],
      rows.map((r) => [
        r.name,
        r.initMedianMs.toFixed(1),
        samples
          .get(r.name)!
          .map((s) => s.initMs.toFixed(0))
          .join(' '),
        r.invokeMedianMs.toFixed(1),
        r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x`,
      ]),
    ),
  );
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await coldStartComparison(Number(process.argv[2] ?? 7));
