import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BLOB_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { MAX_ALLOWED_BLOB_SIZE } from '../../lambda/core/limits.js';
import { STAGING_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { ensureTable } from '../../lambda/core/storage/provision.js';
import { DEFAULT_SETTINGS, MAX_UPLOAD_SIZE_ON_LAMBDA, SettingsError, settingsFromContext } from '../../infra/settings.js';
import { grants, logicalId, onlyOfType, permissionsOf, propertiesOf, resourceOf, resourcesOfType, synth } from './helpers.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ops';

// A dev stack with every switch turned: synthesized once (no bundling needed for the template).
const dev = synth({
  ephemeral: 'true',
  allowRemove: 'true',
  stage: 'v1',
  maxUploadSize: '1000000',
  maxBlobSize: '33554432',
  uploadUrlTtlSeconds: '600',
  corsOrigins: 'https://a.example, https://b.example',
  throttleRateLimit: '5',
  throttleBurstLimit: '10',
  logRetentionDays: '7',
  signingKeyRotationDays: '7',
  alarmTopicArn: TOPIC,
  username: 'alice',
});
const { stack, json } = dev;
const names: Record<string, string> = {
  [logicalId(stack.storage.bucket)]: 'bucket',
  [logicalId(stack.storage.table)]: 'table',
  [logicalId(stack.secrets.credentials)]: 'credentials',
  [logicalId(stack.secrets.signingKey)]: 'signingKey',
  [logicalId(stack.functions.read.logGroup)]: 'readLogs',
  [logicalId(stack.functions.write.logGroup)]: 'writeLogs',
};

describe('context switches', () => {
  it('ephemeral: bucket, table and logs are destroyed with the stack, objects auto-deleted, no deletion protection', () => {
    for (const bucket of [stack.storage.bucket, stack.storage.accessLogs]) assert.equal(resourceOf(json, logicalId(bucket)).DeletionPolicy, 'Delete');
    const table = resourceOf(json, logicalId(stack.storage.table));
    assert.equal(table.DeletionPolicy, 'Delete');
    assert.equal(table.Properties!['DeletionProtectionEnabled'], false);
    assert.equal(table.Properties!['PointInTimeRecoverySpecification'].PointInTimeRecoveryEnabled, true);
    assert.equal(resourcesOfType(json, 'Custom::S3AutoDeleteObjects').length, 2);
    for (const [, group] of resourcesOfType(json, 'AWS::Logs::LogGroup')) assert.equal(group.DeletionPolicy, 'Delete');
  });

  it('allowRemove: the write side, and only it, may delete objects under blobs/ and index rows', () => {
    const write = permissionsOf(json, logicalId(stack.functions.write.role), names);
    for (const line of grants(['s3:DeleteObject'], [`bucket/${BLOB_PREFIX}*`, `bucket/ns/*/${BLOB_PREFIX}*`]).concat(
      grants(['dynamodb:DeleteItem'], ['table']),
    )) {
      assert.ok(write.includes(line), line);
    }
    assert.deepEqual(
      write.filter((l) => l.includes('Delete')),
      [
        'dynamodb:DeleteItem table',
        `s3:DeleteObject bucket/${BLOB_PREFIX}*`,
        `s3:DeleteObject bucket/${STAGING_PREFIX}*`,
        `s3:DeleteObject bucket/ns/*/${BLOB_PREFIX}*`,
      ].sort(),
    );
    for (const role of [stack.functions.read.role, stack.secrets.rotation.role]) {
      assert.deepEqual(
        permissionsOf(json, logicalId(role), names).filter((l) => l.includes('Delete')),
        [],
      );
    }
  });

  it('settings reach the functions environment', () => {
    for (const f of [stack.functions.read, stack.functions.write]) {
      const env = propertiesOf(json, logicalId(f.fn))['Environment'].Variables;
      assert.equal(env.BLOBSERVER_ALLOW_REMOVE, 'true');
      assert.equal(env.BLOBSERVER_MAX_UPLOAD_SIZE, '1000000');
      assert.equal(env.BLOBSERVER_MAX_BLOB_SIZE, '33554432');
      assert.equal(env.BLOBSERVER_UPLOAD_URL_TTL_SECONDS, '600');
    }
  });

  it('stage name, throttling, CORS origins, log retention, rotation period and user name come from context', () => {
    const stage = onlyOfType(json, 'AWS::ApiGatewayV2::Stage');
    assert.equal(stage.Properties!['StageName'], 'v1');
    assert.deepEqual(stage.Properties!['DefaultRouteSettings'], { ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5 });
    const cors = propertiesOf(json, logicalId(stack.api.httpApi))['CorsConfiguration'];
    assert.deepEqual(cors.AllowOrigins, ['https://a.example', 'https://b.example']);
    assert.deepEqual([...cors.AllowHeaders].sort(), ['authorization', 'content-type']);
    assert.equal(cors.AllowCredentials, true);
    // Browsers POST uploadForm to the bucket itself and read (ranged) presigned GETs from it:
    // the same origins, those methods, and the headers a ranged read needs.
    const bucketCors = propertiesOf(json, logicalId(stack.storage.bucket))['CorsConfiguration'];
    assert.deepEqual(bucketCors.CorsRules, [
      {
        AllowedOrigins: ['https://a.example', 'https://b.example'],
        AllowedMethods: ['POST', 'GET', 'HEAD'],
        AllowedHeaders: ['*'],
        ExposedHeaders: ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag'],
        MaxAge: 86400,
      },
    ]);
    for (const [, group] of resourcesOfType(json, 'AWS::Logs::LogGroup')) assert.equal(group.Properties!['RetentionInDays'], 7);
    const rotation = onlyOfType(json, 'AWS::SecretsManager::RotationSchedule');
    assert.equal(rotation.Properties!['RotationRules'].ScheduleExpression, 'rate(7 days)');
    const credentials = propertiesOf(json, logicalId(stack.secrets.credentials))['GenerateSecretString'];
    assert.deepEqual(JSON.parse(credentials.SecretStringTemplate), { username: 'alice' });
  });

  it('a named stage shows in the API URL output', () => {
    assert.match(JSON.stringify(json.Outputs!['ApiUrl']?.Value), /"\/v1"\]\]\}$/);
  });

  it('alarmTopicArn: every alarm notifies the topic', () => {
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm');
    // API 5xx, errors and throttles of 4 functions, collection damage and failure.
    assert.equal(alarms.length, 11);
    for (const [, alarm] of alarms) assert.deepEqual(alarm.Properties!['AlarmActions'], [TOPIC]);
  });
});

