import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPackedClient, treeSize } from '../test/support/client-package.js';
import { median, pairedRuns } from './measure.js';
import { fmt, table } from './table.js';

/**
 * The client package as installed from its tarball (`npm pack` + `npm install --omit=dev` in an
 * empty folder): its size on disk and file count, and how long `blobserver --help` takes to start
 * on plain Node, interleaved with a bare `node -e 0` so the difference is the bin's own cost.
 *
 *   npm run bench:cli        (builds client/dist first; also the last part of `npm run bench`)
 */

const REPS = Number(process.argv[2] ?? 21);
const work = mkdtempSync(join(tmpdir(), 'bench-cli-start-'));
try {
  const pkg = installPackedClient(work);
  const all = treeSize(join(pkg.dir, 'node_modules'));
  const own = treeSize(join(pkg.dir, 'node_modules', '@camli-serverless'));
  const run = (args: string[]) => () => {
    const r = spawnSync(process.execPath, args, { cwd: pkg.dir, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  };
  const { a: bin, b: bare } = await pairedRuns(REPS, run([pkg.bin, '--help']), run(['-e', '0']), 1000);
  console.log(`client package installed from ${pkg.tarball.split('/').pop()}: node ${process.version}, median of ${REPS} interleaved runs; MB = 10^6 bytes\n`);
  console.log(
    table(
      ['what', 'MB on disk', 'files', 'start, median ms', 'start, min ms'],
      [
        ['installed (package + dependencies)', fmt(all.bytes / 1e6, 2), String(all.files), '', ''],
        ['the package alone', fmt(own.bytes / 1e6, 2), String(own.files), '', ''],
        ['blobserver --help (plain node)', '', '', fmt(median(bin)), fmt(Math.min(...bin))],
        ['node -e 0 (baseline)', '', '', fmt(median(bare)), fmt(Math.min(...bare))],
      ],
    ),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
