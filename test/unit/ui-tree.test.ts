import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickedTree, type TreeNode } from '../../ui/tree.js';

/** The page's picked files as the tree `blobserver put` walks (ui/tree.ts). */

const names = (nodes: TreeNode<string>[]): unknown[] => nodes.map((n) => (n.kind === 'file' ? n.name : { [n.name]: names(n.children) }));

describe('the tree of picked files', () => {
  it('nests files under their folders, files before folders, then by name in UTF-8 byte order', () => {
    const tree = pickedTree(['top/b.txt', 'top/sub/x', 'top/a.txt', 'top/Z', 'top/é', 'top/aa/y', 'loose.txt'].map((path) => ({ path, file: path })));
    assert.deepEqual(names(tree), ['loose.txt', { top: ['Z', 'a.txt', 'b.txt', 'é', { aa: ['y'] }, { sub: ['x'] }] }]);
    const top = tree[1] as TreeNode<string> & { kind: 'dir' };
    assert.equal(top.path, 'top');
    assert.equal((top.children[0] as TreeNode<string> & { kind: 'file' }).file, 'top/Z');
  });

  it('keeps empty folders met on the way (a dropped folder), and a picked file path is relative', () => {
    assert.deepEqual(names(pickedTree([{ path: '/d/f', file: 'f' }], ['d', 'd/empty'])), [{ d: ['f', { empty: [] }] }]);
  });

  it('refuses names a restore would refuse, and a path picked twice', () => {
    assert.throws(() => pickedTree([{ path: 'd/../f', file: '' }]), /cannot store a file named/);
    assert.throws(() => pickedTree([{ path: '', file: '' }]), /cannot store a file named/);
    assert.throws(() => pickedTree([{ path: 'd/a\\b.txt', file: '' }]), /cannot store "a\\b.txt": a name holding a backslash/);
    assert.throws(() => pickedTree([], ['top\\sub']), /backslash/);
    assert.throws(
      () =>
        pickedTree([
          { path: 'a/b', file: '' },
          { path: 'a/b', file: '' },
        ]),
      /picked twice/,
    );
    assert.throws(
      () =>
        pickedTree([
          { path: 'a', file: '' },
          { path: 'a/b', file: '' },
        ]),
      /both a file and a folder/,
    );
  });
});
