import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accessDenied, formFields, requestAuth, type AwsHttpRequest } from '../support/aws-request-auth.js';

const where = { region: 'us-east-1', account: '000000000000' };
const req = (method: string, url: string, headers: Record<string, string> = {}, body = ''): AwsHttpRequest => ({
  method,
  url,
  headers,
  body: Buffer.from(body),
});

describe('S3 requests to IAM actions and ARNs', () => {
  it('object GET and HEAD need s3:GetObject on the object; a missing key needs s3:ListBucket with the key as prefix', () => {
    for (const method of ['GET', 'HEAD']) {
      const a = requestAuth(req(method, '/bkt/blobs/sha224-ab/0011?x-id=GetObject', { 'x-amz-security-token': 'role:read' }), where);
      assert.equal(a.sessionToken, 'role:read');
      assert.equal(a.presigned, false);
      assert.deepEqual(a.checks, [{ action: 's3:GetObject', resource: 'arn:aws:s3:::bkt/blobs/sha224-ab/0011', context: undefined }]);
      assert.deepEqual(a.ifMissing, { action: 's3:ListBucket', resource: 'arn:aws:s3:::bkt', context: { 's3:prefix': 'blobs/sha224-ab/0011' } });
    }
  });

  it('a presigned GET names its signer in the query; keys are URL-decoded', () => {
    const a = requestAuth(req('GET', '/bkt/blobs/a%2Bb/c?X-Amz-Security-Token=role%3Aread&X-Amz-Signature=00'), where);
    assert.equal(a.sessionToken, 'role:read');
    assert.equal(a.presigned, true, "a client's request with the signer's rights, not the function's own call");
    assert.equal(a.checks[0]?.resource, 'arn:aws:s3:::bkt/blobs/a+b/c');
  });

  it('PUT is s3:PutObject with If-None-Match as s3:if-none-match; a copy also needs GetObject on its source', () => {
    const put = requestAuth(req('PUT', '/bkt/meta/storage-generation.json', { 'if-none-match': '*' }), where);
    assert.deepEqual(put.checks, [{ action: 's3:PutObject', resource: 'arn:aws:s3:::bkt/meta/storage-generation.json', context: { 's3:if-none-match': '*' } }]);
    const copy = requestAuth(req('PUT', '/bkt/blobs/r/1', { 'x-amz-copy-source': 'bkt/staging/abc/sha224-x' }), where);
    assert.equal(copy.operation, 'CopyObject');
    assert.deepEqual(
      copy.checks.map((c) => `${c.action} ${c.resource}`),
      ['s3:PutObject arn:aws:s3:::bkt/blobs/r/1', 's3:GetObject arn:aws:s3:::bkt/staging/abc/sha224-x'],
    );
    assert.equal(copy.ifMissing?.context?.['s3:prefix'], 'staging/abc/sha224-x');
  });

  it('versions: a request naming a versionId is the *Version action; listing versions is s3:ListBucketVersions', () => {
    const get = requestAuth(req('GET', '/bkt/blobs/r/1?versionId=v%2B1'), where);
    assert.deepEqual(
      get.checks.map((c) => c.action),
      ['s3:GetObjectVersion'],
    );
    const restore = requestAuth(req('PUT', '/bkt/blobs/r/1', { 'x-amz-copy-source': 'bkt/blobs/r/1?versionId=abc' }), where);
    assert.deepEqual(
      restore.checks.map((c) => `${c.action} ${c.resource}`),
      ['s3:PutObject arn:aws:s3:::bkt/blobs/r/1', 's3:GetObjectVersion arn:aws:s3:::bkt/blobs/r/1'],
    );
    assert.equal(requestAuth(req('DELETE', '/bkt/blobs/r/1?versionId=abc'), where).checks[0]?.action, 's3:DeleteObjectVersion');
    assert.equal(requestAuth(req('DELETE', '/bkt/blobs/r/1'), where).checks[0]?.action, 's3:DeleteObject');
    const versions = requestAuth(req('GET', '/bkt?versions&prefix=blobs%2Fr%2F1'), where);
    assert.equal(versions.operation, 'ListObjectVersions');
    assert.deepEqual(versions.checks, [{ action: 's3:ListBucketVersions', resource: 'arn:aws:s3:::bkt', context: { 's3:prefix': 'blobs/r/1' } }]);
    assert.equal(requestAuth(req('PUT', '/bkt?versioning'), where).checks[0]?.action, 's3:PutBucketVersioning');
    assert.equal(requestAuth(req('PUT', '/bkt?lifecycle'), where).checks[0]?.action, 's3:PutLifecycleConfiguration');
  });

  it('DELETE is s3:DeleteObject; bucket GET/HEAD are s3:ListBucket with the listing prefix; PUT bucket is CreateBucket', () => {
    assert.equal(requestAuth(req('DELETE', '/bkt/staging/a/b'), where).checks[0]?.action, 's3:DeleteObject');
    const list = requestAuth(req('GET', '/bkt?list-type=2&prefix=blobs%2F'), where);
    assert.deepEqual(list.checks[0], {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::bkt',
      context: { 's3:prefix': 'blobs/', 's3:delimiter': undefined, 's3:max-keys': undefined },
    });
    assert.equal(requestAuth(req('HEAD', '/bkt'), where).checks[0]?.context?.['s3:prefix'], '');
    assert.equal(requestAuth(req('PUT', '/bkt'), where).checks[0]?.action, 's3:CreateBucket');
  });

  it('a browser-form POST is s3:PutObject on the key it names, signed by the token in its fields', () => {
    const boundary = 'XyZ';
    const field = (n: string, v: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`;
    const body =
      field('key', 'staging/abc/sha224-x') +
      field('X-Amz-Security-Token', 'role:write') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="sha224-x"\r\n\r\nkey=blobs/evil\r\n--${boundary}--\r\n`;
    const a = requestAuth(req('POST', '/bkt', { 'content-type': `multipart/form-data; boundary=${boundary}` }, body), where);
    assert.equal(a.sessionToken, 'role:write');
    assert.equal(a.presigned, true);
    assert.deepEqual(a.checks, [{ action: 's3:PutObject', resource: 'arn:aws:s3:::bkt/staging/abc/sha224-x' }]);
    assert.equal(formFields(`multipart/form-data; boundary=${boundary}`, Buffer.from(body)).get('file'), undefined, 'fields after the file part are not read');
  });

  it('a request it cannot map is an error, never an allow', () => {
    assert.throws(() => requestAuth(req('GET', '/bkt?uploads'), where));
    assert.throws(() => requestAuth(req('POST', '/', { 'x-amz-target': 'Kinesis_20131202.PutRecord' }), where));
  });
});

describe('DynamoDB and Secrets Manager requests', () => {
  const ddb = (op: string, body: object) =>
    req('POST', '/', { 'x-amz-target': `DynamoDB_20120810.${op}`, 'x-amz-security-token': 'role:read' }, JSON.stringify(body));

  it('maps the operation to dynamodb:<Operation> on every table it names (batch requests: each table)', () => {
    assert.deepEqual(requestAuth(ddb('GetItem', { TableName: 't1' }), where).checks, [
      { action: 'dynamodb:GetItem', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/t1' },
    ]);
    assert.deepEqual(
      requestAuth(ddb('BatchWriteItem', { RequestItems: { t1: [], t2: [] } }), where).checks.map((c) => c.resource),
      ['arn:aws:dynamodb:us-east-1:000000000000:table/t1', 'arn:aws:dynamodb:us-east-1:000000000000:table/t2'],
    );
    assert.equal(
      requestAuth(ddb('Query', { TableName: 't1', IndexName: 'byRef' }), where).checks[0]?.resource,
      'arn:aws:dynamodb:us-east-1:000000000000:table/t1/index/byRef',
    );
  });

  it('Secrets Manager: secretsmanager:<Operation> on the secret it names', () => {
    const a = requestAuth(
      req('POST', '/', { 'x-amz-target': 'secretsmanager.GetSecretValue' }, JSON.stringify({ SecretId: 'creds' })),
      where,
      (id) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`,
    );
    assert.deepEqual(a.checks, [{ action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:creds-AbCdEf' }]);
  });

  it('each service refuses in its own words: S3 403 XML (no body for HEAD), DynamoDB and Secrets Manager 400 AccessDeniedException', () => {
    const s3 = requestAuth(req('GET', '/bkt/k'), where);
    const [s3Check] = s3.checks;
    assert.ok(s3Check);
    const denied = accessDenied(s3, s3Check, 'GET');
    assert.equal(denied.status, 403);
    assert.match(denied.body, /<Code>AccessDenied<\/Code>/);
    assert.equal(accessDenied(s3, s3Check, 'HEAD').body, '');
    const d = requestAuth(ddb('GetItem', { TableName: 't1' }), where);
    const [dCheck] = d.checks;
    assert.ok(dCheck);
    const dd = accessDenied(d, dCheck, 'POST');
    assert.equal(dd.status, 400);
    assert.equal(JSON.parse(dd.body).__type, 'com.amazon.coral.service#AccessDeniedException');
  });
});
