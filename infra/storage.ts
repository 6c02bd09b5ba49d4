import { type CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { NO_CMK, skipCheckov } from './checkov.js';
import { INDEX_SCHEMA } from '../lambda/core/storage/index-schema.js';
import { BLOB_PREFIX, GENERATION_KEY, PACK_PREFIX, STAGING_PREFIX, FSCK_RUNS_PREFIX, inEveryNamespace } from '../lambda/core/storage/object-keys.js';

export interface StorageProps {
  ephemeral: boolean;
  /** Browser origins that may POST upload forms to the bucket; empty: no CORS rule. */
  corsOrigins: string[];
  /** Days a deleted object's noncurrent version is kept (settings.recoveryWindowDays). */
  recoveryWindowDays: number;
  /** The customer-managed key of the bucket and table (infra/encryption.ts); undefined: SSE-S3 and DynamoDB's AWS-owned key. */
  encryptionKey?: IKey | undefined;
}

/**
 * Blob bytes (S3) and the blob index (DynamoDB). Both are retained when the stack is deleted
 * unless the stack is ephemeral: losing them loses the user's data.
 */
export class Storage extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly table: Table;
  /**
   * ARN patterns of the blobs' own objects (`blobs/<ref>/<id>`, and the first model's
   * `blobs/<ref>`), in the root namespace and in every named one (`ns/<name>/blobs/...`, DESIGN §12).
   */
  readonly ownObjectsArns: string[];
  /** ARN patterns of the packs of small blobs (`packs/<day>/<id>`), likewise. */
  readonly packObjectsArns: string[];
  /** Both: every key a blob's bytes can be at. */
  readonly blobObjectsArns: string[];
  /** ARN pattern of the unverified uploads under the staging prefix (DESIGN §6). */
  readonly stagingObjectsArn: string;
  /** ARNs of the objects holding each namespace's generation (discovery's storageGeneration). */
  readonly generationObjectArns: string[];
  /** ARN pattern of the scheduled collection's scratch objects (`fsck-runs/<run>/...`). */
  readonly scratchObjectsArn: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const privateBucket = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // SSE-S3: encrypted at rest with no KMS key for the functions to be granted.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: props.ephemeral,
    };

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...privateBucket,
      lifecycleRules: [{ id: 'expire-old-access-logs', expiration: Duration.days(365) }],
    });

    skipCheckov(
      this.accessLogs,
      {
        id: 'CKV_AWS_18',
        comment: 'This is the access-log bucket itself: logging its own access would log the log deliveries, endlessly; the blob bucket logs into it.',
      },
      {
        id: 'CKV_AWS_21',
        comment:
          'Access logs are written once by the S3 log delivery service and expire after a year; no function may write or delete them, so versions would recover nothing.',
      },
    );

    this.bucket = new Bucket(this, 'Blobs', {
      ...privateBucket,
      // SSE-KMS with the S3 Bucket Key: one KMS request per object per few minutes instead of per request.
      ...(props.encryptionKey ? { encryption: BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true } : {}),
      // The recovery window: a deleted object (by the collector, a bug or a stolen key) becomes a
      // noncurrent version that fsck --repair can restore until it expires.
      versioned: true,
      // aws-cdk-lib's Bucket types isWebsite `boolean | undefined`, its IBucket `isWebsite?: boolean`:
      // the same thing, except under exactOptionalPropertyTypes.
      serverAccessLogsBucket: this.accessLogs as IBucket,
      serverAccessLogsPrefix: 'blobs-bucket/',
      lifecycleRules: [
        // Scratch and staging are not the user's data: their deleted versions go after a day, not the window.
        { id: 'expire-abandoned-staging', prefix: STAGING_PREFIX, expiration: Duration.days(1), noncurrentVersionExpiration: Duration.days(1) },
        // A collection run deletes its scratch objects when it ends; these are a failed run's.
        { id: 'expire-collection-scratch', prefix: FSCK_RUNS_PREFIX, expiration: Duration.days(2), noncurrentVersionExpiration: Duration.days(1) },
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Deleted objects are billed as noncurrent versions until then; the delete markers left
        // behind once their versions are gone are removed too (they cost a LIST entry each).
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(props.recoveryWindowDays), expiredObjectDeleteMarker: true },
      ],
    });
    const everywhere = (pattern: string) => [this.bucket.arnForObjects(pattern), this.bucket.arnForObjects(inEveryNamespace(pattern))];
    this.ownObjectsArns = everywhere(`${BLOB_PREFIX}*`);
    this.packObjectsArns = everywhere(`${PACK_PREFIX}*`);
    this.blobObjectsArns = [...this.ownObjectsArns, ...this.packObjectsArns];
    this.generationObjectArns = everywhere(GENERATION_KEY);
    this.stagingObjectsArn = this.bucket.arnForObjects(`${STAGING_PREFIX}*`);
    this.scratchObjectsArn = this.bucket.arnForObjects(`${FSCK_RUNS_PREFIX}*`);
    // Browsers POST uploadForm straight to the bucket and read presigned (ranged) GETs from it:
    // allowed only from the configured origins (the page at /ui needs none: it POSTs no-cors).
    if (props.corsOrigins.length > 0) {
      this.bucket.addCorsRule({
        allowedOrigins: props.corsOrigins,
        allowedMethods: [HttpMethods.POST, HttpMethods.GET, HttpMethods.HEAD],
        allowedHeaders: ['*'],
        exposedHeaders: ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag'],
        maxAge: 86400,
      });
    }

    // Same key schema as lambda/core/storage/provision.ts (both from INDEX_SCHEMA; range shards, no GSI); a test compares them.
    this.table = new Table(this, 'Index', {
      partitionKey: { name: INDEX_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: INDEX_SCHEMA.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey } : {}),
      deletionProtection: !props.ephemeral,
      removalPolicy,
    });
    if (props.ephemeral) acknowledgeAutoDelete(this);
    if (!props.encryptionKey) skipCheckov(this.table, { id: 'CKV_AWS_119', comment: NO_CMK('the index table (DynamoDB encrypts it with an AWS-owned key)') });
  }
}

/** CDK's own function that empties an ephemeral stack's buckets on deletion (autoDeleteObjects). */
function acknowledgeAutoDelete(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider');
  const handler = provider?.node.tryFindChild('Handler') as CfnResource | undefined;
  if (!handler) return;
  const reason = "CDK's autoDeleteObjects handler of an ephemeral (dev) stack, run by CloudFormation only when the stack is deleted";
  skipCheckov(
    handler,
    { id: 'CKV_AWS_115', comment: `${reason}: one invocation per bucket, nothing to cap.` },
    { id: 'CKV_AWS_116', comment: `${reason}: CloudFormation invokes it synchronously and reports a failure itself.` },
    { id: 'CKV_AWS_117', comment: `${reason}: it calls only the S3 API, and reaches no private resource a VPC would protect.` },
  );
}
