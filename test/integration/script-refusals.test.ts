import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runScript as run } from '../support/run-script.js';

/**
 * `npm run migrate`, `npm run fsck` and the CDK app (`cdk synth`) as a user runs them: what they
 * cannot do is one line that says what to do, with no stack trace and nothing written.
 */
function assertOneLine(out: string, pattern: RegExp): void {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one line, got:\n${out}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(out, /^\s+at /m, 'a stack trace');
}

describe('scripts and the CDK app refuse in one line', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const home = async () => {
    const d = await mkdtemp(join(tmpdir(), 'blobserver-refusal-'));
    dirs.push(d);
    return d;
  };
  /** AWS itself, with no credentials anywhere: no variables, an empty home (no ~/.aws), no instance metadata. */
  const noCredentials = async () => ({ HOME: await home(), BLOBSERVER_EMBEDDED: 'false', AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'eu-west-1' });

  it('npm run migrate without AWS credentials', async () => {
    const r = await run('scripts/migrate.ts', await noCredentials());
    assert.equal(r.code, 1);
    assertOneLine(
      r.out,
      /^migrate: no AWS credentials: set AWS_PROFILE .* or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ENDPOINT_URL for an emulator$/,
    );
  });

  it('npm run fsck against AWS without credentials', async () => {
    const env = await noCredentials();
    const r = await run('scripts/fsck.ts', env);
    assert.equal(r.code, 2);
    assertOneLine(r.out, /^fsck: no AWS credentials: set AWS_PROFILE .*, or AWS_ENDPOINT_URL for an emulator$/);
  });

  it('cdk synth with a context value the stack refuses: the SettingsError alone, no trace, no template', async () => {
    const out = join(await home(), 'cdk.out');
    for (const [context, message] of [
      [{ maxUploadSize: 'abc' }, /^blobserver stack: context maxUploadSize must be a positive integer, got "abc" \(see docs\/deploy\.md#settings\)$/],
      [{ maxUploadSize: '9999999999' }, /^blobserver stack: maxUploadSize 9999999999 cannot pass through a 6 MB Lambda event \(at most 4718592\)/],
      [{ allowRemove: 'yes' }, /^blobserver stack: context allowRemove must be true or false, got "yes"/],
    ] as const) {
      // What the cdk CLI hands its app: the context as JSON, the output directory.
      const r = await run('infra/app.ts', { CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: out });
      assert.equal(r.code, 1, r.out);
      assertOneLine(r.out, message);
      assert.deepEqual(existsSync(out) ? (await readdir(out)).filter((f) => f.endsWith('.template.json')) : [], []);
    }
  });
});
