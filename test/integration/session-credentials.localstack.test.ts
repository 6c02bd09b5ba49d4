import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { localStackEndpoint } from '../support/backends.js';
import { basicAuth, lane, startTestServer, type TestServer } from '../support/test-server.js';
import { policyOf, postFormRedirected } from '../support/upload-form.js';
import { newBlob, preupload } from './seed.suite.js';
import { follow } from './upload-form.suite.js';

/**
 * The large-blob lane with session credentials, as a Lambda function has them: the server signs
 * with credentials from LocalStack's STS (GetSessionToken, 15 minutes), given as the SDK reads
 * them from the environment (AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION). Its uploadForm then
 * promises no longer than those credentials live, and the form they signed is accepted by
 * LocalStack's S3 (which checks the signature and the policy) and completes.
 */
const L = lane('dynamodb-local+localstack');

interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

/** STS GetSessionToken on LocalStack (query API; LocalStack routes by the credential scope's service). */
async function sessionCredentials(url: string, seconds: number): Promise<SessionCredentials> {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: `Action=GetSessionToken&Version=2011-06-15&DurationSeconds=${seconds}`,
  });
  const xml = await r.text();
  assert.equal(r.status, 200, xml);
  const field = (name: string) => {
    const m = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml);
    assert.ok(m, `no ${name} in ${xml}`);
    return m[1]!;
  };
  return { accessKeyId: field('AccessKeyId'), secretAccessKey: field('SecretAccessKey'), sessionToken: field('SessionToken'), expiration: field('Expiration') };
}

describe(`uploadForm signed with session credentials [${L.name}]`, { skip: L.unavailable() }, () => {
  let ts: TestServer;
  let creds: SessionCredentials;
  const target = () => ({ url: ts.url, authorization: basicAuth() });

  before(async () => {
    creds = await sessionCredentials(localStackEndpoint().url!, 900);
    ts = await startTestServer(L.factory, {
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SESSION_TOKEN: creds.sessionToken,
      AWS_CREDENTIAL_EXPIRATION: creds.expiration,
    });
  });
  after(async () => {
    await ts?.close();
  });

  it('the form, its policy and its completion promise no longer than the credentials live (the upload URL keeps its 2 h)', async () => {
    const answer = await preupload(target());
    const left = (Date.parse(creds.expiration) - Date.now()) / 1000;
    assert.ok(left > 0 && left <= 900, `credentials live ${left} s`);
    assert.ok(
      answer.uploadForm.expirationSeconds <= Math.ceil(left),
      `uploadForm promises ${answer.uploadForm.expirationSeconds} s, credentials live ${left} s`,
    );
    assert.ok(Date.parse(policyOf(answer.uploadForm).expiration) <= Date.parse(creds.expiration) + 1000);
    assert.equal(answer.uploadUrlExpirationSeconds, 7200, 'the upload URL is our own token, not signed by AWS credentials');
    assert.equal(answer.uploadForm.fields['X-Amz-Security-Token'], creds.sessionToken, 'the form is signed with the session credentials');
  });

  it('S3 accepts the form those credentials signed, and the completion stores the blob', async () => {
    const b = newBlob(1_500_000);
    const location = await postFormRedirected((await preupload(target())).uploadForm, b.data, b.ref);
    const done = await follow(location);
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(done.json.received, [{ blobRef: b.ref, size: b.data.length }]);
    const got = await fetch(`${ts.url}/camli/${b.ref}`, { headers: { authorization: basicAuth() } });
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(b.data));
  });
});
