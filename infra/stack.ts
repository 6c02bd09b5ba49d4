import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.js';
import { Api } from './api.js';
import { Budget } from './budget.js';
import { Collection } from './collection.js';
import { encryptionKeyFor } from './encryption.js';
import { Dashboard } from './dashboard.js';
import { Functions } from './functions.js';
import { Secrets } from './secrets.js';
import { DEFAULT_SETTINGS, validateSettings, type BlobServerSettings } from './settings.js';
import { Storage } from './storage.js';
import { enableTracing } from './tracing.js';

export interface BlobServerStackProps extends StackProps {
  /** Overrides of DEFAULT_SETTINGS (infra/app.ts passes what CDK context says). */
  settings?: Partial<BlobServerSettings>;
}

/** The whole production system of DESIGN §1: storage, secrets, functions, API, scheduled collection, alarms. */
export class BlobServerStack extends Stack {
  readonly settings: BlobServerSettings;
  readonly storage: Storage;
  readonly secrets: Secrets;
  readonly functions: Functions;
  readonly api: Api;
  readonly collection: Collection;
  readonly alarms: Alarms;
  /** The customer-managed key of settings.kmsKey, if any. */
  readonly encryptionKey: IKey | undefined;
  readonly budget: Budget | undefined;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: BlobServerStackProps = {}) {
    super(scope, id, props);
    const settings = validateSettings({ ...DEFAULT_SETTINGS, ...props.settings });
    this.settings = settings;

    const encryptionKey = encryptionKeyFor(this, settings.kmsKey);
    this.encryptionKey = encryptionKey;
    this.storage = new Storage(this, 'Storage', {
      ephemeral: settings.ephemeral,
      corsOrigins: settings.corsOrigins,
      recoveryWindowDays: settings.recoveryWindowDays,
      encryptionKey,
    });
    this.secrets = new Secrets(this, 'Secrets', { ...settings, encryptionKey });
    this.functions = new Functions(this, 'Functions', { storage: this.storage, secrets: this.secrets, settings, encryptionKey });
    this.api = new Api(this, 'Api', { functions: this.functions, settings, encryptionKey });
    this.collection = new Collection(this, 'Collection', { storage: this.storage, settings, encryptionKey });
    const functions = {
      Read: this.functions.read,
      Write: this.functions.write,
      SigningKeyRotation: this.secrets.rotation,
      Collector: this.collection.collector,
    };
    this.alarms = new Alarms(this, 'Alarms', { api: this.api, functions, alarmTopicArn: settings.alarmTopicArn });
    this.dashboard = new Dashboard(this, 'Dashboard', { api: this.api, functions, storage: this.storage, collection: this.collection });
    if (settings.tracing) enableTracing(Object.values(functions));
    this.budget = settings.budgetMonthlyUsd === undefined ? undefined : new Budget(this, 'Budget', { monthlyUsd: settings.budgetMonthlyUsd, ...settings });

    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the blob server (the Perkeep server URL)', value: this.api.stage.url });
    new CfnOutput(this, 'CredentialsSecretName', {
      description: 'Secrets Manager secret holding {"username","password"} for HTTP Basic',
      value: this.secrets.credentials.secretName,
    });
    new CfnOutput(this, 'SigningKeySecretName', {
      description: 'Secrets Manager secret holding the upload-URL signing key',
      value: this.secrets.signingKey.secretName,
    });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    // What docs/deploy.md's first deployment and teardown read, by name.
    new CfnOutput(this, 'AccessLogBucketName', { description: "The blob bucket's access-log bucket", value: this.storage.accessLogs.bucketName });
    new CfnOutput(this, 'CollectionStateMachineArn', {
      description: 'The scheduled garbage collection (start it by hand: aws stepfunctions start-execution)',
      value: this.collection.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'DashboardUrl', { description: 'The CloudWatch dashboard of the service', value: this.dashboard.url() });
    new CfnOutput(this, 'Region', { description: 'The region the stack is deployed in (what the CLI and pk-put reach)', value: this.region });
  }
}
