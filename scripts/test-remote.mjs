#!/usr/bin/env node
/**
 * `npm run test:remote -- <BASE_URL> [files...] [--node-test-flags]`: the protocol suites'
 * remote lane (test/integration/*.remote.ts) against an already running server, e.g. a
 * LocalStack deployment or the API URL of a real stack. Only tests that need no server
 * control run; the rest are reported skipped with the reason.
 *
 *   BLOBSERVER_TEST_AUTH=userpass:USER:PASSWORD   the server's credentials (unset: an open server)
 *
 * Every test uploads fresh random blobs, so runs can repeat against the same server; the
 * blobs stay there (the seed protocol has no delete).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const url = args.find((a) => !a.startsWith('-'));
if (!url || !/^https?:\/\/[^/]/.test(url)) {
  console.error(
    'usage: npm run test:remote -- <BASE_URL> [test files...] [node --test flags]\n' +
      '  e.g. BLOBSERVER_TEST_AUTH=userpass:alice:secret npm run test:remote -- https://abc123.execute-api.eu-west-1.amazonaws.com',
  );
  process.exit(2);
}
const rest = args.filter((a) => a !== url);
const flags = rest.filter((a) => a.startsWith('-'));
const chosen = rest.filter((a) => !a.startsWith('-'));
const dir = join(root, 'test', 'integration');
const files = chosen.length
  ? chosen
  : readdirSync(dir)
      .filter((f) => f.endsWith('.remote.ts'))
      .sort()
      .map((f) => join('test', 'integration', f));
if (process.env.BLOBSERVER_TEST_AUTH === undefined)
  console.error('test:remote: BLOBSERVER_TEST_AUTH is unset: treating the server as open (credential tests skipped)');

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=180000', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, BLOBSERVER_TEST_REMOTE_URL: url.replace(/\/+$/, '') },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
