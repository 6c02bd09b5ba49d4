import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { conditionsHold, evaluate, UnsupportedConditionError, wildcardMatch, type Statement } from '../support/iam-policy.js';

describe('IAM wildcard match', () => {
  it('* matches any run (none included), ? exactly one character; everything else literally', () => {
    assert.ok(wildcardMatch('arn:aws:s3:::b/blobs/*', 'arn:aws:s3:::b/blobs/'));
    assert.ok(wildcardMatch('arn:aws:s3:::b/blobs/*', 'arn:aws:s3:::b/blobs/sha224-x/123'));
    assert.ok(!wildcardMatch('arn:aws:s3:::b/blobs/*', 'arn:aws:s3:::b/packs/x'));
    assert.ok(!wildcardMatch('arn:aws:s3:::b/blobs/*', 'arn:aws:s3:::b/blobs'));
    assert.ok(wildcardMatch('a?c', 'abc'));
    assert.ok(!wildcardMatch('a?c', 'ac'));
    assert.ok(wildcardMatch('*x*y', 'axbxy'));
    assert.ok(!wildcardMatch('s3:getobject', 's3:GetObject'));
    assert.ok(wildcardMatch('s3:getobject', 's3:GetObject', true));
    assert.ok(wildcardMatch('s3:Get*', 's3:GetObject', true));
  });

  it('agrees with an anchored regular expression on any pattern and value', () => {
    const chars = fc.constantFrom('a', 'b', '/', '*', '?', '.');
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '/', '.'), maxLength: 10 }), (pattern, value) => {
        const re = new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
        assert.equal(wildcardMatch(pattern, value), re.test(value));
      }),
    );
  });

  it('a pattern with no wildcard matches exactly itself', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '/', ':'), maxLength: 12 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '/', ':'), maxLength: 12 }),
        (p, v) => {
          assert.equal(wildcardMatch(p, v), p === v);
        },
      ),
    );
  });
});

describe('IAM conditions', () => {
  it('StringLike on a list: any value may match; a missing key fails it', () => {
    const cond = { StringLike: { 's3:prefix': ['blobs/*', 'meta/generation.json'] } };
    assert.ok(conditionsHold(cond, { 's3:prefix': 'blobs/x/y' }));
    assert.ok(conditionsHold(cond, { 's3:prefix': 'meta/generation.json' }));
    assert.ok(!conditionsHold(cond, { 's3:prefix': 'staging/x' }));
    assert.ok(!conditionsHold(cond, { 's3:prefix': '' }));
    assert.ok(!conditionsHold(cond, {}));
  });

  it('keys are case-insensitive; StringEquals is exact; several keys and operators must all hold', () => {
    assert.ok(conditionsHold({ StringEquals: { 's3:if-none-match': '*' } }, { 'S3:If-None-Match': '*' }));
    assert.ok(!conditionsHold({ StringEquals: { 's3:if-none-match': '*' } }, { 's3:if-none-match': '"etag"' }));
    assert.ok(!conditionsHold({ StringEquals: { 's3:if-none-match': '*' } }, {}));
    const both = { StringEquals: { a: '1' }, StringLike: { b: 'x*' } };
    assert.ok(conditionsHold(both, { a: '1', b: 'xy' }));
    assert.ok(!conditionsHold(both, { a: '1', b: 'y' }));
  });

  it('negated operators hold for a missing key; IfExists makes a missing key hold', () => {
    assert.ok(conditionsHold({ StringNotEquals: { a: '1' } }, {}));
    assert.ok(!conditionsHold({ StringNotEquals: { a: '1' } }, { a: '1' }));
    assert.ok(conditionsHold({ StringEqualsIfExists: { a: '1' } }, {}));
    assert.ok(!conditionsHold({ StringEqualsIfExists: { a: '1' } }, { a: '2' }));
  });

  it('an operator it does not know is an error, never a silent allow', () => {
    assert.throws(() => conditionsHold({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}), UnsupportedConditionError);
  });
});

describe('IAM evaluation', () => {
  const policy: Statement[] = [
    { Sid: 'Read', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/blobs/*', 'arn:aws:s3:::b/packs/*'] },
    { Sid: 'List', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b', Condition: { StringLike: { 's3:prefix': ['blobs/*'] } } },
    { Sid: 'NoSecret', Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::b/blobs/secret' },
  ];

  it('allows by the statement that matches action, resource and condition', () => {
    const d = evaluate(policy, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/packs/2026/x' });
    assert.ok(d.allowed && d.statement.Sid === 'Read' && d.action === 's3:GetObject');
    assert.ok(evaluate(policy, { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'blobs/x' } }).allowed);
  });

  it('denies implicitly what no statement allows: another action, resource, or a failed condition', () => {
    assert.deepEqual(evaluate(policy, { action: 's3:PutObject', resource: 'arn:aws:s3:::b/blobs/x' }), { allowed: false, explicit: false });
    assert.deepEqual(evaluate(policy, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/staging/x' }), { allowed: false, explicit: false });
    assert.deepEqual(evaluate(policy, { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'packs/x' } }), {
      allowed: false,
      explicit: false,
    });
    assert.deepEqual(evaluate(policy, { action: 's3:ListBucket', resource: 'arn:aws:s3:::b' }), { allowed: false, explicit: false });
    assert.deepEqual(evaluate([], { action: 's3:GetObject', resource: 'arn:aws:s3:::b/blobs/x' }), { allowed: false, explicit: false });
  });

  it('an explicit Deny wins over any Allow, whatever the order', () => {
    const req = { action: 's3:GetObject', resource: 'arn:aws:s3:::b/blobs/secret' };
    fc.assert(
      fc.property(fc.shuffledSubarray(policy, { minLength: policy.length }), (order) => {
        const d = evaluate(order, req);
        assert.ok(!d.allowed && d.explicit);
      }),
    );
  });
});
