import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import { ensureBucket } from '../../lambda/core/storage/provision.js';
import type { Backend } from '../support/backends.js';
import { emulatorConfig } from '../support/storage.js';
import { LANES } from '../support/test-server.js';

/**
 * Each lane's declared capabilities are true of its emulators: tests that skip or rely on
 * `enforcesPostPolicy` can trust it. Checked against the emulators directly, with the SDK.
 */
for (const lane of LANES) {
  describe(`lane ${lane.name} is what it declares`, { skip: lane.unavailable() }, () => {
    let dir: string;
    let backend: Backend;
    let s3: S3Client;
    let bucket: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'blobserver-lane-'));
      backend = await lane.factory(dir);
      const config = emulatorConfig(backend.env);
      s3 = s3ClientFor(config);
      bucket = config.bucketName;
      await ensureBucket(s3, bucket);
    });
    after(async () => {
      await backend?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(`${lane.enforcesPostPolicy ? 'enforces' : 'ignores'} a presigned POST's content-length-range and key conditions`, async () => {
      const post = await createPresignedPost(s3, {
        Bucket: bucket,
        Key: 'policy/${filename}',
        Conditions: [
          ['content-length-range', 1, 10],
          ['starts-with', '$key', 'policy/'],
        ],
        Expires: 60,
      });
      const send = async (key: string, bytes: number) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(post.fields)) form.append(k, v);
        form.set('key', key);
        form.append('file', new Blob([new Uint8Array(bytes)]), 'f');
        const res = await fetch(post.url, { method: 'POST', body: form });
        await res.arrayBuffer();
        return res.status;
      };
      assert.ok((await send('policy/ok', 5)) < 300, 'a POST within the policy must succeed');
      const tooLarge = await send('policy/big', 11);
      const wrongKey = await send('elsewhere/x', 5);
      assert.deepEqual([tooLarge >= 400, wrongKey >= 400], [lane.enforcesPostPolicy, lane.enforcesPostPolicy], `statuses ${tooLarge}, ${wrongKey}`);
    });

    it(`${lane.enforcesPostPolicy ? 'refuses' : 'ignores'} If-None-Match: * on an existing object`, async () => {
      const put = () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'conditional', Body: 'x', IfNoneMatch: '*' }));
      await put();
      const second = await put().then(
        () => 'stored',
        (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode,
      );
      assert.equal(second, lane.enforcesPostPolicy ? 412 : 'stored');
    });
  });
}
