import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, readConfig } from '../../lambda/core/config.js';
import { readLocalServerConfig } from '../../local/config.js';
import { MAX_INLINE_BLOB_SIZE } from '../../lambda/core/limits.js';
import { presignEndpoint } from '../../local/server.js';

describe('inline GET limit', () => {
  it(`defaults to ${MAX_INLINE_BLOB_SIZE}, whose base64 fits Lambda's 6 MB response with room for headers`, () => {
    assert.equal(readConfig({}).maxInlineGetSize, MAX_INLINE_BLOB_SIZE);
    assert.ok(Math.ceil(MAX_INLINE_BLOB_SIZE / 3) * 4 + 64 * 1024 < 6 * 1024 * 1024);
  });

  it('may be lowered but never raised above what Lambda can return', () => {
    assert.equal(readConfig({ BLOBSERVER_MAX_INLINE_GET_SIZE: '1000' }).maxInlineGetSize, 1000);
    assert.throws(() => readConfig({ BLOBSERVER_MAX_INLINE_GET_SIZE: String(MAX_INLINE_BLOB_SIZE + 1) }), ConfigError);
    assert.throws(() => readConfig({ BLOBSERVER_MAX_INLINE_GET_SIZE: '0' }), ConfigError);
  });
});

describe('presigned URL endpoint', () => {
  it('is BLOBSERVER_S3_PUBLIC_ENDPOINT when set, else unset (the S3 endpoint itself)', () => {
    assert.equal(readConfig({ BLOBSERVER_S3_PUBLIC_ENDPOINT: 'http://127.0.0.1:4566' }).endpoints.s3Public, 'http://127.0.0.1:4566');
    assert.equal(readConfig({ AWS_ENDPOINT_URL_S3: 'http://localstack:4566' }).endpoints.s3Public, undefined);
  });

  it("names a loopback S3 by the other loopback name than the local server's, so Go clients drop credentials on the redirect", () => {
    assert.equal(presignEndpoint('http://127.0.0.1:4569', '127.0.0.1'), 'http://localhost:4569');
    assert.equal(presignEndpoint('http://localhost:4569', '127.0.0.1'), 'http://localhost:4569');
    assert.equal(presignEndpoint('http://127.0.0.1:4569', 'localhost'), 'http://127.0.0.1:4569');
    assert.equal(presignEndpoint('http://localhost:4569/', 'localhost'), 'http://127.0.0.1:4569');
  });

  it('leaves other endpoints alone', () => {
    assert.equal(presignEndpoint(undefined, '127.0.0.1'), undefined);
    assert.equal(presignEndpoint('https://s3.eu-west-1.amazonaws.com', '127.0.0.1'), undefined);
    assert.equal(presignEndpoint('http://localstack:4566', '127.0.0.1'), undefined);
  });
});

describe('local server AWS credentials', () => {
  it('carry the session token of temporary credentials (SSO, an assumed role)', () => {
    const env = { BLOBSERVER_EMBEDDED: 'false', AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' };
    assert.deepEqual(readLocalServerConfig(env).config.credentials, { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
    const { AWS_SESSION_TOKEN: _, ...longTerm } = env;
    assert.deepEqual(readLocalServerConfig(longTerm).config.credentials, { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret' });
    // Their expiry too, as the SDK reads it from the environment: presigned URLs must not outlive it.
    const expiring = readLocalServerConfig({ ...env, AWS_CREDENTIAL_EXPIRATION: '2030-01-02T03:04:05Z' }).config.credentials;
    assert.equal(expiring?.expiration?.toISOString(), '2030-01-02T03:04:05.000Z');
    assert.throws(() => readLocalServerConfig({ ...env, AWS_CREDENTIAL_EXPIRATION: 'soon' }), /AWS_CREDENTIAL_EXPIRATION/);
  });

  it("are LocalStack's test/test for an endpoint with no keys, and the emulators' own when embedded", () => {
    assert.deepEqual(readLocalServerConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }).config.credentials, { accessKeyId: 'test', secretAccessKey: 'test' });
    assert.equal(readLocalServerConfig({}).config.credentials, undefined);
  });
});

describe('completion grace', () => {
  it('defaults to the largest blob at 32 KiB/s plus 300 s, follows BLOBSERVER_MAX_BLOB_SIZE, and may be set', () => {
    assert.equal(readConfig({}).completionGraceSeconds, 812);
    assert.equal(readConfig({ BLOBSERVER_MAX_BLOB_SIZE: String(256 << 20) }).completionGraceSeconds, 8492);
    assert.equal(readConfig({ BLOBSERVER_COMPLETION_GRACE_SECONDS: '5' }).completionGraceSeconds, 5);
    assert.throws(() => readConfig({ BLOBSERVER_COMPLETION_GRACE_SECONDS: '0' }), ConfigError);
  });
});

describe('BLOBSERVER_CORS_ORIGINS', () => {
  it('is a comma-separated list of origins, none by default', () => {
    assert.deepEqual(readLocalServerConfig({}).corsOrigins, []);
    assert.deepEqual(readLocalServerConfig({ BLOBSERVER_CORS_ORIGINS: 'https://app.example, http://127.0.0.1:8080' }).corsOrigins, [
      'https://app.example',
      'http://127.0.0.1:8080',
    ]);
  });

  it('refuses what a browser would never send as an Origin', () => {
    for (const bad of ['app.example', 'https://app.example/', 'https://app.example/path', 'ftp://app.example', '*']) {
      assert.throws(() => readLocalServerConfig({ BLOBSERVER_CORS_ORIGINS: bad }), ConfigError, bad);
    }
  });
});

describe('BLOBSERVER_EMULATOR_THREADS', () => {
  it('runs the embedded emulators on worker threads unless set to false', () => {
    assert.equal(readLocalServerConfig({}).emulatorThreads, true);
    assert.equal(readLocalServerConfig({ BLOBSERVER_EMULATOR_THREADS: 'false' }).emulatorThreads, false);
    assert.equal(readLocalServerConfig({ BLOBSERVER_EMULATOR_THREADS: 'true' }).emulatorThreads, true);
  });
});