describe('settings from context', () => {
  const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (k: string) => values[k] });

  it('no context means the defaults', () => {
    assert.deepEqual(settingsFromContext(ctx({})), DEFAULT_SETTINGS);
    assert.equal(DEFAULT_SETTINGS.ephemeral, false);
    assert.equal(DEFAULT_SETTINGS.allowRemove, false);
    assert.equal(DEFAULT_SETTINGS.stageName, '$default');
  });

  it('accepts cdk.json types (booleans, numbers, arrays) as well as --context strings', () => {
    const s = settingsFromContext(ctx({ allowRemove: true, maxUploadSize: 1234, corsOrigins: ['https://x.example'], logRetentionDays: 14 }));
    assert.equal(s.allowRemove, true);
    assert.equal(s.maxUploadSize, 1234);
    assert.deepEqual(s.corsOrigins, ['https://x.example']);
    assert.equal(s.logRetention, RetentionDays.TWO_WEEKS);
  });

  const rejects: [string, Record<string, unknown>][] = [
    ['a non-boolean switch', { ephemeral: 'yes' }],
    ['a non-numeric size', { maxUploadSize: '4MB' }],
    ['a zero TTL', { uploadUrlTtlSeconds: '0' }],
    ['a body that cannot fit a 6 MB Lambda event', { maxUploadSize: String(MAX_UPLOAD_SIZE_ON_LAMBDA + 1) }],
    ['a blob larger than one completion verifies inside 29 s', { maxBlobSize: String(MAX_ALLOWED_BLOB_SIZE + 1) }],
    ['a retention CloudWatch does not offer', { logRetentionDays: '4' }],
    ['rotations closer than a URL lifetime (old URLs would break)', { uploadUrlTtlSeconds: String(3 * 86400), signingKeyRotationDays: '3' }],
    ['a stage name API Gateway refuses', { stage: 'my stage' }],
    ['a user name with a colon (userpass:USER:PASSWORD)', { username: 'a:b' }],
  ];
  for (const [what, values] of rejects) {
    it(`rejects ${what}`, () => assert.throws(() => settingsFromContext(ctx(values)), SettingsError));
  }

  it('bad context fails synth, before anything is deployed', () => {
    assert.throws(() => synth({ maxUploadSize: String(MAX_UPLOAD_SIZE_ON_LAMBDA + 1) }), SettingsError);
  });
});

describe('the local server provisions the same table', () => {
  it('lambda/core/storage/provision.ts creates the key schema the stack deploys (range shards, no GSI)', async () => {
    let created: CreateTableCommand['input'] | undefined;
    const fake = {
      send: async (command: unknown) => {
        if (command instanceof CreateTableCommand) {
          created = command.input;
          return {};
        }
        if (command instanceof DescribeTableCommand) {
          if (!created) throw new ResourceNotFoundException({ message: 'no table', $metadata: {} });
          return { Table: { TableStatus: 'ACTIVE' } };
        }
        throw new Error(`unexpected ${String(command)}`);
      },
    } as unknown as DynamoDBClient;
    await ensureTable(fake, 'blobs');
    assert.ok(created);
    // The table's shape does not depend on the switches of the dev stack.
    const table = onlyOfType(json, 'AWS::DynamoDB::Table');
    const p = table.Properties!;
    const byName = (a: { AttributeName?: string | undefined }, b: { AttributeName?: string | undefined }) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName));
    assert.deepEqual([...created.AttributeDefinitions!].sort(byName), [...p['AttributeDefinitions']].sort(byName));
    assert.deepEqual(created.KeySchema, p['KeySchema']);
    assert.equal(created.BillingMode, p['BillingMode']);
    assert.equal(created.GlobalSecondaryIndexes, undefined);
    assert.equal(p['GlobalSecondaryIndexes'], undefined);
  });
});
