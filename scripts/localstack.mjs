/**
 * LocalStack for the test run: started ONCE by scripts/test.mjs, in host mode (no Docker),
 * from the pinned virtualenv that scripts/localstack/install.sh makes, and shared by every
 * test file that uses its lane (each test server has its own bucket and secrets).
 *
 * LocalStack's gateway (twisted) binds 0.0.0.0 whatever GATEWAY_LISTEN says, so it is only
 * started inside the loopback-only network namespace scripts/test.mjs runs in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Where scripts/localstack/install.sh puts LocalStack's virtualenv (git-ignored). */
export const VENV_DIR = '.localstack-venv';
export const INSTALL_COMMAND = 'bash scripts/localstack/install.sh';
/** What the lane needs from LocalStack. Lambda is there only so RotateSecret accepts a function ARN (it cannot run one without Docker). */
const SERVICES = ['s3', 'secretsmanager', 'lambda'];
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

/** Why LocalStack cannot be started from this checkout, or undefined when it can. */
export function localStackUnavailable(root) {
  const python = join(root, VENV_DIR, 'bin', 'python');
  if (!existsSync(python)) return `LocalStack is not installed (no ${VENV_DIR}/); install it with \`${INSTALL_COMMAND}\``;
  const probe = spawnSync(python, ['-c', 'import localstack.runtime.main'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (probe.status !== 0)
    return `LocalStack in ${VENV_DIR}/ does not import (${probe.stderr.toString().trim().split('\n').pop()}); reinstall it with \`${INSTALL_COMMAND}\``;
  return undefined;
}

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts LocalStack with all its files under `dir` and waits (bounded) until its services
 * answer. Returns its endpoint and a `stop()` that ends it by its process id.
 */
export async function startLocalStack(root, dir) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'localstack.log');
  const log = openSync(logFile, 'a');
  const proc = spawn(join(root, VENV_DIR, 'bin', 'python'), ['-m', 'localstack.runtime.main'], {
    cwd: dir,
    // Its own process group, so stop() also ends any helper process it forked.
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      // This machine looks like a container to LocalStack; without this it writes to /var/lib/localstack and /etc/localstack.
      OVERRIDE_IN_DOCKER: '0',
      FILESYSTEM_ROOT: join(dir, 'fs'),
      SERVICES: SERVICES.join(','),
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      // Nothing outside loopback: no DNS server, no certificate download, no analytics.
      DNS_ADDRESS: '0',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      DISABLE_EVENTS: '1',
      // Check the SigV4 signatures of presigned URLs (the server's redirects and upload targets), as S3 does.
      S3_SKIP_SIGNATURE_VALIDATION: '0',
    },
  });
  const exited = new Promise((ok) => proc.once('exit', (code, signal) => ok(signal ?? code)));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const group = (signal) => {
      try {
        process.kill(-proc.pid, signal);
      } catch {
        /* already gone */
      }
    };
    group('SIGTERM');
    const timer = setTimeout(() => group('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`LocalStack exited (${proc.exitCode ?? proc.signalCode}) before it was ready; see ${logFile}`);
    }
    try {
      const res = await fetch(`${endpoint}/_localstack/health`);
      const health = (await res.json()).services ?? {};
      const notReady = ['s3', 'secretsmanager'].filter((s) => !['available', 'running'].includes(health[s]));
      if (notReady.length === 0) return { endpoint, pid: proc.pid, logFile, stop };
      last = `services not ready: ${notReady.join(', ')}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`LocalStack was not ready within ${READY_TIMEOUT_MS / 1000} s (${last}); see ${logFile}`);
}
