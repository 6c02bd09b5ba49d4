import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GENERATION_KEY } from '../../lambda/core/storage/object-keys.js';
import { storageGenerationSource } from '../../lambda/core/storage/storage-generation.js';

/**
 * Issue 8 item 10: the store's generation object, as real S3 treats it: a missing object is a
 * 403 to a role without s3:ListBucket, and a PutObject with If-None-Match: * fails with 412
 * when the object exists.
 */
class FakeBucket {
  object?: string;
  calls: string[] = [];
  failNext?: Error | undefined;
  readonly client = {
    send: async (command: unknown): Promise<unknown> => {
      if (this.failNext) {
        const err = this.failNext;
        this.failNext = undefined;
        throw err;
      }
      if (command instanceof GetObjectCommand) {
        assert.equal(command.input.Key, GENERATION_KEY);
        this.calls.push('get');
        if (this.object === undefined) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        const body = this.object;
        return { Body: { transformToString: async () => body } };
      }
      if (command instanceof PutObjectCommand) {
        assert.equal(command.input.Key, GENERATION_KEY);
        assert.equal(command.input.IfNoneMatch, '*', 'only a conditional create');
        this.calls.push('put');
        if (this.object !== undefined)
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
            name: 'PreconditionFailed',
            $metadata: { httpStatusCode: 412 },
          });
        this.object = String(command.input.Body);
        return {};
      }
      throw new Error('unexpected command');
    },
  } as unknown as S3Client;
}

const NOW = new Date('2026-11-25T20:00:00.000Z');

describe('storage generation', () => {
  it('is created on first use (a 403 read means not there yet), then read from memory', async () => {
    const bucket = new FakeBucket();
    const source = storageGenerationSource(bucket.client, 'b', () => NOW);
    const g = await source();
    assert.match(g.generation, /^[0-9a-f]{32}$/);
    assert.equal(g.initTime, NOW.toISOString());
    assert.deepEqual(await source(), g);
    assert.deepEqual(bucket.calls, ['get', 'put', 'get']);
  });

  it('is the same for every instance: the first writer wins, the others read its value', async () => {
    const bucket = new FakeBucket();
    const [a, b] = [storageGenerationSource(bucket.client, 'b'), storageGenerationSource(bucket.client, 'b')];
    const [ga, gb] = await Promise.all([a(), b()]);
    assert.deepEqual(ga, gb);
    assert.deepEqual(await storageGenerationSource(bucket.client, 'b')(), ga);
  });

  it('differs between stores', async () => {
    const [one, two] = [new FakeBucket(), new FakeBucket()];
    assert.notEqual((await storageGenerationSource(one.client, 'b')()).generation, (await storageGenerationSource(two.client, 'b')()).generation);
  });

  it('does not remember a failure: the next call tries again', async () => {
    const bucket = new FakeBucket();
    const source = storageGenerationSource(bucket.client, 'b');
    bucket.failNext = Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    await assert.rejects(source(), /slow down/);
    assert.match((await source()).generation, /^[0-9a-f]{32}$/);
  });
});
