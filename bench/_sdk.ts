import { createServer } from 'node:http';
import { PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.headers['x-amz-target']) { res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }); res.end('{"Responses":{"t":[]}}'); }
    else if (req.method === 'GET') { res.writeHead(200, { 'content-length': '20000' }); res.end(Buffer.alloc(20000)); }
    else { res.writeHead(200, { etag: '"x"' }); res.end(); }
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${(server.address() as any).port}`;
const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
const body = Buffer.alloc(Number(process.argv[3] ?? 20000), 1);
import { s3ClientFor, dynamoClientFor } from '../lambda/core/aws-clients.js';
import { readConfig } from '../lambda/core/config.js';
const cfg = (d: boolean) => ({ ...readConfig({ AWS_ENDPOINT_URL: endpoint }), credentials, s3ForcePathStyle: true, sdkDefaults: d });
const variants: Record<string, () => { s3: S3Client; ddb: DynamoDBClient }> = {
  base: () => ({ s3: s3ClientFor(cfg(true)), ddb: dynamoClientFor(cfg(true)) }),
  lean: () => ({ s3: s3ClientFor(cfg(false)), ddb: dynamoClientFor(cfg(false)) }),
};
const N = Number(process.argv[2] ?? 1500);
for (let round = 0; round < 3; round++) for (const [name, make] of Object.entries(variants)) {
  const { s3, ddb } = make();
  for (let i = 0; i < 100; i++) { await s3.send(new PutObjectCommand({ Bucket: 'b', Key: `k${i}`, Body: body, ContentLength: body.length })); }
  const ops = {
    put: () => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'packs/x/y', Body: body, ContentLength: body.length, IfNoneMatch: '*' })),
    get: async () => { const o = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'packs/x/y', Range: 'bytes=0-19999' })); await o.Body!.transformToByteArray(); },
    batchGet: () => ddb.send(new BatchGetItemCommand({ RequestItems: { t: { Keys: [{ blobRef: { S: 'sha224-x' } }], ConsistentRead: true } } })),
  };
  const out: string[] = [];
  for (const [op, fn] of Object.entries(ops)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await fn();
    const c = process.cpuUsage(c0);
    out.push(`${op} ${((c.user + c.system) / 1000 / N).toFixed(3)}`);
  }
  console.log(round, name, out.join('  '));
}
server.close(); server.closeAllConnections();
