import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import { BLOB_PREFIX, GENERATION_KEY, PACK_PREFIX, STAGING_PREFIX, inEveryNamespace } from '../lambda/core/storage/object-keys.js';
import type { Secrets } from './secrets.js';
import type { Storage } from './storage.js';

/**
 * What each function may do, written out action by action (no grantReadWriteData()-style
 * helpers: those add Scan, DescribeTable, DeleteObject... that the handlers never call).
 * Tests compare each role's permissions with these lists exactly.
 */

/** Read side: index lookups (preupload/stat/enumerate), blob reads (get) and its secrets. */
export function grantReadSide(role: IRole, storage: Storage, secrets: Secrets): void {
  // Row reads (stat, preupload, get: BatchGetItem, even for one row) and enumerate-blobs' Query per range shard, all on the base table.
  role.addToPrincipalPolicy(
    new PolicyStatement({ sid: 'ReadIndex', actions: ['dynamodb:BatchGetItem', 'dynamodb:Query'], resources: [storage.table.tableArn] }),
  );
  // GET/HEAD /camli/{blobref}: reading blob bytes, whole or a pack's range.
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'ReadBlobs', actions: ['s3:GetObject'], resources: storage.blobObjectsArns }));
  // Discovery's storageGeneration: read it, and create it on first use. Only a conditional
  // create (If-None-Match: *) is allowed, so the read side can never replace it.
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'ReadStorageGeneration', actions: ['s3:GetObject'], resources: storage.generationObjectArns }));
  grantKnowMissing(role, storage, [`${BLOB_PREFIX}*`, `${PACK_PREFIX}*`, GENERATION_KEY].flatMap(withNamespaces));
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'CreateStorageGeneration',
      actions: ['s3:PutObject'],
      resources: storage.generationObjectArns,
      conditions: { StringEquals: { 's3:if-none-match': '*' } },
    }),
  );
  grantFormSigning(role, storage);
  grantSecrets(role, secrets);
}

/**
 * Write side: stores verified blobs and their index rows; checks existing rows first. Verifies
 * staged uploads: reads them, copies them under blobs/ (GetObject there + PutObject here), and
 * deletes them, verified or refused; it can delete nothing else unless removal is enabled.
 */
export function grantWriteSide(role: IRole, storage: Storage, secrets: Secrets, opts: { allowRemove: boolean }): void {
  // New objects (packs/, blobs/), and HeadObject (s3:GetObject) on a re-sent blob's object to repair a lost one.
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'WriteBlobs', actions: ['s3:PutObject', 's3:GetObject'], resources: storage.blobObjectsArns }));
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'VerifyStaged', actions: ['s3:GetObject', 's3:DeleteObject'], resources: [storage.stagingObjectsArn] }));
  grantKnowMissing(role, storage, [...[`${BLOB_PREFIX}*`, `${PACK_PREFIX}*`].flatMap(withNamespaces), `${STAGING_PREFIX}*`]);
  grantFormSigning(role, storage);
  // A completion's row is a conditional PutItem (only while there is no row, or while it still
  // names the lost object it replaces), so concurrent completions promote once.
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'WriteIndex',
      actions: ['dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem'],
      resources: [storage.table.tableArn],
    }),
  );
  // Usage per namespace (issue 27): an upload's reservation, its refund and a remove's release
  // are UpdateItems of the namespace's usage item in the same table; setting a quota (admin) too;
  // so are taking and letting go the namespace's row-creation lock (an item beside it).
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'CountUsage', actions: ['dynamodb:UpdateItem'], resources: [storage.table.tableArn] }));
  if (opts.allowRemove) {
    // Only when removal is enabled, and only here: no other function can ever delete. Only a
    // blob's own objects (blobs/); packs are reclaimed by fsck, run by an operator.
    role.addToPrincipalPolicy(new PolicyStatement({ sid: 'RemoveBlobs', actions: ['s3:DeleteObject'], resources: storage.ownObjectsArns }));
    role.addToPrincipalPolicy(new PolicyStatement({ sid: 'RemoveIndexRows', actions: ['dynamodb:DeleteItem'], resources: [storage.table.tableArn] }));
  }
  grantSecrets(role, secrets);
}

/** A root key pattern and the same in every named namespace (ns/<any>/..., DESIGN §12); staging/ is shared, never namespaced. */
function withNamespaces(pattern: string): string[] {
  return [pattern, inEveryNamespace(pattern)];
}

/**
 * Without s3:ListBucket, S3 answers a GET/HEAD of a missing key with 403 AccessDenied, not 404,
 * which the code would take for a storage failure (a lost object could never be repaired, a
 * replayed completion would answer 503 forever). So each side may "list" exactly the key
 * prefixes it reads, and then gets 404 for a missing key there, while a real denial (anything
 * outside its grants) stays a 403 that is never mistaken for absence. docs/deploy.md argues it.
 */
function grantKnowMissing(role: IRole, storage: Storage, prefixes: string[]): void {
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'KnowMissingKeys',
      actions: ['s3:ListBucket'],
      resources: [storage.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes } },
    }),
  );
}

/**
 * Both sides answer with an uploadForm: a presigned POST is signed with the minting function's
 * own credentials, so S3 accepts the client's upload only if that function may PutObject there.
 */
function grantFormSigning(role: IRole, storage: Storage): void {
  role.addToPrincipalPolicy(new PolicyStatement({ sid: 'SignUploadForms', actions: ['s3:PutObject'], resources: [storage.stagingObjectsArn] }));
}

/** Both sides check HTTP Basic credentials (all but signed URLs) and sign or verify upload URLs. */
function grantSecrets(role: IRole, secrets: Secrets): void {
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadSecrets',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secrets.credentials.secretArn, secrets.signingKey.secretArn],
    }),
  );
}
