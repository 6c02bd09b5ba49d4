import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { dynamoClientFor, s3ClientFor } from '../lambda/core/aws/aws-clients.js';
import { readConfig } from '../lambda/core/config.js';

/**
 * The AWS SDK's own CPU per call, with its per-request defaults and with aws-clients.ts's cuts,
 * against a stub HTTP server that answers at once (in this process, so its small share is in
 * both columns alike). Rounds alternate the two. `npx tsx bench/sdk-overhead.ts [CALLS] [BODY_BYTES]`.
 */

const calls = Number(process.argv[2] ?? 1000);
const body = Buffer.alloc(Number(process.argv[3] ?? 20000), 1);
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const stub = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.headers['x-amz-target']) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{"Responses":{"t":[]}}');
    } else if (req.method === 'GET') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    } else {
      res.writeHead(200, { etag: '"x"' });
      res.end();
    }
  });
});
await new Promise<void>((ok) => stub.listen(0, '127.0.0.1', ok));
const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
const config = (sdkDefaults: boolean) => ({
  ...readConfig({ AWS_ENDPOINT_URL: endpoint }),
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  sdkDefaults,
});

async function cpuPerCall(fn: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / calls;
}

for (let round = 0; round < 3; round++) {
  for (const sdkDefaults of round % 2 ? [false, true] : [true, false]) {
    const s3: S3Client = s3ClientFor(config(sdkDefaults));
    const ddb: DynamoDBClient = dynamoClientFor(config(sdkDefaults));
    const put = () => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'packs/x/y', Body: body, ContentLength: body.length, IfNoneMatch: '*' }));
    const get = async () =>
      (await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'packs/x/y', Range: `bytes=0-${body.length - 1}` }))).Body!.transformToByteArray();
    const batchGet = () => ddb.send(new BatchGetItemCommand({ RequestItems: { t: { Keys: [{ blobRef: { S: 'sha224-x' } }], ConsistentRead: true } } }));
    for (let i = 0; i < 50; i++) await put();
    const figures = [
      `PutObject ${(await cpuPerCall(put)).toFixed(2)}`,
      `GetObject ${(await cpuPerCall(get)).toFixed(2)}`,
      `BatchGetItem ${(await cpuPerCall(batchGet)).toFixed(2)}`,
    ];
    console.log(`round ${round} ${sdkDefaults ? 'SDK defaults     ' : 'aws-clients cuts '} ms CPU per call: ${figures.join('  ')}`);
  }
}
stub.closeAllConnections();
stub.close();
