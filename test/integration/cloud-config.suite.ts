import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateFunctionCommand, DeleteFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { keyIdFor } from '../../lambda/core/auth/tokens.js';
import { SIGNING_KEY_MIN_LENGTH } from '../../lambda/core/limits.js';
import { newSigningKey, rotate, type RotationStep } from '../../lambda/rotate-signing-key.js';
import type { LocalServer } from '../../local/server.js';
import { localStackEndpoint } from '../support/backends.js';
import { basicAuth, startTestServer, type Lane, type TestServer } from '../support/test-server.js';
import { newBlob, part, preupload, preuploadRaw, blobForm, tokenOf, uploadParts, type Blob } from './seed.suite.js';

/**
 * The cloud configuration, on LocalStack's Secrets Manager (run by cloud-config.localstack.test.ts,
 * and under the functions' roles by cloud-config.iam.test.ts): the server reads its HTTP Basic
 * credentials (BLOBSERVER_AUTH_SECRET_ID) and its upload-URL signing key
 * (BLOBSERVER_SIGNING_KEY_SECRET_ID) from secrets, and the rotation function's four steps
 * (lambda/rotate-signing-key.ts) rotate that key while upload URLs handed out before keep working.
 *
 * LocalStack's RotateSecret starts a rotation as AWS does (a new version labelled AWSPENDING,
 * no value yet) but cannot invoke the function without Docker; the test then runs the
 * function's four steps itself, in order, as Lambda would, against the real Secrets Manager API.
 */
const STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
/** The smallest valid zip archive (an empty one): the rotation function is only named, never run. */
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

