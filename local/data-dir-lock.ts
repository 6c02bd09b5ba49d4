import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One process at a time on a data directory: the embedded emulators (dynalite's LevelDB,
 * s3rver's files) are not made to be shared, and a second `npm start` on the same directory
 * would die deep inside dynalite ("Database is closed"). The holder writes its pid and its
 * start time (from /proc/<pid>/stat, where there is one) to `<dataDir>/blobserver.lock`,
 * created exclusively; a lock whose process is gone (a crash, kill -9) is stale and taken over.
 * A pid alone is not enough: after a crash the pid is often reused (in a container, pids start
 * again from 1 on every restart), and a live process that is not the holder would block
 * start-up for ever. The start time tells the holder from a later process with its pid.
 */

const LOCK_FILE = 'blobserver.lock';

export class DataDirBusy extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data directory ${dataDir} is in use by another blobserver (pid ${pid}); stop it, or set BLOBSERVER_DATA_DIR to another directory`);
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When process `pid` started (clock ticks since boot: field 22 of /proc/<pid>/stat), or
 * undefined where there is no /proc (the lock then names the pid only). The command name
 * (field 2) may hold spaces and parentheses, so fields are counted from its closing one.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start && /^[0-9]+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** What the lock file says of its holder: `<pid> [<start time>]`. */
export function lockText(pid: number): string {
  const started = processStartTime(pid);
  return started === undefined ? `${pid}\n` : `${pid} ${started}\n`;
}

/** The holder a lock file names, if that very process is alive (not merely its pid). */
function liveHolder(text: string): number | undefined {
  const [pidText, started] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // A lock without a start time (written where there is no /proc, or by an older version) is
  // judged by its pid alone; with one, the live process must have started then.
  if (started === undefined) return pid;
  const now = processStartTime(pid);
  return now === undefined || now === started ? pid : undefined;
}

/** The pid of the live process holding `dataDir`, or undefined when nobody does. */
export async function dataDirHolder(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, LOCK_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return liveHolder(text);
}

/**
 * Creates the lock with its pid already in it (written aside, then hard-linked into place), so
 * nobody ever reads a lock without its holder; false when one exists.
 */
async function createLock(path: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, lockText(process.pid));
  try {
    await link(aside, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/** Takes the lock, or throws DataDirBusy naming the live holder. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; !(await createLock(path)); attempt++) {
    const holder = await dataDirHolder(dataDir);
    if (holder !== undefined) throw new DataDirBusy(dataDir, holder);
    if (attempt > 0) throw new Error(`could not take the lock ${path}`);
    // Stale (its process is gone): moved aside in one step, so of two starters taking it over
    // only one moves it; a lock that turns out live (taken over meanwhile) is put back.
    const moved = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, moved);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const pid = liveHolder(await readFile(moved, 'utf8'));
    if (pid !== undefined) {
      await link(moved, path).catch(() => undefined);
      await unlink(moved).catch(() => undefined);
      throw new DataDirBusy(dataDir, pid);
    }
    await unlink(moved).catch(() => undefined);
  }
  return {
    release: async () => {
      await unlink(path).catch(() => undefined);
    },
  };
}
