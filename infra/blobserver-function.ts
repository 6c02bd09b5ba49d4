import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, LoggingFormat, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_SKIPS, NO_CMK, skipCheckov } from './checkov.js';
import { ARCHITECTURE, BUNDLING, ENTRIES, PROJECT_ROOT, RUNTIME, type EntryName } from './bundling.js';

export const SERVICE_NAME = 'blobserver';

export interface BlobserverFunctionProps {
  entry: EntryName;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment?: Record<string, string>;
  /**
   * Modules whose exports replace the bundle's free identifiers of the same names (esbuild
   * `inject`): the read side's /ui page. Not a `define`: CDK passes those on esbuild's command
   * line, and the page is larger than the 128 KiB Linux allows one argument (E2BIG).
   */
  inject?: string[];
  logRetention: RetentionDays;
  ephemeral: boolean;
  /** The log group's customer-managed key (settings.kmsKey); undefined: CloudWatch Logs' own encryption. */
  logKey?: IKey | undefined;
  /** Reserved concurrency: at most this many at once, and always this many available. */
  reservedConcurrency?: number | undefined;
}

/**
 * One Lambda function as every function of this service is built: locally bundled and
 * minified ESM with source maps, arm64, JSON logs into its own log group with a retention,
 * and its own role that starts with nothing but writing to that log group (no AWS managed
 * policy), so the caller's grants are the whole of what it may do.
 */
export class BlobserverFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: BlobserverFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      ...(props.logKey ? { encryptionKey: props.logKey } : {}),
      removalPolicy: props.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (least privilege)`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
    );
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, ENTRIES[props.entry]),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: props.memorySize,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      bundling: props.inject ? { ...BUNDLING, inject: props.inject } : BUNDLING,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        ...props.environment,
      },
    });
    skipCheckov(this.fn, ...FUNCTION_SKIPS);
    if (props.reservedConcurrency === undefined) {
      skipCheckov(this.fn, {
        id: 'CKV_AWS_115',
        comment:
          'reservedConcurrency=false: the account cannot spare the reservations (its quota leaves under 100 unreserved); the API throttles still cap the rate (docs/hardening.md).',
      });
    }
    if (!props.logKey) skipCheckov(this.logGroup, { id: 'CKV_AWS_158', comment: NO_CMK('this log group (CloudWatch Logs encrypts every log group at rest)') });
  }
}
