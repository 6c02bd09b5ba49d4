/**
 * `npm run fsck [-- --verify] [-- --repair] [-- --grace-seconds N]`: audits a store. See
 * lambda/core/fsck/fsck.ts for what it checks and repairs, partition by partition.
 *
 * Which store: configured as `npm start` is. With no AWS endpoint set, the local server's own
 * data directory (BLOBSERVER_DATA_DIR, default .data), on the embedded emulators started here
 * on it; not while the local server runs on it (it holds the directory: stop it first). With
 * AWS_ENDPOINT_URL (LocalStack, emulators) or BLOBSERVER_EMBEDDED=false (AWS itself, credentials
 * from the SDK's default chain): the table and bucket BLOBSERVER_TABLE and BLOBSERVER_BUCKET name.
 *
 * Which namespaces (DESIGN §12): the root and every named one the bucket holds, each audited on its
 * own (its rows, its objects, its scratch); `--namespace NAME` audits NAME alone, `--root` the root
 * alone. The shared staging area is swept with whichever comes first.
 *
 * Progress goes to stderr on a terminal; the summary to stdout. Exit status: 0 clean, 1 damage
 * found (with --repair: the damaged rows were deleted, re-upload those blobs), 2 usage or
 * storage error.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3BlobStore } from '../lambda/core/storage/s3-store.js';
import type { Config } from '../lambda/core/config.js';
import { readLocalServerConfig } from '../local/config.js';
import { dynamoClientFor, s3ClientFor } from '../lambda/core/aws/aws-clients.js';
import { fsck, type FindingKind } from '../lambda/core/fsck/fsck.js';
import { DEFAULT_FSCK_GRACE_MS } from '../lambda/core/limits.js';
import { namedNamespace, namespaceLabel, namespaceNameProblem, ROOT_NAMESPACE, type Namespace } from '../lambda/core/namespace.js';
import { namespacesIn, namespaceStorage } from '../lambda/core/storage/namespaces.js';
import { DynamoUsageTable } from '../lambda/core/storage/dynamodb-usage.js';
import { auditUsage } from '../lambda/core/fsck/usage-audit.js';
import { dataDirHolder, DataDirBusy, lockDataDir, type DataDirLock } from '../local/data-dir-lock.js';
import { onEmbeddedAws, startEmbeddedAws, type EmbeddedAws } from '../local/emulators.js';
import { awsRefusal } from '../local/refusals.js';

const OPTIONS = {
  verify: { type: 'boolean', default: false },
  repair: { type: 'boolean', default: false },
  'grace-seconds': { type: 'string' },
  namespace: { type: 'string' },
  root: { type: 'boolean', default: false },
} as const;
const USAGE = 'usage: npm run fsck -- [--verify] [--repair] [--grace-seconds N] [--namespace NAME | --root]';
let args: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
try {
  args = parseArgs({ options: OPTIONS, strict: true }).values;
} catch (err) {
  console.error(`fsck: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const graceRaw = args['grace-seconds'];
if (graceRaw !== undefined && !/^[0-9]+$/.test(graceRaw)) {
  console.error('fsck: --grace-seconds must be a whole number of seconds');
  process.exit(2);
}
const fail = (message: string): never => {
  console.error(`fsck: ${message}`);
  process.exit(2);
};
if (args.namespace !== undefined && args.root) fail(`--namespace and --root name one namespace each: give one\n${USAGE}`);
const only: Namespace | undefined =
  args.namespace !== undefined
    ? namespaceNameProblem(args.namespace) === undefined
      ? namedNamespace(args.namespace)
      : fail(namespaceNameProblem(args.namespace)!)
    : args.root
      ? ROOT_NAMESPACE
      : undefined;

const local = readLocalServerConfig(process.env, resolve);
let config: Config = local.config;
let lock: DataDirLock | undefined;
let emulators: EmbeddedAws | undefined;
if (local.embedded) {
  // The local server's store: its files are one process's at a time.
  const { dataDir } = local;
  if (!existsSync(join(dataDir, 's3')) || !existsSync(join(dataDir, 'dynamodb'))) {
    fail(`no local store in ${dataDir} (BLOBSERVER_DATA_DIR); to audit AWS, set BLOBSERVER_EMBEDDED=false (or AWS_ENDPOINT_URL for LocalStack)`);
  }
  const holder = await dataDirHolder(dataDir);
  if (holder !== undefined) fail(`the local server (pid ${holder}) is running on ${dataDir} and holds it: stop it, then run fsck again`);
  try {
    lock = await lockDataDir(dataDir);
  } catch (err) {
    fail(
      err instanceof DataDirBusy
        ? `the local server (pid ${err.pid}) is running on ${dataDir} and holds it: stop it, then run fsck again`
        : (err as Error).message,
    );
  }
  emulators = await startEmbeddedAws(dataDir);
  config = onEmbeddedAws(config, emulators);
}
const where = local.embedded ? `local store ${local.dataDir}` : `${config.tableName} / ${config.bucketName}`;

const tty = process.stderr.isTTY;
const progress = tty ? (line: string) => process.stderr.write(`\r\x1b[Kfsck: ${line}`) : undefined;
let code = 2;
try {
  const s3 = s3ClientFor(config);
  const ddb = dynamoClientFor(config);
  const objects = new S3BlobStore(s3, config.bucketName);
  const usageTable = new DynamoUsageTable(ddb, config.tableName);
  const namespaces = only ? [only] : await namespacesIn(s3, config.bucketName);
  // A namespace whose objects are all gone may still have a usage record to recount.
  if (!only) {
    for (const { namespace } of await usageTable.list()) if (!namespaces.some((n) => n.name === namespace.name)) namespaces.push(namespace);
  }
  let damaged = 0;
  for (const ns of namespaces) {
    const { index, store, folders } = namespaceStorage({ ddb, s3, table: config.tableName, bucket: config.bucketName }, objects, ns);
    const report = await fsck(
      index,
      store,
      {
        verify: args.verify,
        repair: args.repair,
        graceMs: graceRaw === undefined ? DEFAULT_FSCK_GRACE_MS : Number(graceRaw) * 1000,
        // A staged upload may be completed until its URL's lifetime plus the completion grace.
        stagingGraceMs: (config.uploadUrlTtlSeconds + config.completionGraceSeconds) * 1000,
        progress,
      },
      folders,
    );
    if (tty) process.stderr.write('\n');
    const byKind = new Map<FindingKind, { count: number; bytes: number }>();
    for (const f of report.findings) {
      const k = byKind.get(f.kind) ?? { count: 0, bytes: 0 };
      byKind.set(f.kind, { count: k.count + 1, bytes: k.bytes + (f.bytes ?? 0) });
    }
    // The root namespace's lines are what they always were; a named one's say which it is.
    const label = ns.name ? ` (${namespaceLabel(ns)})` : '';
    console.log(
      `fsck ${where}${label}: ${report.rows} rows, ${report.objects} objects (${report.objectBytes} bytes)${args.verify ? ', digests verified' : ''}`,
    );
    for (const [kind, { count, bytes }] of byKind) console.log(`  ${kind}: ${count}${bytes ? ` (${bytes} bytes)` : ''}`);
    for (const f of report.findings.filter((x) => x.ref).slice(0, 50)) {
      console.log(`    ${f.kind} ${f.ref} -> ${f.key}${f.restoredFrom ? ` (restored from version ${f.restoredFrom})` : ''}`);
    }
    if (args.repair) {
      const r = report.repaired;
      console.log(
        `  repaired: ${r.rowsDeleted} damaged rows deleted, ${r.objectsDeleted} objects deleted (${r.bytesReclaimed} bytes reclaimed), ${r.packsRepacked} packs repacked, ${r.objectsRestored} objects restored from earlier versions`,
      );
    }
    console.log(
      report.damaged
        ? `DAMAGE${label}: ${report.damaged} rows did not serve their blob${args.repair ? `; ${report.findings.filter((f) => f.restoredFrom).length} restored from earlier versions, ${report.repaired.rowsDeleted} deleted (upload those blobs again)` : ' (run with --repair)'}`
        : `no damage${label}`,
    );
    damaged += report.damaged;
    // Usage (issue 27): recounted from the rows after the audit (its repairs may delete rows).
    const usage = await auditUsage(index, usageTable.ledger(ns), { repair: args.repair });
    const { recorded: rec, counted } = usage;
    console.log(
      `  usage${label}: ${counted.bytes} bytes in ${counted.blobs} blobs${
        usage.drift
          ? `; the usage record said ${rec.bytes} bytes in ${rec.blobs} blobs (${
              usage.repaired ? 'repaired' : usage.busy ? 'not repaired: it changed in the last minutes, run again later' : 'run with --repair'
            })`
          : ', as recorded'
      }`,
    );
  }
  code = damaged ? 1 : 0;
} catch (err) {
  if (tty) process.stderr.write('\n');
  console.error(`fsck: ${awsRefusal(config, err) ?? (err as Error).message}`);
} finally {
  await emulators?.close();
  await lock?.release();
}
process.exit(code);
