import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobRefOf } from '../../client/hash.js';
import { BlobServerClient } from '../../client/http-client.js';
import { runCli, startCli } from '../support/cli.js';

/**
 * The CLI's one-line answers to the mistakes a new user makes (issue 16), and its timeouts:
 * a server that accepts and never answers, or stalls mid-body, fails in bounded time.
 */

const listen = async (server: Server | ReturnType<typeof createTcpServer>) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const FAST_RETRY = { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 };

describe('blobserver CLI messages and timeouts', () => {
  let work: string;
  /** Accepts connections and never says a word. */
  let silent: ReturnType<typeof createTcpServer>;
  let silentAddr: string;
  const sockets = new Set<Socket>();
  /** A plain-HTTP server: enumerate answers one page; preupload hands out an upload URL that never answers; GET sends half a body then stalls. */
  let http: Server;
  let httpAddr: string;
  const env = () => ({ CAMLI_CONFIG_DIR: join(work, 'no-config'), BLOBSERVER_AUTH: 'none' });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'client-messages-'));
    silent = createTcpServer((s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
    silentAddr = await listen(silent);
    http = createHttpServer((req, res) => {
      if (req.url?.startsWith('/camli/enumerate-blobs')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            blobs: [
              { blobRef: `sha224-${'a'.repeat(56)}`, size: 3, extra: 'x' },
              { blobRef: `sha224-${'b'.repeat(56)}`, size: 5 },
            ],
          }),
        );
      }
      if (req.url === '/camli/preupload') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ alreadyHave: [], uploadUrl: `http://${httpAddr}/hang`, maxUploadSize: 1 << 20, uploadUrlExpirationSeconds: 3600 }));
      }
      if (req.url === '/hang') return; // reads the upload, never answers
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' });
      res.write(Buffer.alloc(50)); // and nothing more
    });
    httpAddr = await listen(http);
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../../client/package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(r.stdout.toString(), `blobserver ${pkg.version}\n`);
  });

  it('a server URL without a scheme', async () => {
    const flag = await runCli(['ls', '--server', '127.0.0.1:3179'], env());
    assert.equal(flag.code, 1);
    assert.equal(flag.stderr, 'blobserver: config: --server 127.0.0.1:3179 has no scheme: say http://127.0.0.1:3179 or https://127.0.0.1:3179\n');
    const fromEnv = await runCli(['ls'], { ...env(), BLOBSERVER_URL: 'blobs.example.com' });
    assert.equal(fromEnv.code, 1);
    assert.equal(fromEnv.stderr, 'blobserver: server "blobs.example.com" is not an http:// or https:// URL (say http://blobs.example.com or https://...)\n');
  });

  it('--auth userpass:alice (no password)', async () => {
    const r = await runCli(['ls', '--server', `http://${httpAddr}`, '--auth', 'userpass:alice'], env());
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'blobserver: auth "userpass:alice" has no password: use userpass:USER:PASSWORD or none\n');
  });

  it('https:// to a plain-HTTP server', async () => {
    const r = await runCli(['ls', '--server', `https://${httpAddr}`], env());
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `blobserver: enumerate: cannot reach https://${httpAddr}: the TLS handshake failed; is it a plain HTTP server? (then say http://)\n`,
    );
  });

  it('a local path that does not exist', async () => {
    const missing = join(work, 'nope');
    const r = await runCli(['put', join(work), missing], { ...env(), BLOBSERVER_URL: `http://${silentAddr}` });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `blobserver: put: ${missing}: no such file or directory\n`);
  });

  it('ls --json prints one {"blobRef","size"} object per line, as its help says', async () => {
    const help = (await runCli(['--help'])).stdout.toString();
    assert.match(help, /with --json one \{"blobRef","size"\} JSON object per line/);
    const r = await runCli(['ls', '--json', '--server', `http://${httpAddr}`], env());
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines, [
      { blobRef: `sha224-${'a'.repeat(56)}`, size: 3 },
      { blobRef: `sha224-${'b'.repeat(56)}`, size: 5 },
    ]);
  });

  it('ls against a server that accepts and never answers fails after the connect timeout', async () => {
    const r = await runCli(['ls', '--server', `http://${silentAddr}`, '--connect-timeout', '0.3'], env());
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `blobserver: enumerate: http://${silentAddr} did not answer within 0.3 s (tried 6 times)\n`);
  });

  it('the library: an upload nobody answers fails after the idle timeout plus 1 s per 32 KiB sent', async () => {
    const client = new BlobServerClient({ server: `http://${httpAddr}`, idleTimeoutMs: 200, retry: FAST_RETRY });
    const bytes = Buffer.alloc(16 << 10, 7); // + 0.5 s
    await assert.rejects(
      client.uploadBatch([{ ref: blobRefOf(bytes), bytes }]),
      /^BlobServerError: upload: http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.7 s \(tried 2 times\)$/,
    );
  });

  it('the library: a stalled body fails after the idle timeout; an AbortSignal stops a request', async () => {
    const stalled = new BlobServerClient({ server: `http://${httpAddr}`, idleTimeoutMs: 200, retry: FAST_RETRY });
    await assert.rejects(stalled.get(`sha224-${'c'.repeat(56)}`), {
      message: `get: http://${httpAddr} stalled: no data for 0.2 s (tried 2 times)`,
      retryable: true,
    });
    const ctl = new AbortController();
    const hanging = new BlobServerClient({ server: `http://${silentAddr}`, signal: ctl.signal, retry: FAST_RETRY });
    const pending = hanging.stat([`sha224-${'d'.repeat(56)}`]);
    setTimeout(() => ctl.abort(), 100);
    await assert.rejects(pending, { message: 'stat: aborted', aborted: true, retryable: false });
    await assert.rejects(hanging.stat([`sha224-${'d'.repeat(56)}`]), { message: 'stat: aborted' }, 'an aborted client starts nothing');
  });

  it('Ctrl-C during put ends the progress line and says re-running resumes', async () => {
    const file = join(work, 'f.bin');
    await writeFile(file, Buffer.alloc(1000, 1));
    const run = startCli(['put', '--progress', file], { ...env(), BLOBSERVER_URL: `http://${silentAddr}` });
    let seen = '';
    await new Promise<void>((resolve) => run.child.stderr!.on('data', (d: Buffer) => ((seen += d), seen.includes('blobs ') && resolve())));
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130);
    assert.match(
      r.stderr,
      /blobs 0\/\d+, read 0\.0 MB of 0\.0 MB, sent 0\.0 MB, stored 0\.0 MB[^\n]*\nblobserver: interrupted; run the same put again to resume \(blobs already stored are not sent again\)\n$/,
    );
  });
});
