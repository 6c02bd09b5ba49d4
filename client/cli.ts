import { readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, stat as fsStat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { EncryptedStore } from './encrypt/encrypted-store.js';
import { restoreAtomically } from './node/restore-atomic.js';
import { parseArgs } from 'node:util';
import { ADMIN_USAGE, AdminUsageError, adminCommand } from './admin/cli.js';
import { BatchReader } from './batch-read.js';
import { blobRefOf } from './hash.js';
import { BlobServerClient } from './http-client.js';
import { resolveServer } from './node/config.js';
import { putPath } from './node/put-tree.js';
import { fetchBlob, restorable, restoreSchema } from './node/restore.js';
import { progressLine } from './progress.js';
import { parseSchema } from './schema.js';
import { Uploader } from './uploader.js';
import { ADMIN_OPTIONS, QUOTA_USAGE, runAdmin } from './admin/quota-cli.js';

const USAGE = `Usage: blobserver [options] COMMAND ...

Commands:
  put PATH...           upload files and directories as Perkeep schema blobs (as pk-put file);
                        prints one ref per PATH
  put --blob FILE...    upload each FILE as one raw blob (as pk-put blob); prints its ref
  get REF [-o DIR]      restore a file/directory schema into DIR (default .; made if missing);
                        a raw blob is written to stdout, or to -o (a file, or DIR/REF if -o
                        is a directory or ends with /)
  stat REF...           print "REF SIZE" for each blob the server has; exit 1 if any is missing
  ls [--after REF] [--limit N]   list the server's blobs ("REF SIZE"), paged;
                        with --json one {"blobRef","size"} JSON object per line
  rm REF...             remove blobs (the server must allow removal)
  genkey KEYFILE        make a new age X25519 key file (mode 600) for --encrypt; prints its recipient
${ADMIN_USAGE}${QUOTA_USAGE}
Options:
  --server URL|NAME     server URL, or a server name from Perkeep's client-config.json
  --auth userpass:USER:PASSWORD | none
                        default: BLOBSERVER_URL / BLOBSERVER_AUTH, else client-config.json
                        (CAMLI_CONFIG_DIR, else ~/.config/perkeep)
  --json                machine-readable output: one JSON document (ls: one per line)
  --concurrency N       upload requests in flight (default 4)
  --connect-timeout S   seconds to wait for a server to start answering (default 10)
  --idle-timeout S      seconds a download may stall (default 60); an upload waits this
                        plus 1 s per 32 KiB it sends for its answer
  --progress            show put's progress line even when not on a terminal
  -o, --output PATH     for get
  --encrypt KEYFILE     put/get/stat/ls through Perkeep's encrypt format (age X25519): the server
                        sees only ciphertext; KEYFILE is one AGE-SECRET-KEY-1... line, mode 600
  --encrypted-namespace NAME|URL   where encrypted blobs go (default enc-blobs: SERVER/enc-blobs)
  --meta-namespace NAME|URL        where encrypted meta blobs go (default enc-meta: SERVER/enc-meta)
  -V, --version         the client's version
  -h, --help            this help

A put interrupted (Ctrl-C, a lost connection) resumes when run again: blobs already stored
are not sent again (with --encrypt: those a meta blob names; meta is written every 1000 blobs).
get writes nothing over an existing path.
`;

const PACKAGE = '@camli-serverless/blobserver-client';

/** This package's version, from its package.json (next to the sources, or above dist/). */
function version(): string {
  for (const rel of ['./package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PACKAGE && pkg.version) return pkg.version;
    } catch {
      // not there: try the next place
    }
  }
  return 'unknown';
}

/** A timeout flag in seconds, as milliseconds. */
function timeoutMs(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const s = Number(value);
  if (!(s > 0)) throw new UsageError(`--${flag} must be a positive number of seconds`);
  return Math.round(s * 1000);
}

class UsageError extends Error {}

/** Perkeep's largest blob. */
const MAX_BLOB_SIZE = 16 << 20;

const write = (s: string) => new Promise<void>((resolve, reject) => process.stdout.write(s, (err) => (err ? reject(err) : resolve())));

async function treeBytes(path: string): Promise<number> {
  const st = await lstat(path);
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let n = 0;
  for (const name of await readdir(path)) n += await treeBytes(join(path, name));
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const admin = argv.includes('admin') ? await adminCommand(argv, write) : undefined;
  if (admin !== undefined) return admin;
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      auth: { type: 'string' },
      json: { type: 'boolean', default: false },
      blob: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      output: { type: 'string', short: 'o' },
      after: { type: 'string' },
      limit: { type: 'string' },
      'connect-timeout': { type: 'string' },
      'idle-timeout': { type: 'string' },
      progress: { type: 'boolean', default: false },
      encrypt: { type: 'string' },
      'encrypted-namespace': { type: 'string', default: 'enc-blobs' },
      'meta-namespace': { type: 'string', default: 'enc-meta' },
      version: { type: 'boolean', short: 'V', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...ADMIN_OPTIONS,
    },
  });
  const [command, ...args] = positionals;
  if (values.version) {
    await write(`blobserver ${version()}\n`);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === 'genkey') {
    if (args.length !== 1) throw new UsageError('genkey takes one KEYFILE');
    const { writeNewKeyFile } = await import('./node/key-file.js');
    const recipient = await writeNewKeyFile(args[0]!);
    await write(values.json ? JSON.stringify({ keyFile: args[0], recipient }) + '\n' : `${recipient}\n`);
    return 0;
  }
  const connectTimeoutMs = timeoutMs('connect-timeout', values['connect-timeout']);
  const idleTimeoutMs = timeoutMs('idle-timeout', values['idle-timeout']);
  const settings = resolveServer({ server: values.server, auth: values.auth });
  const client = new BlobServerClient({ server: settings.server, auth: settings.auth, connectTimeoutMs, idleTimeoutMs });
  const json = values.json;
  const out = (human: string, machine: unknown) => write(json ? JSON.stringify(machine) + '\n' : human);
  if (command === 'admin') return runAdmin(client, args, { json, namespace: values.namespace, bytes: values.bytes, blobs: values.blobs }, write);
  // --encrypt: the key is read (and its permissions checked) and all meta read before anything is sent.
  const concurrency = values.concurrency ? Number(values.concurrency) : 4;
  if (!(concurrency >= 1)) throw new UsageError('--concurrency must be a positive number');
  const namespace = (flag: string, v: string) => {
    if (/^https?:\/\//i.test(v)) return v;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(v))
      throw new UsageError(`--${flag} must be a namespace name (lowercase letters, digits, dashes) or an http(s):// URL`);
    return `${settings.server.replace(/\/+$/, '')}/${v}`;
  };
  let store: EncryptedStore | undefined;
  if (values.encrypt !== undefined) {
    if (command === 'rm') throw new UsageError('rm does not take --encrypt (as perkeepd, encrypted storage does not remove blobs)');
    // Loaded only here: age and its curves are a good part of the CLI's start otherwise.
    const [{ readKeyFile }, { EncryptedStore }] = await Promise.all([import('./node/key-file.js'), import('./encrypt/encrypted-store.js')]);
    const key = await readKeyFile(values.encrypt);
    const sub = (url: string) => new BlobServerClient({ server: url, auth: settings.auth, connectTimeoutMs, idleTimeoutMs });
    store = await EncryptedStore.open({
      blobs: sub(namespace('encrypted-namespace', values['encrypted-namespace'])),
      meta: sub(namespace('meta-namespace', values['meta-namespace'])),
      key,
    });
  }

  switch (command) {
    case 'put': {
      if (!args.length) throw new UsageError('put needs at least one PATH');
      // A missing path: say so in one line before anything is read or sent.
      for (const path of args) {
        await lstat(path).catch((err: NodeJS.ErrnoException) => {
          throw new Error(err.code === 'ENOENT' ? `put: ${path}: no such file or directory` : `put: ${path}: ${err.message}`);
        });
      }
      const showProgress = values.progress || (!json && Boolean(process.stdout.isTTY && process.stderr.isTTY));
      let bytesRead = 0;
      const totalBytes = showProgress
        ? (await Promise.all(args.map((p) => (values.blob ? fsStat(p).then((s) => s.size) : treeBytes(p))))).reduce((a, b) => a + b, 0)
        : undefined;
      const uploader = store ? store.writer({ concurrency }) : new Uploader(client, { concurrency });
      const progress = progressLine(showProgress, () => ({
        blobsDone: uploader.stats.uploadedBlobs + uploader.stats.skippedBlobs,
        blobsSeen: uploader.stats.blobs,
        bytesRead,
        totalBytes,
        bytesSent: uploader.stats.sentBytes,
        bytesStored: uploader.stats.uploadedBytes + uploader.stats.skippedBytes,
        bytesSkipped: uploader.stats.skippedBytes,
        // Every blob handed to the uploader is a chunk of what was read, or schema JSON.
        bytesSchema: values.blob ? 0 : Math.max(0, uploader.stats.bytes - bytesRead),
      }));
      // Ctrl-C: end the progress line cleanly and say how to finish the job.
      const interrupted = () => {
        progress.stop();
        process.stderr.write('blobserver: interrupted; run the same put again to resume (blobs already stored are not sent again)\n');
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      const refs: { path: string; ref: string }[] = [];
      try {
        for (const path of args) {
          if (values.blob) {
            if ((await fsStat(path)).size > MAX_BLOB_SIZE)
              throw new UsageError(`${path} is larger than a blob may be (16 MiB); put it without --blob to store it as a file`);
            const bytes = await readFile(path);
            bytesRead += bytes.length;
            const ref = blobRefOf(bytes);
            await uploader.add({ ref, bytes });
            refs.push({ path, ref });
          } else {
            refs.push({ path, ref: await putPath(path, uploader, { onBytes: (n) => (bytesRead += n) }) });
          }
        }
        const stats = await uploader.flush();
        progress.stop();
        await out(refs.map((r) => r.ref + '\n').join(''), { refs, ...stats, requests: client.requests, ...(store && { encrypted: true }) });
      } catch (err) {
        progress.stop();
        throw err;
      } finally {
        process.off('SIGINT', interrupted);
      }
      return 0;
    }
    case 'get': {
      const [ref, extra] = args;
      if (!ref || extra) throw new UsageError('get takes one REF');
      const bytes = await fetchBlob(store ?? client, ref);
      const schema = parseSchema(bytes);
      if (store && restorable(schema)) {
        // Decrypted contents are checked as they come: a refusal midway leaves nothing behind.
        const path = await restoreAtomically(store, ref, schema, values.output ?? '.');
        await out(`${path}\n`, { ref, path, camliType: schema.camliType });
        return 0;
      }
      if (restorable(schema)) {
        // Contents come in batches straight from S3 where the server offers it (else GET /camli/<ref>).
        const reader = new BatchReader(client);
        await reader.prefetchContents([schema], [ref]);
        // `-o restore/` that does not exist yet is made (only the directory -o names; what the
        // schema holds is created by restoreSchema, which never writes over anything).
        const into = values.output ?? '.';
        await mkdir(into, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
          throw new Error(`get: cannot create the directory ${into} (${err.code}): give -o a directory you can write`);
        });
        const path = await restoreSchema(reader, ref, schema, into);
        await out(`${path}\n`, { ref, path, camliType: schema.camliType });
        return 0;
      }
      if (values.output) {
        // `-o DIR/` names a directory even before it exists.
        const isDir =
          /[\\/]$/.test(values.output) ||
          (await fsStat(values.output).then(
            (s) => s.isDirectory(),
            () => false,
          ));
        const path = isDir ? join(values.output, ref) : values.output;
        // As pk-get does not: a missing directory is made, and nothing is written over.
        await mkdir(dirname(path), { recursive: true }).catch(() => undefined);
        await writeFile(path, bytes, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
          throw new Error(
            err.code === 'EEXIST'
              ? `get: ${path} already exists; get writes nothing over an existing path: remove it or give another -o`
              : `get: cannot write ${path} (${err.code}): give -o a path you can write`,
          );
        });
        await out(`${path}\n`, { ref, path, size: bytes.length });
      } else {
        await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
      }
      return 0;
    }
    case 'stat': {
      if (!args.length) throw new UsageError('stat needs at least one REF');
      const found = store ? store.stat(args) : await client.stat(args);
      const have = new Map(found.map((f) => [f.blobRef, f.size]));
      const missing = args.filter((r) => !have.has(r));
      await out(found.map((f) => `${f.blobRef} ${f.size}\n`).join(''), { stat: found, missing });
      if (missing.length) {
        if (!json)
          process.stderr.write(`blobserver: ${missing.length} of ${args.length} blobs not on the server (${missing[0]}${missing.length > 1 ? ', ...' : ''})\n`);
        return 1;
      }
      return 0;
    }
    case 'ls': {
      if (args.length) throw new UsageError('ls takes no arguments');
      const limit = values.limit === undefined ? Infinity : Number(values.limit);
      if (!(limit >= 0)) throw new UsageError('--limit must be a number');
      let n = 0;
      if (limit > 0) {
        const blobs = store ? store.enumerate({ after: values.after }) : client.enumerate({ after: values.after, pageSize: Math.min(1000, limit) });
        for await (const b of blobs) {
          await write(json ? JSON.stringify({ blobRef: b.blobRef, size: b.size }) + '\n' : `${b.blobRef} ${b.size}\n`);
          if (++n >= limit) break;
        }
      }
      return 0;
    }
    case 'rm': {
      if (!args.length) throw new UsageError('rm needs at least one REF');
      const removed = await client.remove(args);
      await out(removed.map((r) => r + '\n').join(''), { removed });
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Runs the CLI: a one-line reason and a non-zero exit status on failure. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    const usage = err instanceof UsageError || err instanceof AdminUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    let message = (err as Error).message?.split('\n')[0] ?? String(err);
    // Wrong or missing credentials: say where they go.
    if ((err as { status?: number }).status === 401)
      message += '; give credentials with --auth userpass:USER:PASSWORD or BLOBSERVER_AUTH (or in client-config.json)';
    process.stderr.write(`blobserver: ${message}${usage ? ' (see blobserver --help)' : ''}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}
