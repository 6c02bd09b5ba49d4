import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRICES, costOf, ddbUnits, s3Tier, withCredentialLookups } from '../../bench/cost.js';
import { meteredRequests, resultOf } from '../support/apigw-front.js';
import type { ProxiedRequest } from '../support/aws-proxy.js';

const s3 = (method: string, url: string, headers: Record<string, string> = {}): ProxiedRequest => ({ method, url, headers, body: Buffer.alloc(0) });
const ddb = (operation: string, body: unknown): ProxiedRequest => ({
  method: 'POST',
  url: '/',
  headers: {},
  body: Buffer.from(JSON.stringify(body)),
  operation,
});

describe('bench/cost.ts: what a request costs', () => {
  it('puts S3 requests in their price tier: PUT/POST/COPY/LIST tier 1, GET/HEAD tier 2, DELETE free', () => {
    assert.equal(s3Tier(s3('PUT', '/bucket/blobs/x')), 'tier1');
    assert.equal(s3Tier(s3('PUT', '/bucket/blobs/x', { 'x-amz-copy-source': '/bucket/staging/y' })), 'tier1');
    assert.equal(s3Tier(s3('POST', '/bucket')), 'tier1');
    assert.equal(s3Tier(s3('GET', '/bucket?list-type=2&prefix=blobs/')), 'tier1');
    assert.equal(s3Tier(s3('GET', '/bucket/blobs/x?X-Amz-Signature=abc')), 'tier2');
    assert.equal(s3Tier(s3('HEAD', '/bucket/blobs/x')), 'tier2');
    assert.equal(s3Tier(s3('DELETE', '/bucket/blobs/x')), 'other');
  });

  it('counts DynamoDB request units: 1 per KB written, 1 (strong) or 0.5 (eventual) per item read, 2x in transactions', () => {
    assert.deepEqual(ddbUnits(ddb('PutItem', { Item: { pk: { S: 'x' } } })), { read: 0, write: 1 });
    assert.deepEqual(ddbUnits(ddb('PutItem', { Item: { pk: { S: 'x'.repeat(1500) } } })), { read: 0, write: 2 });
    const batch = {
      RequestItems: {
        t: [{ PutRequest: { Item: { pk: { S: 'a' } } } }, { PutRequest: { Item: { pk: { S: 'b' } } } }, { DeleteRequest: { Key: { pk: { S: 'c' } } } }],
      },
    };
    assert.deepEqual(ddbUnits(ddb('BatchWriteItem', batch)), { read: 0, write: 3 });
    assert.deepEqual(ddbUnits(ddb('BatchGetItem', { RequestItems: { t: { Keys: [{}, {}, {}, {}] } } })), { read: 2, write: 0 });
    assert.deepEqual(ddbUnits(ddb('BatchGetItem', { RequestItems: { t: { Keys: [{}, {}], ConsistentRead: true } } })), { read: 2, write: 0 });
    assert.deepEqual(ddbUnits(ddb('TransactWriteItems', { TransactItems: [{}, {}] })), { read: 0, write: 4 });
    assert.deepEqual(ddbUnits(ddb('DescribeTable', { TableName: 't' })), { read: 0, write: 0 });
  });

  it('prices usage at the cited list prices', () => {
    const c = costOf({
      apiRequests: 1e6,
      apiMeteredRequests: 1e6,
      transferOutBytes: 0,
      logBytes: 0,
      functions: [{ name: 'f', invocations: 1e6, billedMs: 1000 * 1e3, memoryMb: 2048 }],
      s3: { tier1: 1000, tier2: 1000, copies: 0, other: 5 },
      ddb: { readUnits: 1e6, writeUnits: 1e6 },
    });
    assert.equal(c.api, 1);
    assert.ok(Math.abs(c.lambda - (0.2 + 1000 * 2 * PRICES.lambdaArmGbSecond)) < 1e-9);
    assert.ok(Math.abs(c.s3 - 0.0054) < 1e-12);
    assert.ok(Math.abs(c.ddb - 0.75) < 1e-12);
    assert.equal(c.logs, 0);
    assert.equal(c.transferOut, 0);
  });

  it('bills HTTP API requests in 512 KB units, and prices logs and data transfer out per GB', () => {
    assert.equal(meteredRequests(0), 1);
    assert.equal(meteredRequests(512 * 1024), 1);
    assert.equal(meteredRequests(512 * 1024 + 1), 2);
    assert.equal(meteredRequests(4_400_000), 9, 'a full upload request is billed as 9');
    const none = { functions: [], s3: { tier1: 0, tier2: 0, copies: 0, other: 0 }, ddb: { readUnits: 0, writeUnits: 0 } };
    const c = costOf({ ...none, apiRequests: 100, apiMeteredRequests: 900, transferOutBytes: 2e9, logBytes: 1e9 });
    assert.ok(Math.abs(c.api - 900 * PRICES.httpApiRequest) < 1e-12, 'the metered count is billed, not the received one');
    assert.ok(Math.abs(c.transferOut - 0.18) < 1e-12);
    assert.ok(Math.abs(c.logs - 0.5) < 1e-12);
    assert.ok(Math.abs(c.total - (c.api + 0.68)) < 1e-12);
  });
});

describe('API Gateway front: a Lambda result as payload format 2.0 reads it', () => {
  it('takes an object with statusCode as the response', () => {
    const r = { statusCode: 201, headers: { 'x-a': 'b' }, body: 'aGk=', isBase64Encoded: true, cookies: ['c=d'] };
    assert.deepEqual(resultOf(Buffer.from(JSON.stringify(r))), r);
  });
  it('answers any other JSON as a 200 application/json body, and a non-JSON payload as 500', () => {
    assert.deepEqual(resultOf(Buffer.from('{"a":1}')), { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual(resultOf(Buffer.from('"text"')), { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '"text"' });
    assert.equal(resultOf(Buffer.from('not json')).statusCode, 500);
  });

  it('a credential lookup costs one read request unit (a strongly consistent read of one small row)', () => {
    const none = {
      apiRequests: 0,
      apiMeteredRequests: 0,
      transferOutBytes: 0,
      logBytes: 0,
      functions: [],
      s3: { tier1: 0, tier2: 0, copies: 0, other: 0 },
      ddb: { readUnits: 2, writeUnits: 0 },
    };
    const after = withCredentialLookups(none, 1_000_000);
    assert.equal(after.ddb.readUnits, 1_000_002);
    assert.ok(Math.abs(costOf(after).ddb - costOf(none).ddb - PRICES.ddbReadUnit * 1e6) < 1e-12);
  });
});
