import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from '../support/http.js';
import { basicAuth, lane, startTestServer, type TestServer } from '../support/test-server.js';
import { addCredential } from './credentials.suite.js';
import { blobForm, newBlob, parts, preupload, uploadParts } from './seed.suite.js';

/**
 * The audit line (docs/security.md): every request's log line names the credential it was made
 * with (its id; `owner` for the owner's), and no log line holds a secret or a signed URL's token.
 */
describe('the audit log line', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(lane('dynalite+s3rver').factory, { POWERTOOLS_LOG_LEVEL: 'INFO' });
  });
  after(async () => {
    await ts?.close();
  });

  /** What the server (in this process) writes to stdout while `fn` runs: the functions' JSON log lines. */
  async function logged(fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
    try {
      await fn();
    } finally {
      process.stdout.write = write;
    }
    return chunks
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('names the credential of every request, refused ones too, and never a secret or a token', async () => {
    const phone = await addCredential(ts.url, basicAuth(), { label: 'phone', namespaces: ['audit'], operations: ['write'] });
    const phoneAuth = 'Basic ' + Buffer.from(`${phone.id}:${phone.secret}`).toString('base64');
    let uploadUrl = '';
    const lines = await logged(async () => {
      uploadUrl = (await preupload({ url: `${ts.url}/audit`, authorization: phoneAuth })).uploadUrl;
      assert.equal((await uploadParts(uploadUrl, parts([newBlob()]))).status, 200);
      assert.equal((await request(`${ts.url}/audit/camli/enumerate-blobs`, { auth: phoneAuth })).status, 403);
      const wrong = 'Basic ' + Buffer.from(`${phone.id}:wrong-${phone.secret}`).toString('base64');
      assert.equal((await request(`${ts.url}/audit/camli/stat?${blobForm([])}`, { auth: wrong })).status, 401);
      assert.equal((await request(`${ts.url}/camli/stat?${blobForm([])}`, { auth: basicAuth() })).status, 200);
    });
    const requests = lines.filter((l) => l['message'] === 'request');
    assert.equal(requests.length, 5, JSON.stringify(lines));
    assert.deepEqual(
      requests.map((l) => [l['routeKey'], l['status'], l['credential']]),
      [
        ['POST /{namespace}/camli/preupload', 200, phone.id],
        ['POST /{namespace}/camli/upload/{token}', 200, phone.id],
        ['GET /{namespace}/camli/enumerate-blobs', 403, phone.id],
        ['GET /{namespace}/camli/stat', 401, phone.id],
        ['GET /camli/stat', 200, 'owner'],
      ],
    );
    const all = JSON.stringify(lines);
    assert.ok(!all.includes(phone.secret), 'no secret in the logs');
    assert.ok(!all.includes(uploadUrl.split('/').pop()!), 'no upload token in the logs');
  });
});
