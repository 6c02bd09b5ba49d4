import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, type IChainable, JsonPath, LogLevel, Map as MapState, StateMachine, TaskInput } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DEFAULT_FSCK_GRACE_MS } from '../lambda/core/limits.js';
import { BLOB_PREFIX, PACK_PREFIX, STAGING_PREFIX, FSCK_RUNS_PREFIX, NAMESPACES_PREFIX, inEveryNamespace } from '../lambda/core/storage/object-keys.js';
import { METRICS_NAMESPACE } from '../lambda/core/telemetry.js';
import { BlobserverFunction, SERVICE_NAME } from './blobserver-function.js';
import { NO_CMK, skipCheckov } from './checkov.js';
import { grantKeyUse } from './encryption.js';
import type { BlobServerSettings } from './settings.js';
import type { Storage } from './storage.js';

/**
 * Scheduled garbage collection (docs/storage-model.md, "Scheduled collection"): an EventBridge
 * Scheduler schedule starts a Step Functions state machine that runs one `fsck --repair` over
 * the store, cut into pieces (lambda/core/fsck/collector.ts), each one invocation of the collector
 * function:
 *
 *   Plan -> Map(AuditRows over the 512 ref-prefix partitions) -> PlanPackDays
 *        -> Map(AuditPacks over the days that have packs) -> Finish (staging, scratch)
 *
 * An alarm fires when a run finds damage (rows that do not serve their blob: the DamagedRows
 * metric the pieces emit), and when a run fails.
 */

/** A piece is a partition of the store: about 200k rows at 100M blobs, a minute or two; 10 min leaves room. */
export const COLLECTOR_TIMEOUT = Duration.minutes(10);
/** Memory bounds a piece: one page of rows and its objects, or one day's pack rows. */
export const COLLECTOR_MEMORY_MB = 1024;
/** Pieces at once: keeps the collection's read rate far below what the API's requests need. */
export const COLLECTION_CONCURRENCY = 8;
/** The metric a piece emits for rows that do not serve their blob (lambda/core/fsck/collector.ts). */
export const DAMAGE_METRIC = 'DamagedRows';

export interface CollectionProps {
  storage: Storage;
  settings: BlobServerSettings;
  encryptionKey?: IKey | undefined;
}

export class Collection extends Construct {
  readonly collector: BlobserverFunction;
  readonly stateMachine: StateMachine;
  /** Undefined when collectionEnabled is false (the state machine can still be started by hand). */
  readonly schedule?: Schedule;
  readonly damageAlarm: Alarm;
  readonly failureAlarm: Alarm;

