import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Function as LambdaFunction, LoggingFormat, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_SKIPS, NO_CMK, skipCheckov } from './checkov.js';
import { ARCHITECTURE, RUNTIME, functionCode, type EntryName } from './bundling.js';

export const SERVICE_NAME = 'blobserver';

export interface BlobserverFunctionProps {
  entry: EntryName;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment?: Record<string, string>;
  /**
   * Constants replacing the bundle's free identifiers (esbuild `define`): the read side's /ui
   * page, which thereby lands in the chunk only GET /ui loads (lambda/core/http/ui-page.ts).
   */
  define?: Record<string, string>;
  logRetention: RetentionDays;
  ephemeral: boolean;
  /** The log group's customer-managed key (settings.kmsKey); undefined: CloudWatch Logs' own encryption. */
  logKey?: IKey | undefined;
  /** Reserved concurrency: at most this many at once, and always this many available. */
  reservedConcurrency?: number | undefined;
}

/**
 * One Lambda function as every function of this service is built: locally bundled and
 * minified ESM split into chunks loaded on first use (bundling.ts), with source maps, arm64, JSON logs into its own log group with a retention,
 * and its own role that starts with nothing but writing to that log group (no AWS managed
 * policy), so the caller's grants are the whole of what it may do.
 */
export class BlobserverFunction extends Construct {
  readonly fn: LambdaFunction;
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
    this.fn = new LambdaFunction(this, 'Function', {
      code: functionCode(props.entry, props.define ? { define: props.define } : {}),
      handler: 'index.handler',
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
