import type { IncomingHttpHeaders } from 'node:http';
import type { AuthRequest } from './iam-policy.js';

/**
 * What IAM authorises for one HTTP request to S3 (path-style REST), DynamoDB or Secrets Manager
 * (JSON with X-Amz-Target), as the permission lane's proxy sees it: the IAM action(s), the
 * resource ARN(s) and the condition keys, and who signed it (the session token). Pure.
 */

export interface AwsHttpRequest {
  method: string;
  /** Path and query, as received (path-style S3: /bucket/key). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Where {
  region: string;
  account: string;
}

export type Service = 's3' | 'dynamodb' | 'secretsmanager';

export interface RequestAuth {
  service: Service;
  /** Human-readable operation (GetObject, BatchWriteItem, ...). */
  operation: string;
  /** The session token the request was signed with (header, presigned query, or form field). */
  sessionToken?: string | undefined;
  /** Made by a client with a presigned URL or form (the signer's rights apply), not by the function itself. */
  presigned?: boolean;
  /** Every one must be allowed (CopyObject: PutObject on the target and GetObject on the source). */
  checks: AuthRequest[];
  /**
   * S3 reads of one object (GET/HEAD, a copy's source): when S3 finds no such key it answers 404
   * only if this (s3:ListBucket on the bucket) is allowed too, else 403 AccessDenied.
   */
  ifMissing?: AuthRequest | undefined;
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
};

export const s3BucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;
export const s3ObjectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

/** The ListBucket question S3 asks before telling a caller that a key does not exist. */
export function listBucketFor(bucket: string, key: string): AuthRequest {
  return { action: 's3:ListBucket', resource: s3BucketArn(bucket), context: { 's3:prefix': key } };
}

/** A browser-form POST's fields before the file part (S3 reads no further), by lower-cased name. */
export function formFields(contentType: string | undefined, body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!boundary) return fields;
  const text = body.toString('latin1');
  for (const part of text.split(`--${boundary[1] ?? boundary[2]}`)) {
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) continue;
    const head = part.slice(0, headEnd);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (!name) continue;
    if (/filename=/i.test(head)) break;
    fields.set(name.toLowerCase(), Buffer.from(part.slice(headEnd + 4).replace(/\r\n$/, ''), 'latin1').toString('utf8'));
  }
  return fields;
}

