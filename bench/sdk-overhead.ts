import { BatchGetItemCommand, BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { dynamoClientFor, s3ClientFor, unsignedPutPayload } from '../lambda/core/aws/aws-clients.js';
import { crc32Checksum } from '../lambda/core/aws/checksums.js';
import { readConfig } from '../lambda/core/config.js';

/**
 * The AWS SDK's own CPU per blob (a one-blob upload's calls: BatchGetItem, PutObject of the
 * blob, BatchWriteItem of its row), each variant of aws-clients.ts's settings against the
 * clients as shipped. The request handler is a stub that answers at once without HTTP, so only
 * the SDK's work (and ours: the checksum) is counted. Rounds alternate the variants (order
 * rotated); each variant's figure is its median over rounds, its ratio the median of its
 * per-round ratios to the shipped clients, with the rounds in which it was faster counted.
 *
 *   npx tsx bench/sdk-overhead.ts [ROUNDS=40] [BLOBS_PER_ROUND=300] [BODY_BYTES=32768]
 *
 * Variants: the SDK's defaults (BLOBSERVER_SDK_DEFAULTS=true); one signer made per request
 * (reuseSigners off, the rest as shipped); the middleware cache on (as before issue 24, when
 * concurrent sends shared request state); no CRC32 on the PutObject (as before issue 24).
 */

const rounds = Number(process.argv[2] ?? 40);
const perRound = Number(process.argv[3] ?? 300);
const body = Buffer.alloc(Number(process.argv[4] ?? 32768), 1);
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const config = (sdkDefaults: boolean) => ({
  ...readConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }),
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  sdkDefaults,
});

/** Answers every request at once: DynamoDB's empty JSON, S3's empty 200. */
const stubHandler = {
  handle: async (request: { headers: Record<string, string> }) => ({
    response: request.headers['x-amz-target']
      ? { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from('{"Responses":{"t":[]},"UnprocessedItems":{}}') }
      : { statusCode: 200, headers: { etag: '"x"' }, body: Buffer.alloc(0) },
  }),
};

interface Variant {
  name: string;
  s3: S3Client;
  ddb: DynamoDBClient;
  checksum: boolean;
}

function variant(name: string, build: () => { s3: S3Client; ddb: DynamoDBClient }, checksum = true): Variant {
  const { s3, ddb } = build();
  for (const c of [s3, ddb]) (c.config as { requestHandler: unknown }).requestHandler = stubHandler;
  return { name, s3, ddb, checksum };
}

const shipped = () => ({ s3: s3ClientFor(config(false)), ddb: dynamoClientFor(config(false)) });
const variants: Variant[] = [
  variant('shipped (aws-clients.ts)', shipped),
  variant('SDK defaults', () => ({ s3: s3ClientFor(config(true)), ddb: dynamoClientFor(config(true)) })),
  variant('one signer per request', () => {
    const s3 = s3ClientFor(config(true));
    unsignedPutPayload(s3);
    return { s3, ddb: dynamoClientFor(config(true)) };
  }),
  variant('middleware cache on', () => {
    const c = shipped();
    for (const client of [c.s3, c.ddb]) (client.config as { cacheMiddleware?: boolean }).cacheMiddleware = true;
    return c;
  }),
  variant('no CRC32 on PutObject', shipped, false),
];

async function oneBlob(v: Variant, i: number): Promise<void> {
  const key = { shard: { S: 'sha224-a' }, blobRef: { S: `sha224-a${i}` } };
  await v.ddb.send(new BatchGetItemCommand({ RequestItems: { t: { Keys: [key], ConsistentRead: true } } }));
  await v.s3.send(
    new PutObjectCommand({
      Bucket: 'b',
      Key: `blobs/sha224-a${i}/x`,
      Body: body,
      ContentLength: body.length,
      ContentType: 'application/octet-stream',
      IfNoneMatch: '*',
      ...(v.checksum ? { ChecksumCRC32: crc32Checksum(body) } : {}),
    }),
  );
  await v.ddb.send(new BatchWriteItemCommand({ RequestItems: { t: [{ PutRequest: { Item: { ...key, size: { N: '1' }, key: { S: 'k' } } } }] } }));
}

async function msPerBlob(v: Variant): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < perRound; i++) await oneBlob(v, i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / perRound;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

for (const v of variants) for (let i = 0; i < 50; i++) await oneBlob(v, i); // warm-up
const figures = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + round) % variants.length]!;
    figures.get(v.name)!.push(await msPerBlob(v));
  }
}

const base = figures.get(variants[0]!.name)!;
console.log(
  `SDK CPU ms per blob (BatchGetItem + PutObject of ${body.length} bytes + BatchWriteItem, stub handler, no HTTP), ${rounds} alternating rounds of ${perRound}, Node ${process.version}`,
);
console.log(`${'variant'.padEnd(28)}  ms/blob  paired ratio to shipped  rounds the variant was faster`);
for (const v of variants) {
  const xs = figures.get(v.name)!;
  const ratios = xs.map((x, i) => x / base[i]!);
  const faster = ratios.filter((r) => r < 1).length;
  const line = v === variants[0] ? '-' : `${median(ratios).toFixed(2).padStart(5)}                    ${faster} of ${rounds}`;
  console.log(`${v.name.padEnd(28)}  ${median(xs).toFixed(3).padStart(7)}  ${line}`);
}
