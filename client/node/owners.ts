import { readFileSync } from 'node:fs';

/**
 * User and group names by id from /etc/passwd and /etc/group, as pk-put records them
 * (unixOwner, unixGroup). Read once; an id with no entry gets no name, as in Perkeep.
 */
let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

function parse(file: string): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id) && !out.has(Number(id))) out.set(Number(id), name);
    }
  } catch {
    // No such file (not a Unix system): no names.
  }
  return out;
}

export const userName = (uid: number) => (users ??= parse('/etc/passwd')).get(uid);
export const groupName = (gid: number) => (groups ??= parse('/etc/group')).get(gid);
