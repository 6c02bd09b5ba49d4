#!/usr/bin/env node
/**
 * `npm test`: every test/**\/*.test.ts (unit, infra, integration) in ONE `node --test` run
 * with tsx, so there is one summary and one exit code.
 *
 *   npm test                                  everything
 *   npm test -- test/unit test/integration/seed.faults.test.ts   only these files/directories
 *   npm test -- --test-name-pattern=preupload                   extra flags go to node --test
 *
 * Servers started by tests listen on 127.0.0.1 only. AWS's DynamoDB Local (Java) cannot be
 * told where to bind and listens on every interface, so when this runs as root and `unshare`
 * works, the whole run is re-executed inside a fresh network namespace that has nothing but
 * loopback (BLOBSERVER_TEST_NETNS=1 marks that), and the DynamoDB Local lane runs there.
 * Otherwise (a non-root laptop) the tests run directly and that lane reports itself skipped.
 *
 * LocalStack (the dynamodb-local+localstack lane) is started here ONCE for the whole run, inside
 * that namespace, when a selected test file may use it (iterates LANES or names the lane), and
 * stopped when the run ends; the test files get its endpoint in BLOBSERVER_TEST_LOCALSTACK_URL.
 * When it cannot start, the lane's tests are reported skipped with the reason, except under
 * CI=true, where the run fails instead.
 *
 * Output: Node's spec reporter through scripts/test-reporter.mjs, which keeps what the test files
 * print (and the deployed lane's synthesis) out of the run's output: it goes to
 * test-artifacts/test-output.log, and a failing file's is printed after its results. A
 * --test-reporter flag of yours replaces it (and then that output is printed as it comes).
 *
 * Environment: BLOBSERVER_TEST_NETNS=0 runs without the namespace; BLOBSERVER_TEST_CONCURRENCY
 * sets how many test files run at once (default: max(2, cores)); BLOBSERVER_TEST_LOCALSTACK_URL
 * set by you means: use that already running LocalStack, start none.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { localStackUnavailable, startLocalStack } from './localstack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
/**
 * A watchdog: a hung run (a leaked server handle, a stuck emulator) fails instead of blocking CI.
 * A stuck test is already stopped by its own timeout, so this only has to outlast a slow run:
 * one run takes about 8 minutes on the 2-core machine, two at once with other work beside them
 * went past 25 (2026-12-04), hence an hour.
 */
const RUN_TIMEOUT_MS = Number(process.env.BLOBSERVER_TEST_RUN_TIMEOUT_MS || 25 * 60_000);
/**
 * Per test (and hook) timeout, so one stuck test fails with a name instead of hanging. Node 20's
 * runner also applies it to each test file as a whole (Node 24's does not; checked with a file of
 * two 3 s tests under --test-timeout=5000: Node 20.20 fails it, 24.19 passes), so there a file of
 * three lanes' tests, each well inside the limit, failed once their sum passed it under load
 * (storage-fsck, storage-crash, storage-migrate, the namespace fsck); on Node older than 24 the
 * limit is one a whole file fits in.
 */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const TEST_TIMEOUT_MS = NODE_MAJOR >= 24 ? 180_000 : 15 * 60_000;
/** What the test files print (scripts/test-reporter.mjs), and the deployed lane's synthesis. */
const OUTPUT_LOG = join(root, 'test-artifacts', 'test-output.log');

/** A test file that may need the shared LocalStack: it iterates over LANES or names the LocalStack lane. */
const USES_LOCALSTACK = /\bLANES\b|\+localstack\b/;
const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

function run(command, commandArgs, env, cwd = root, cleanup = async () => undefined) {
  const child = spawn(command, commandArgs, { stdio: 'inherit', env, cwd });
  const forward = (signal) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, forward(signal));
  const watchdog = setTimeout(() => {
    console.error(
      `\nscripts/test.mjs: the test run exceeded ${RUN_TIMEOUT_MS / 1000} s; stopping it (what the test files printed: ${relative(root, OUTPUT_LOG)})`,
    );
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, RUN_TIMEOUT_MS);
  watchdog.unref();
  child.on('exit', (code, signal) => {
    clearTimeout(watchdog);
    cleanup().finally(() => process.exit(code ?? (signal ? 1 : 0)));
  });
}

/** Why the run cannot be isolated in a loopback-only network namespace, or undefined if it can. */
function netnsUnavailable() {
  if (process.platform !== 'linux') return `${process.platform} has no network namespaces`;
  if (process.getuid?.() !== 0) return 'not running as root (unshare -n needs it)';
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (probe.error) return `unshare is not available (${probe.error.message}); install util-linux`;
  if (probe.status !== 0) return `unshare -n / ip link failed: ${probe.stderr.toString().trim() || `exit ${probe.status}`}`;
  return undefined;
}

if (process.env.BLOBSERVER_TEST_NETNS === undefined || process.env.BLOBSERVER_TEST_NETNS === '') {
  const why = netnsUnavailable();
  if (!why) {
    // Re-run this very script inside a new network namespace with only loopback up.
    run(
      'unshare',
      ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, self, ...args],
      {
        ...process.env,
        BLOBSERVER_TEST_NETNS: '1',
      },
      process.cwd(),
    );
  } else {
    console.error(`scripts/test.mjs: no loopback-only network namespace (${why}); ${ddbLocalNote()}`);
    main();
  }
} else {
  if (process.env.BLOBSERVER_TEST_NETNS !== '1')
    console.error(`scripts/test.mjs: BLOBSERVER_TEST_NETNS=${process.env.BLOBSERVER_TEST_NETNS}; ${ddbLocalNote()}`);
  main();
}