function s3Auth(req: AwsHttpRequest): RequestAuth {
  const url = new URL(req.url, 'http://s3.local');
  const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const q = url.searchParams;
  const method = req.method.toUpperCase();
  let sessionToken = header(req.headers, 'x-amz-security-token') ?? q.get('X-Amz-Security-Token') ?? undefined;
  let presigned = q.has('X-Amz-Signature');
  const out = (operation: string, checks: AuthRequest[], ifMissing?: AuthRequest): RequestAuth => ({
    service: 's3',
    operation,
    sessionToken,
    presigned,
    checks,
    ifMissing,
  });
  const bucketCheck = (action: string, context?: AuthRequest['context']): AuthRequest => ({ action, resource: s3BucketArn(bucket), context });

  if (!key) {
    if (method === 'POST' && /^multipart\/form-data/i.test(header(req.headers, 'content-type') ?? '') && ![...q.keys()].length) {
      // POST Object: the policy's signer needs PutObject on the key the form names.
      const fields = formFields(header(req.headers, 'content-type'), req.body);
      sessionToken = fields.get('x-amz-security-token') ?? sessionToken;
      presigned = true;
      return out('PostObject', [{ action: 's3:PutObject', resource: s3ObjectArn(bucket, fields.get('key') ?? '') }]);
    }
    if (method === 'GET' && q.has('location')) return out('GetBucketLocation', [bucketCheck('s3:GetBucketLocation')]);
    if (method === 'GET' && q.has('uploads')) throw new Error(`unmapped S3 bucket request: ${method} ${req.url}`);
    if (method === 'GET' && q.has('versions')) {
      // ListObjectVersions: its own action, with the same condition keys as a listing.
      return out('ListObjectVersions', [bucketCheck('s3:ListBucketVersions', { 's3:prefix': q.get('prefix') ?? '' })]);
    }
    if (method === 'PUT' && q.has('versioning')) return out('PutBucketVersioning', [bucketCheck('s3:PutBucketVersioning')]);
    if (method === 'PUT' && q.has('lifecycle')) return out('PutBucketLifecycleConfiguration', [bucketCheck('s3:PutLifecycleConfiguration')]);
    if (method === 'GET' || method === 'HEAD') {
      const context = { 's3:prefix': q.get('prefix') ?? '', 's3:delimiter': q.get('delimiter') ?? undefined, 's3:max-keys': q.get('max-keys') ?? undefined };
      return out(method === 'HEAD' ? 'HeadBucket' : q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects', [bucketCheck('s3:ListBucket', context)]);
    }
    if (method === 'PUT' && ![...q.keys()].length) return out('CreateBucket', [bucketCheck('s3:CreateBucket')]);
    if (method === 'DELETE' && ![...q.keys()].length) return out('DeleteBucket', [bucketCheck('s3:DeleteBucket')]);
    if (method === 'POST' && q.has('delete')) {
      const keys = [...req.body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]!));
      return out(
        'DeleteObjects',
        keys.map((k) => ({ action: 's3:DeleteObject', resource: s3ObjectArn(bucket, k) })),
      );
    }
    throw new Error(`unmapped S3 bucket request: ${method} ${req.url}`);
  }

  const object = (action: string, context?: AuthRequest['context']): AuthRequest => ({ action, resource: s3ObjectArn(bucket, key), context });
  // A request naming a version is authorised as the *Version action (S3's documented mapping).
  const versioned = q.has('versionId');
  if (method === 'GET' || method === 'HEAD') {
    return out(method === 'HEAD' ? 'HeadObject' : 'GetObject', [object(versioned ? 's3:GetObjectVersion' : 's3:GetObject')], listBucketFor(bucket, key));
  }
  if (method === 'PUT' && !q.has('partNumber')) {
    const ifNoneMatch = header(req.headers, 'if-none-match');
    const put = object('s3:PutObject', { 's3:if-none-match': ifNoneMatch });
    const copySource = header(req.headers, 'x-amz-copy-source');
    if (copySource === undefined) return out('PutObject', [put]);
    const [path = '', query = ''] = copySource.replace(/^\//, '').split('?');
    const [srcBucket = '', ...srcKey] = decodeURIComponent(path).split('/');
    const source = srcKey.join('/');
    const read = new URLSearchParams(query).has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject';
    return out('CopyObject', [put, { action: read, resource: s3ObjectArn(srcBucket, source) }], listBucketFor(srcBucket, source));
  }
  // Deleting a version destroys it for good (no recovery window): s3:DeleteObjectVersion, granted to no role.
  if (method === 'DELETE' && !q.has('uploadId'))
    return out(versioned ? 'DeleteObjectVersion' : 'DeleteObject', [object(versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject')]);
  throw new Error(`unmapped S3 object request: ${method} ${req.url}`);
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** DynamoDB: the table(s) a request names, in its JSON body. */
function dynamoAuth(req: AwsHttpRequest, operation: string, where: Where): RequestAuth {
  const body = JSON.parse(req.body.toString('utf8') || '{}') as {
    TableName?: string;
    IndexName?: string;
    RequestItems?: Record<string, unknown>;
    TransactItems?: unknown[];
  };
  const tableArn = (name: string) => `arn:aws:dynamodb:${where.region}:${where.account}:table/${name}`;
  const action = `dynamodb:${operation}`;
  const tables = body.RequestItems ? Object.keys(body.RequestItems) : body.TableName ? [body.TableName] : [];
  if (operation === 'ListTables')
    return { service: 'dynamodb', operation, checks: [{ action, resource: '*' }], sessionToken: header(req.headers, 'x-amz-security-token') };
  if (!tables.length) throw new Error(`unmapped DynamoDB request: ${operation} names no table`);
  const resource = (t: string) => (body.IndexName ? `${tableArn(t)}/index/${body.IndexName}` : tableArn(t));
  return {
    service: 'dynamodb',
    operation,
    sessionToken: header(req.headers, 'x-amz-security-token'),
    checks: tables.map((t) => ({ action, resource: resource(t) })),
  };
}

/** Secrets Manager: the secret a request names (an ARN, or a name resolved by `secretArn`). */
function secretsAuth(req: AwsHttpRequest, operation: string, secretArn: (id: string) => string): RequestAuth {
  const body = JSON.parse(req.body.toString('utf8') || '{}') as { SecretId?: string };
  if (!body.SecretId) throw new Error(`unmapped Secrets Manager request: ${operation} names no secret`);
  return {
    service: 'secretsmanager',
    operation,
    sessionToken: header(req.headers, 'x-amz-security-token'),
    checks: [{ action: `secretsmanager:${operation}`, resource: secretArn(body.SecretId) }],
  };
}

export function requestAuth(req: AwsHttpRequest, where: Where, secretArn: (id: string) => string = (id) => id): RequestAuth {
  const target = header(req.headers, 'x-amz-target');
  if (target?.startsWith('DynamoDB_')) return dynamoAuth(req, target.split('.')[1] ?? '', where);
  if (target?.startsWith('secretsmanager.')) return secretsAuth(req, target.split('.')[1] ?? '', secretArn);
  if (target) throw new Error(`unmapped X-Amz-Target ${target}`);
  return s3Auth(req);
}

/** The service's own refusal, as a role without the permission gets it. */
export function accessDenied(auth: RequestAuth, denied: AuthRequest, method: string): { status: number; contentType: string; body: string } {
  if (auth.service === 's3') {
    return {
      status: 403,
      contentType: 'application/xml',
      body:
        method.toUpperCase() === 'HEAD'
          ? ''
          : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>0000000000000000</RequestId><HostId>permission-lane</HostId></Error>',
    };
  }
  const message = `User is not authorized to perform: ${denied.action} on resource: ${denied.resource} because no identity-based policy allows the ${denied.action} action`;
  return auth.service === 'dynamodb'
    ? {
        status: 400,
        contentType: 'application/x-amz-json-1.0',
        body: JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: message }),
      }
    : { status: 400, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: 'AccessDeniedException', Message: message }) };
}