export interface CloudConfigOptions {
  /** Told the ARNs of the two secrets once they exist (the permission lane maps the stack's secrets to them). */
  onSecrets?(secrets: { credentials: string; signingKey: string }): void;
  /** Credentials the rotation function's own calls are signed with (its role in the permission lane); default the harness's. */
  rotationCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export function defineCloudConfigSuite(L: Lane, options: CloudConfigOptions = {}): void {
  describe(`cloud configuration from Secrets Manager [${L.name}]`, { skip: L.unavailable() }, () => {
    const user = { username: 'carol', password: randomBytes(18).toString('base64url') };
    const auth = basicAuth(user.username, user.password);
    const initialKey = newSigningKey();
    let sm: SecretsManagerClient;
    /** The rotation function's client. */
    let rotation: SecretsManagerClient;
    let lambda: LambdaClient;
    let ts: TestServer;
    let keySecretArn: string;
    let rotationFunctionArn: string;
    const cleanups: (() => Promise<unknown>)[] = [];

    /** A server that has just started (a cold start): it reads the secrets afresh. */
    const coldStart = async (): Promise<LocalServer> => ts.startSibling({});

    before(async () => {
      const { url } = localStackEndpoint();
      const client = { region: 'us-east-1', ...(url ? { endpoint: url } : {}), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
      sm = new SecretsManagerClient(client);
      lambda = new LambdaClient(client);
      const prefix = `blobserver-test-${randomUUID()}`;
      const authSecret = await sm.send(new CreateSecretCommand({ Name: `${prefix}/auth`, SecretString: JSON.stringify(user) }));
      const keySecret = await sm.send(new CreateSecretCommand({ Name: `${prefix}/signing-key`, SecretString: initialKey }));
      keySecretArn = keySecret.ARN!;
      options.onSecrets?.({ credentials: authSecret.ARN!, signingKey: keySecretArn });
      cleanups.push(() => sm.send(new DeleteSecretCommand({ SecretId: authSecret.ARN, ForceDeleteWithoutRecovery: true })));
      cleanups.push(() => sm.send(new DeleteSecretCommand({ SecretId: keySecretArn, ForceDeleteWithoutRecovery: true })));
      const fn = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: `${prefix.replace(/[^A-Za-z0-9-]/g, '')}-rotate`.slice(0, 64),
          Runtime: 'nodejs22.x',
          Handler: 'rotate-signing-key.handler',
          Role: 'arn:aws:iam::000000000000:role/blobserver-rotation',
          Code: { ZipFile: EMPTY_ZIP },
        }),
      );
      rotationFunctionArn = fn.FunctionArn!;
      cleanups.push(() => lambda.send(new DeleteFunctionCommand({ FunctionName: rotationFunctionArn })));
      ts = await startTestServer(L.factory, {
        BLOBSERVER_AUTH: '',
        BLOBSERVER_AUTH_SECRET_ID: authSecret.ARN!,
        BLOBSERVER_SIGNING_KEY_SECRET_ID: keySecretArn,
      });
      // The rotation function's calls go where the server's do (through the lane's proxy, if any).
      if (options.rotationCredentials) {
        const endpoint = ts.backend.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
        assert.ok(endpoint, `${L.name} has no Secrets Manager endpoint for the rotation function`);
        rotation = new SecretsManagerClient({ ...client, endpoint, credentials: options.rotationCredentials });
      } else {
        rotation = sm;
      }
    });
    after(async () => {
      await ts?.close();
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    /** Starts a rotation in Secrets Manager, then runs the function's four steps; returns the new version id. */
    const rotateSigningKey = async (): Promise<string> => {
      const token = randomUUID();
      const started = await sm.send(
        new RotateSecretCommand({
          SecretId: keySecretArn,
          RotationLambdaARN: rotationFunctionArn,
          ClientRequestToken: token,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      assert.equal(started.VersionId, token);
      for (const Step of STEPS) await rotate(rotation, { SecretId: keySecretArn, ClientRequestToken: token, Step });
      return token;
    };
    const stage = async (VersionStage: string) => (await sm.send(new GetSecretValueCommand({ SecretId: keySecretArn, VersionStage }))).SecretString;
    const uploadVia = async (server: string, uploadUrl: string, b: Blob) => uploadParts(`${server}/camli/upload/${tokenOf(uploadUrl)}`, [part(b)]);

    it('takes its HTTP Basic credentials from the secret: 401 without or with other ones, 200 with them', async () => {
      assert.equal((await preuploadRaw(ts.url, blobForm([]), undefined)).status, 401);
      assert.equal((await preuploadRaw(ts.url, blobForm([]), basicAuth())).status, 401, 'the test default credentials must not work');
      assert.equal((await preuploadRaw(ts.url, blobForm([]), basicAuth(user.username, 'wrong'))).status, 401);
      const ok = await preuploadRaw(ts.url, blobForm([]), auth);
      assert.equal(ok.status, 200, ok.text);
    });

    it('signs upload URLs with the secret key; the rotation steps replace it and URLs from before keep working', async () => {
      const target = { url: ts.url, authorization: auth };
      const before = (await preupload(target)).uploadUrl;
      assert.equal(tokenOf(before).split('.')[0], keyIdFor(Buffer.from(initialKey)), 'upload URL not signed with the key from Secrets Manager');

      const version = await rotateSigningKey();
      const described = await sm.send(new DescribeSecretCommand({ SecretId: keySecretArn }));
      // The end state the rotation protocol requires: AWSCURRENT on the new version, AWSPENDING on none other.
      const stages = Object.entries(described.VersionIdsToStages ?? {});
      assert.deepEqual(
        stages.filter(([, s]) => s.includes('AWSCURRENT')).map(([v]) => v),
        [version],
      );
      assert.deepEqual(
        stages.filter(([v, s]) => s.includes('AWSPENDING') && v !== version),
        [],
      );
      const rotated = await stage('AWSCURRENT');
      assert.ok(rotated && rotated.length >= SIGNING_KEY_MIN_LENGTH && rotated !== initialKey, 'no new current key');
      assert.equal(await stage('AWSPREVIOUS'), initialKey, 'the old key is not AWSPREVIOUS');

      // A function instance started after the rotation signs with the new key and still accepts the old URL.
      const fresh = await coldStart();
      try {
        const after = (await preupload({ url: fresh.url, authorization: auth })).uploadUrl;
        assert.equal(tokenOf(after).split('.')[0], keyIdFor(Buffer.from(rotated)));
        const [b1, b2, b3] = [newBlob(), newBlob(), newBlob()];
        for (const [server, url, b] of [
          [fresh.url, before, b1],
          [ts.url, before, b2], // the instance that handed it out, keys still cached
          [ts.url, after, b3], // an instance with cached keys meets the new key: it reloads them
        ] as const) {
          const a = await uploadVia(server, url, b);
          assert.equal(a.status, 200, a.text);
          assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }]);
        }
      } finally {
        await fresh.close();
      }

      // A second rotation retires the first key: a URL from before both is refused (403), not stored.
      await rotateSigningKey();
      const later = await coldStart();
      try {
        const b = newBlob();
        const refused = await uploadVia(later.url, before, b);
        assert.equal(refused.status, 403, refused.text);
        assert.equal(await ts.storage.row(b.ref), undefined);
      } finally {
        await later.close();
      }
    });
  });
}
