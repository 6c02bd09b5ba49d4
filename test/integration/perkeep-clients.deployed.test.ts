import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { perkeepClientEnv, runTool } from '../../bench/perkeep.js';
import type { DeployedStack } from '../support/deployed-stack.js';
import { deployedSkip, openDeployedStack } from '../support/deployed-target.js';

/**
 * Perkeep's own clients against the deployed artifacts (the dynamodb-local+localstack lane's
 * emulators behind cdk.out's bundles in the Lambda RIE): `pk-put file` of a small tree, then
 * `pk-get -o` of it with an empty cache, byte for byte. Needs PK_PUT and PK_GET (Perkeep's
 * binaries, never committed); without them it is reported skipped.
 */
const tools = process.env['PK_PUT'] && process.env['PK_GET'] ? { put: process.env['PK_PUT'], get: process.env['PK_GET'] } : undefined;
const skip = deployedSkip() ?? (tools ? undefined : 'set PK_PUT and PK_GET to Perkeep binaries (pk-put, pk-get)');

describe('Perkeep clients against the deployed artifacts', { skip }, () => {
  let stack: DeployedStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-pk-deployed-'));
    stack = await openDeployedStack();
  });
  after(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pk-put file stores a tree (small files and a 6 MB one, chunked by pk-put) and pk-get -o rebuilds it', async () => {
    const tree = join(dir, 'tree');
    await mkdir(tree);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 20; i++) files.set(`small${i}`, randomBytes(32 * 1024));
    files.set('large', randomBytes(6_000_000));
    for (const [name, data] of files) await writeFile(join(tree, name), data);

    const ref = await runTool(tools!.put, ['file', tree], await perkeepClientEnv(join(dir, 'put'), stack.url, stack.userpass));
    assert.match(ref, /^sha224-[0-9a-f]{56}$/);
    const out = join(dir, 'out');
    await mkdir(out);
    await runTool(tools!.get, ['-o', out, ref], await perkeepClientEnv(join(dir, 'get'), stack.url, stack.userpass));
    const rebuilt = join(out, 'tree');
    assert.deepEqual((await readdir(rebuilt)).sort(), [...files.keys()].sort());
    for (const [name, data] of files) assert.ok((await readFile(join(rebuilt, name))).equals(data), `${name} differs`);
    // Every request went through the template's routes to the functions.
    assert.ok(stack.front.counts.requests > 0);
    assert.ok([...stack.front.counts.invocations.values()].every((n) => n > 0));
  });
});
