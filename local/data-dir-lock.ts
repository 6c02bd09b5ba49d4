import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One process at a time on a data directory: the embedded emulators (dynalite's LevelDB,
 * s3rver's files) are not made to be shared, and a second `npm start` on the same directory
 * would die deep inside dynalite ("Database is closed"). The holder writes its pid to
 * `<dataDir>/blobserver.lock`, created exclusively; a lock whose process is gone (a crash,
 * kill -9) is stale and taken over.
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

/** The pid of the live process holding `dataDir`, or undefined when nobody does. */
export async function dataDirHolder(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, LOCK_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/**
 * Creates the lock with its pid already in it (written aside, then hard-linked into place), so
 * nobody ever reads a lock without its holder; false when one exists.
 */
async function createLock(path: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, `${process.pid}\n`);
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
    const pid = Number((await readFile(moved, 'utf8')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
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
