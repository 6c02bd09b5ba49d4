import { compareUtf8 } from '../client/go-json.js';

/**
 * What a drop or a file input gave, as the tree `blobserver put` would walk: every file under
 * its relative path ("photos/2024/a.jpg"), and the directories met on the way (a dropped folder
 * may hold empty ones; a folder picker reports files only).
 */
export interface PickedFile<F> {
  path: string;
  file: F;
}

export type TreeNode<F> = { kind: 'file'; name: string; path: string; file: F } | { kind: 'dir'; name: string; path: string; children: TreeNode<F>[] };

/**
 * The top-level nodes of the picked files and directories, each directory's children in the
 * order pk-put uploads them (files before directories, then by name in UTF-8 byte order), so the
 * same tree gives the same static-set. Refuses names a restore would refuse ("", ".", "..", and
 * any holding a backslash).
 */
export function pickedTree<F>(files: readonly PickedFile<F>[], dirs: readonly string[] = []): TreeNode<F>[] {
  const root: TreeNode<F> & { kind: 'dir' } = { kind: 'dir', name: '', path: '', children: [] };
  const dirsByPath = new Map<string, TreeNode<F> & { kind: 'dir' }>([['', root]]);
  const dirAt = (segments: string[]): TreeNode<F> & { kind: 'dir' } => {
    let node = root;
    for (const [i, name] of segments.entries()) {
      const path = segments.slice(0, i + 1).join('/');
      let next = dirsByPath.get(path);
      if (!next) {
        next = { kind: 'dir', name, path, children: [] };
        if (node.children.some((c) => c.name === name)) throw new Error(`${path} is both a file and a folder`);
        node.children.push(next);
        dirsByPath.set(path, next);
      }
      node = next;
    }
    return node;
  };
  const segmentsOf = (path: string) => {
    const segments = path.split('/').filter((s) => s !== '');
    if (segments.length === 0 || segments.some((s) => s === '.' || s === '..')) throw new Error(`cannot store a file named ${JSON.stringify(path)}`);
    // A backslash is a separator elsewhere, and restore refuses it: refused here rather than stored.
    const slashed = segments.find((s) => s.includes('\\'));
    if (slashed !== undefined) throw new Error(`cannot store "${slashed}": a name holding a backslash cannot be restored; rename it`);
    return segments;
  };
  for (const d of dirs) dirAt(segmentsOf(d));
  for (const f of files) {
    const segments = segmentsOf(f.path);
    const parent = dirAt(segments.slice(0, -1));
    const name = segments[segments.length - 1]!;
    if (parent.children.some((c) => c.name === name)) throw new Error(`${f.path} was picked twice`);
    parent.children.push({ kind: 'file', name, path: segments.join('/'), file: f.file });
  }
  const sort = (node: TreeNode<F>) => {
    if (node.kind !== 'dir') return;
    node.children.sort((a, b) => Number(a.kind === 'dir') - Number(b.kind === 'dir') || compareUtf8(a.name, b.name));
    node.children.forEach(sort);
  };
  sort(root);
  return root.children;
}
