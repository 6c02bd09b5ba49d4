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
 * Environment: BLOBSERVER_TEST_NETNS=0 runs without the namespace; BLOBSERVER_TEST_CONCURRENCY
 * sets how many test files run at once (default: max(2, cores)).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
/** A watchdog: a hung run (a leaked server handle, a stuck emulator) fails instead of blocking CI. */
const RUN_TIMEOUT_MS = Number(process.env.BLOBSERVER_TEST_RUN_TIMEOUT_MS || 15 * 60_000);
/** Per test (and hook) timeout, so one stuck test fails with a name instead of hanging. */
const TEST_TIMEOUT_MS = 180_000;

function run(command, commandArgs, env, cwd = root) {
  const child = spawn(command, commandArgs, { stdio: 'inherit', env, cwd });
  const forward = (signal) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, forward(signal));
  const watchdog = setTimeout(() => {
    console.error(`\nscripts/test.mjs: the test run exceeded ${RUN_TIMEOUT_MS / 1000} s; stopping it`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, RUN_TIMEOUT_MS);
  watchdog.unref();
  child.on('exit', (code, signal) => {
    clearTimeout(watchdog);
    process.exit(code ?? (signal ? 1 : 0));
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
    run('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, self, ...args], {
      ...process.env,
      BLOBSERVER_TEST_NETNS: '1',
    }, process.cwd());
  } else {
    console.error(`scripts/test.mjs: no loopback-only network namespace (${why}); ${ddbLocalNote()}`);
    main();
  }
} else {
  if (process.env.BLOBSERVER_TEST_NETNS !== '1') console.error(`scripts/test.mjs: BLOBSERVER_TEST_NETNS=${process.env.BLOBSERVER_TEST_NETNS}; ${ddbLocalNote()}`);
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

function main() {
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
  const concurrency = Number(process.env.BLOBSERVER_TEST_CONCURRENCY || Math.max(2, availableParallelism()));
  run(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...flags, ...files],
    {
      // The SDK's notice that future releases need Node 22 is not about this run; it would
      // otherwise be printed once per test file.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...process.env,
    },
  );
}