function ddbLocalNote() {
  return process.env.BLOBSERVER_TEST_DDB_LOCAL === '1'
    ? 'BLOBSERVER_TEST_DDB_LOCAL=1: the DynamoDB Local lane runs listening on every interface'
    : 'the DynamoDB Local lane will be skipped';
}

function testFilesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFilesUnder(path));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/**
 * Starts the shared LocalStack for this run. Returns the environment for the test files and
 * the cleanup that stops it; exits the run in CI when LocalStack cannot start.
 */
async function sharedLocalStack() {
  if (process.env.BLOBSERVER_TEST_LOCALSTACK_URL) return { env: {}, cleanup: async () => undefined };
  const skip = (why) => {
    if (inCI) {
      console.error(`scripts/test.mjs: CI=true and the LocalStack lane cannot run: ${why}`);
      process.exit(1);
    }
    console.error(`scripts/test.mjs: the LocalStack lane will be skipped: ${why}`);
    return { env: { BLOBSERVER_TEST_LOCALSTACK_UNAVAILABLE: why }, cleanup: async () => undefined };
  };
  if (process.env.BLOBSERVER_TEST_NETNS !== '1') {
    return skip('LocalStack listens on every interface, so it runs only in the loopback-only network namespace (npm test as root on Linux)');
  }
  const why = localStackUnavailable(root);
  if (why) return skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'blobserver-localstack-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    const started = Date.now();
    const ls = await startLocalStack(root, dir);
    console.error(`scripts/test.mjs: LocalStack (pid ${ls.pid}) ready at ${ls.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return {
      env: { BLOBSERVER_TEST_LOCALSTACK_URL: ls.endpoint },
      cleanup: async () => {
        await ls.stop();
        removeDir();
      },
    };
  } catch (err) {
    let tail = '';
    try {
      tail = readFileSync(join(dir, 'localstack.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      /* no log */
    }
    removeDir();
    if (tail) console.error(`--- last lines of LocalStack's log ---\n${tail}\n---`);
    return skip(err.message);
  }
}

/** Starts the log the reporter appends to; a new one for every run. */
function startOutputLog() {
  mkdirSync(dirname(OUTPUT_LOG), { recursive: true });
  writeFileSync(
    OUTPUT_LOG,
    `scripts/test.mjs ${args.join(' ')} at ${new Date().toISOString()}: what the test files printed, under a header per file and stream\n`,
  );
}

function synthesizeForDeployedLane() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/synth-deployed.ts'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    // esbuild's and CDK's bundling lines go to the log. A failed synthesis is reported by the
    // lane's own tests, which synthesize again and fail with the cause.
    child.stderr.on('data', (chunk) => appendFileSync(OUTPUT_LOG, chunk));
    appendFileSync(OUTPUT_LOG, '\n── scripts/synth-deployed.ts (stderr) ──\n');
    child.on('exit', () => resolve());
    child.on('error', () => resolve());
  });
}

async function main() {
  const flags = args.filter((a) => a.startsWith('-'));
  const paths = args.filter((a) => !a.startsWith('-'));
  const files = (paths.length ? paths : ['test'])
    .flatMap((p) => {
      const abs = resolve(process.cwd(), p);
      return statSync(abs).isDirectory() ? testFilesUnder(abs) : [abs];
    })
    .map((f) => relative(root, f))
    .sort();
  if (files.length === 0) {
    console.error('scripts/test.mjs: no test files found');
    process.exit(1);
  }
  startOutputLog();
  const concurrency = Number(process.env.BLOBSERVER_TEST_CONCURRENCY || Math.max(2, availableParallelism()));
  // The deployed-artifact lane's files share one `cdk synth` (cdk.out/deployed-<hash>/), made here
  // while LocalStack starts, so no test file spends its time limit on it.
  const synth = files.some((f) => f.includes('.deployed.')) ? synthesizeForDeployedLane() : Promise.resolve();
  // The deployed-artifact lane runs on the LocalStack lane's emulators (test/support/deployed-target.ts).
  const localstack = files.some((f) => f.includes('.deployed.') || USES_LOCALSTACK.test(readFileSync(join(root, f), 'utf8')))
    ? await sharedLocalStack()
    : { env: {}, cleanup: async () => undefined };
  await synth;
  const reporter = flags.some((f) => f.startsWith('--test-reporter'))
    ? []
    : [`--test-reporter=${pathToFileURL(join(root, 'scripts', 'test-reporter.mjs')).href}`];
  run(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...reporter, ...flags, ...files],
    {
      // The SDK's notice that future releases need Node 22 is not about this run; it would
      // otherwise be printed once per test file.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...process.env,
      ...localstack.env,
      BLOBSERVER_TEST_OUTPUT_LOG: OUTPUT_LOG,
    },
    root,
    localstack.cleanup,
  );
}