  constructor(scope: Construct, id: string, { storage, settings, encryptionKey }: CollectionProps) {
    super(scope, id);
    this.collector = new BlobserverFunction(this, 'Collector', {
      entry: 'collect',
      description: 'Blob server scheduled collection: one partition of fsck --repair per invocation',
      memorySize: COLLECTOR_MEMORY_MB,
      timeout: COLLECTOR_TIMEOUT,
      logRetention: settings.logRetention,
      ephemeral: settings.ephemeral,
      logKey: encryptionKey,
      reservedConcurrency: settings.reservedConcurrency ? settings.collectorConcurrency : undefined,
      environment: {
        BLOBSERVER_TABLE: storage.table.tableName,
        BLOBSERVER_BUCKET: storage.bucket.bucketName,
        // Staged uploads are collected only past the URL lifetime plus the completion grace (derived from the blob limit).
        BLOBSERVER_UPLOAD_URL_TTL_SECONDS: String(settings.uploadUrlTtlSeconds),
        BLOBSERVER_MAX_BLOB_SIZE: String(settings.maxBlobSize),
        BLOBSERVER_FSCK_GRACE_SECONDS: String(DEFAULT_FSCK_GRACE_MS / 1000),
      },
    });
    grantCollector(this.collector.role, storage);
    // Reads rows, objects and noncurrent versions; writes packs, restored objects, scratch and rows.
    grantKeyUse(this.collector.role, encryptionKey, ['kms:Decrypt', 'kms:GenerateDataKey'], ['s3', 'dynamodb']);

    // Without a payload a piece gets its state's input as it is (a Map item: run plus partition).
    const piece = (name: string, payload?: TaskInput) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: this.collector.fn,
        ...(payload ? { payload } : {}),
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      }).addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(30), maxAttempts: 2, backoffRate: 2 });
    const overEach = (name: string, itemsPath: string, item: Record<string, unknown>, task: IChainable) =>
      new MapState(this, name, {
        itemsPath,
        itemSelector: { 'run.$': '$.run', ...item },
        // Never more pieces at once than the collector may run (its reserved concurrency).
        maxConcurrency: settings.reservedConcurrency ? Math.min(COLLECTION_CONCURRENCY, settings.collectorConcurrency) : COLLECTION_CONCURRENCY,
        // The pieces' summaries went to metrics and logs; the state's input (the plan) carries on.
        resultPath: JsonPath.DISCARD,
      }).itemProcessor(task);

    const definition = piece('Plan', TaskInput.fromObject({ action: 'plan' }))
      .next(overEach('AuditRowPartitions', '$.partitions', { action: 'rows', 'prefix.$': '$$.Map.Item.Value' }, piece('AuditRows')))
      .next(piece('PlanPackDays', TaskInput.fromObject({ action: 'days', 'run.$': '$.run' })))
      .next(overEach('AuditPackDays', '$.days', { action: 'packs', 'day.$': '$$.Map.Item.Value' }, piece('AuditPacks')))
      .next(piece('Finish', TaskInput.fromObject({ action: 'finish', 'run.$': '$.run' })));

    const logs = new LogGroup(this, 'StateMachineLogs', {
      retention: settings.logRetention,
      ...(encryptionKey ? { encryptionKey } : {}),
      removalPolicy: settings.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    if (!encryptionKey)
      skipCheckov(logs, { id: 'CKV_AWS_158', comment: NO_CMK('the state machine log group (CloudWatch Logs encrypts every log group at rest)') });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: 'Scheduled garbage collection of the blob store: fsck --repair, partition by partition',
      definitionBody: DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });

    if (settings.collectionEnabled) {
      this.schedule = new Schedule(this, 'Schedule', {
        description: `Starts the blob store's garbage collection every ${settings.collectionIntervalHours} h`,
        schedule: ScheduleExpression.rate(Duration.hours(settings.collectionIntervalHours)),
        target: new StepFunctionsStartExecution(this.stateMachine, {}),
      });
    }

    // Like infra/alarms.ts: one occurrence is worth a look; no run is not an outage.
    const alarmOn = (alarmId: string, metric: IMetric, alarmDescription: string) =>
      new Alarm(this, alarmId, {
        metric,
        alarmDescription,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.damageAlarm = alarmOn(
      'DamageFound',
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: DAMAGE_METRIC,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: 'Sum',
        period: Duration.hours(1),
      }),
      'The scheduled collection found index rows that do not serve their blob (deleted: those blobs must be uploaded again); see the collector logs',
    );
    this.failureAlarm = alarmOn(
      'CollectionFailed',
      this.stateMachine.metricFailed({ period: Duration.hours(1), statistic: 'Sum' }),
      'A scheduled collection run failed (garbage is not being reclaimed); see the state machine execution',
    );
    if (settings.alarmTopicArn) {
      const action = new SnsAction(Topic.fromTopicArn(this, 'Topic', settings.alarmTopicArn));
      for (const alarm of [this.damageAlarm, this.failureAlarm]) alarm.addAlarmAction(action);
    }

    acknowledgeNag(this, storage);
  }
}

