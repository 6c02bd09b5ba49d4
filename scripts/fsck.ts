/**
 * `npm run fsck [-- --verify] [-- --repair] [-- --grace-seconds N]`: audits the index table
 * and the blob bucket the environment names (BLOBSERVER_TABLE, BLOBSERVER_BUCKET, AWS
 * credentials and region as usual, AWS_ENDPOINT_URL for LocalStack or the local server's
 * emulators). See lambda/core/fsck.ts for what it checks and repairs. Progress goes to stderr
 * on a terminal; the summary to stdout. Exit status: 0 clean, 1 damage found (with --repair:
 * the damaged rows were deleted, re-upload those blobs), 2 usage or storage error.
 */
import { parseArgs } from 'node:util';
import { DynamoBlobIndex } from '../lambda/core/blob-index.js';
import { S3BlobStore } from '../lambda/core/blob-store.js';
import { readConfig } from '../lambda/core/config.js';
import { dynamoClientFor, s3ClientFor } from '../lambda/core/aws-clients.js';
import { fsck, type FindingKind } from '../lambda/core/fsck.js';
import { DEFAULT_FSCK_GRACE_MS } from '../lambda/core/limits.js';

let args;
try {
  args = parseArgs({
    options: { verify: { type: 'boolean', default: false }, repair: { type: 'boolean', default: false }, 'grace-seconds': { type: 'string' } },
    strict: true,
  }).values;
} catch (err) {
  console.error(`fsck: ${(err as Error).message}\nusage: npm run fsck -- [--verify] [--repair] [--grace-seconds N]`);
  process.exit(2);
}
const graceRaw = args['grace-seconds'];
if (graceRaw !== undefined && !/^[0-9]+$/.test(graceRaw)) {
  console.error('fsck: --grace-seconds must be a whole number of seconds');
  process.exit(2);
}

// AWS credentials come from the SDK's default chain (environment, including a session token; profiles; roles).
const config = readConfig(process.env);
const tty = process.stderr.isTTY;
const progress = tty ? (line: string) => process.stderr.write(`\r\x1b[Kfsck: ${line}`) : undefined;

try {
  const report = await fsck(new DynamoBlobIndex(dynamoClientFor(config), config.tableName), new S3BlobStore(s3ClientFor(config), config.bucketName), {
    verify: args.verify,
    repair: args.repair,
    graceMs: graceRaw === undefined ? DEFAULT_FSCK_GRACE_MS : Number(graceRaw) * 1000,
    progress,
  });
  if (tty) process.stderr.write('\n');
  const byKind = new Map<FindingKind, { count: number; bytes: number }>();
  for (const f of report.findings) {
    const k = byKind.get(f.kind) ?? { count: 0, bytes: 0 };
    byKind.set(f.kind, { count: k.count + 1, bytes: k.bytes + (f.bytes ?? 0) });
  }
  console.log(`fsck ${config.tableName} / ${config.bucketName}: ${report.rows} rows, ${report.objects} objects (${report.objectBytes} bytes)${args.verify ? ', digests verified' : ''}`);
  for (const [kind, { count, bytes }] of byKind) console.log(`  ${kind}: ${count}${bytes ? ` (${bytes} bytes)` : ''}`);
  for (const f of report.findings.filter((x) => x.ref).slice(0, 50)) console.log(`    ${f.kind} ${f.ref} -> ${f.key}`);
  if (args.repair) {
    const r = report.repaired;
    console.log(`  repaired: ${r.rowsDeleted} damaged rows deleted, ${r.objectsDeleted} objects deleted (${r.bytesReclaimed} bytes reclaimed), ${r.packsRepacked} packs repacked`);
  }
  console.log(report.damaged ? `DAMAGE: ${report.damaged} rows do not serve their blob${args.repair ? ' (deleted: upload those blobs again)' : ' (run with --repair)'}` : 'no damage');
  process.exit(report.damaged ? 1 : 0);
} catch (err) {
  if (tty) process.stderr.write('\n');
  console.error(`fsck: ${(err as Error).message}`);
  process.exit(2);
}
