import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateFunctionCommand, DeleteFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CollectorSummary } from '../../lambda/core/fsck/collector.js';
import type { FsckRun } from '../../lambda/core/fsck/fsck.js';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
import { localStackEndpoint } from '../support/backends.js';
import type { DeployedStack } from '../support/deployed-stack.js';
import { deployedSkip, openDeployedStack } from '../support/deployed-target.js';
import { LAMBDA_NODE_MAJOR, lambdaNode, type EmulatedFunction } from '../support/rie.js';
import { awsClientsFor, emulatorCredentials } from '../support/storage.js';
import { newBlob, store } from './seed.suite.js';

/**
 * The two functions no route reaches, as `cdk synth` bundles them, in the Lambda RIE on Node 24:
 * the collector invoked piece by piece as its state machine invokes it (plan, the rows of a
 * partition, days, packs, finish) finds and deletes a row whose object was lost; the signing-key
 * rotation function runs the four steps of a rotation LocalStack's RotateSecret started (LocalStack
 * cannot invoke it without Docker, so the test invokes it as Secrets Manager would).
 */
const skip = deployedSkip();
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

async function invoke<T>(fn: EmulatedFunction, event: unknown): Promise<T> {
  const out = await fn.invoke(JSON.stringify(event), randomUUID());
  assert.equal(out.functionError, false, `${fn.spec.name}: ${out.payload.toString('utf8')}`);
  return JSON.parse(out.payload.toString('utf8')) as T;
}

const only = (d: DeployedStack, pattern: RegExp): EmulatedFunction => {
  const found = [...d.unrouted].filter(([id]) => pattern.test(id));
  assert.equal(found.length, 1, `functions matching ${pattern}: ${[...d.unrouted.keys()]}`);
  return found[0]![1];
};

describe('the collector and the key rotation bundles in the Lambda RIE', { skip }, () => {
  let d: DeployedStack;
  before(async () => {
    d = await openDeployedStack();
  });
  after(() => d?.close());

  it(`run on Node ${LAMBDA_NODE_MAJOR}, the template's runtime`, () => {
    assert.match(lambdaNode()?.version ?? 'none', new RegExp(`^v${LAMBDA_NODE_MAJOR}\\.`));
    console.error(`deployed-artifact lane: the bundles run on Node ${lambdaNode()?.version} (tests on ${process.version})`);
  });

  it('the collector finds a row whose object was lost, deletes it, and leaves a healthy blob served', async () => {
    const collector = only(d, /Collector/);
    const target = { url: d.url, authorization: d.authorization };
    const [lost, kept] = [newBlob(3000), newBlob(4000)];
    await store(target, lost);
    await store(target, kept);
    const clients = awsClientsFor(d.backend.env);
    try {
      const index = new DynamoBlobIndex(clients.ddb, d.names.table);
      const row = (await index.get([lost.ref])).get(lost.ref);
      assert.ok(row, 'no row for the stored blob');
      // Lost for good: its versions too, or the collector would restore it (the recovery window).
      const listed = await clients.s3.send(new ListObjectVersionsCommand({ Bucket: d.names.bucket, Prefix: row.key }));
      for (const v of [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter((v) => v.Key === row.key)) {
        await clients.s3.send(new DeleteObjectCommand({ Bucket: d.names.bucket, Key: row.key, VersionId: v.VersionId }));
      }
      await new S3BlobStore(clients.s3, d.names.bucket).delete(row.key);

      const plan = await invoke<{ run: FsckRun; partitions: string[] }>(collector, { action: 'plan' });
      assert.equal(plan.partitions.length, 512);
      const total = { damaged: 0, rowsDeleted: 0, rows: 0 };
      for (const prefix of plan.partitions.filter((p) => [lost.ref, kept.ref].some((r) => r.startsWith(p)))) {
        const s = await invoke<CollectorSummary>(collector, { action: 'rows', run: plan.run, prefix });
        for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
      }
      const { days } = await invoke<{ days: string[] }>(collector, { action: 'days', run: plan.run });
      for (const day of days) await invoke<CollectorSummary>(collector, { action: 'packs', run: plan.run, day });
      await invoke<CollectorSummary>(collector, { action: 'finish', run: plan.run });

      assert.deepEqual(total, { damaged: 1, rowsDeleted: 1, rows: 2 });
      assert.equal((await index.get([lost.ref])).size, 0, 'the damaged row is still there');
      assert.equal((await fetch(`${d.url}/camli/${lost.ref}`, { headers: { authorization: d.authorization } })).status, 404);
      const served = await fetch(`${d.url}/camli/${kept.ref}`, { headers: { authorization: d.authorization } });
      assert.equal(served.status, 200);
      assert.ok(Buffer.from(await served.arrayBuffer()).equals(kept.data));
    } finally {
      clients.s3.destroy();
      clients.ddb.destroy();
    }
  });

  it('the rotation function takes a RotateSecret through its four steps: a new AWSCURRENT, the old key AWSPREVIOUS', async () => {
    const rotation = only(d, /Rotation/);
    const keyId = Object.keys(d.refs).find((id) => /SigningKey/.test(id) && d.refs[id]!.startsWith('arn:'));
    assert.ok(keyId, `no signing key secret among ${Object.keys(d.refs)}`);
    const SecretId = d.refs[keyId]!;
    const endpoint = localStackEndpoint().url;
    assert.ok(endpoint, 'no LocalStack');
    const client = { region: d.backend.env.AWS_REGION, endpoint, credentials: emulatorCredentials(d.backend.env) };
    const sm = new SecretsManagerClient(client);
    const lambda = new LambdaClient(client);
    try {
      const before = (await sm.send(new GetSecretValueCommand({ SecretId }))).SecretString;
      const fn = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: `rotate-${randomUUID()}`.slice(0, 64),
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: 'arn:aws:iam::000000000000:role/blobserver-rotation',
          Code: { ZipFile: EMPTY_ZIP },
        }),
      );
      try {
        const token = randomUUID();
        await sm.send(
          new RotateSecretCommand({ SecretId, RotationLambdaARN: fn.FunctionArn, ClientRequestToken: token, RotationRules: { AutomaticallyAfterDays: 30 } }),
        );
        for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
          await invoke<unknown>(rotation, { SecretId, ClientRequestToken: token, Step });
        }
        const stages = (await sm.send(new DescribeSecretCommand({ SecretId }))).VersionIdsToStages ?? {};
        assert.ok(stages[token]?.includes('AWSCURRENT'), JSON.stringify(stages));
        // As the protocol requires (Secrets Manager, not the function, clears the new version's AWSPENDING).
        assert.deepEqual(
          Object.entries(stages).filter(([v, s]) => v !== token && s.includes('AWSPENDING')),
          [],
        );
        const current = (await sm.send(new GetSecretValueCommand({ SecretId }))).SecretString;
        assert.notEqual(current, before);
        assert.equal((await sm.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSPREVIOUS' }))).SecretString, before);
      } finally {
        await lambda.send(new DeleteFunctionCommand({ FunctionName: fn.FunctionArn })).catch(() => undefined);
      }
    } finally {
      sm.destroy();
      lambda.destroy();
    }
  });
});