/**
 * What a collection piece does, action by action: list and page rows (Query), re-read rows
 * before a repack (BatchGetItem), delete damaged rows and re-point repacked ones (conditional
 * DeleteItem/PutItem); list, HEAD/read, and delete objects under blobs/, packs/ and staging/;
 * write new packs; keep its scratch objects under fsck-runs/. Nothing else in the bucket. Restore a
 * damaged row's object from the recovery window: list and read noncurrent versions of blobs/ and
 * packs/ keys, and copy one back (PutObject there). It can never delete a version: nothing can.
 */
export function grantCollector(role: IRole, storage: Storage): void {
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'AuditIndex',
      actions: ['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem'],
      resources: [storage.table.tableArn],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListStore',
      actions: ['s3:ListBucket'],
      resources: [storage.bucket.bucketArn],
      // Every namespace's blobs/ and packs/ (DESIGN §12), and `ns/` itself: the plan lists the namespaces there.
      conditions: {
        StringLike: {
          's3:prefix': [
            ...[BLOB_PREFIX, PACK_PREFIX, STAGING_PREFIX, FSCK_RUNS_PREFIX].map((p) => `${p}*`),
            ...[BLOB_PREFIX, PACK_PREFIX].map((p) => inEveryNamespace(`${p}*`)),
            NAMESPACES_PREFIX,
          ],
        },
      },
    }),
  );
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'AuditObjects', actions: ['s3:GetObject', 's3:DeleteObject'], resources: storage.blobObjectsArns }));
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'Repack', actions: ['s3:PutObject'], resources: storage.packObjectsArns }));
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ListVersions',
      actions: ['s3:ListBucketVersions'],
      resources: [storage.bucket.bucketArn],
      // Every namespace's blobs/ and packs/: the restore runs per namespace.
      conditions: {
        StringLike: { 's3:prefix': [...[BLOB_PREFIX, PACK_PREFIX].map((p) => `${p}*`), ...[BLOB_PREFIX, PACK_PREFIX].map((p) => inEveryNamespace(`${p}*`))] },
      },
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({ sid: 'RestoreVersions', actions: ['s3:GetObjectVersion', 's3:PutObject'], resources: storage.blobObjectsArns }),
  );
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'CollectStaged', actions: ['s3:DeleteObject'], resources: [storage.stagingObjectsArn] }));
  role.addToPrincipalPolicy(
    new PolicyStatement({ sid: 'Scratch', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [storage.scratchObjectsArn] }),
  );
}

function acknowledgeNag(collection: Collection, storage: Storage): void {
  const stack = Stack.of(collection);
  const bucketId = stack.resolve(stack.getLogicalId(storage.bucket.node.defaultChild as CfnBucket)) as string;
  const role = collection.collector.role;
  const prefixes: [string, string][] = [
    [BLOB_PREFIX, 'blob objects under blobs/<ref>/<id>'],
    [PACK_PREFIX, 'packs under packs/<day>/<id>'],
    [STAGING_PREFIX, 'abandoned form uploads under staging/<id>/'],
    [FSCK_RUNS_PREFIX, 'its own scratch objects under fsck-runs/<run>/'],
    [inEveryNamespace(BLOB_PREFIX), "every namespace's blob objects under ns/<name>/blobs/"],
    [inEveryNamespace(PACK_PREFIX), "every namespace's packs under ns/<name>/packs/"],
  ];
  for (const [prefix, what] of prefixes) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason: `The collector audits and reclaims ${what}, keys known only from its listing: object actions are scoped to that prefix, never the whole bucket.`,
    });
  }
  const fnId = stack.resolve(stack.getLogicalId(collection.collector.fn.node.defaultChild as CfnBucket)) as string;
  Validations.of(collection.stateMachine).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
    reason: 'Step Functions invokes the collector function by any version or alias of its own ARN (the CDK LambdaInvoke grant); no other function.',
  });
  Validations.of(collection.stateMachine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'Step Functions log delivery and X-Ray trace writes do not support resource-level permissions (AWS documents Resource "*" for these actions).',
  });
}
