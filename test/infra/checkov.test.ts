import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../infra/bundling.js';
import { synth, type TemplateJson } from './helpers.js';

/**
 * checkov (what security teams run on CloudFormation) and cfn-lint over the synthesized template,
 * with the default settings and with every option of issue 30 turned on: checkov reports 0 failed,
 * every check it skips is skipped in the resource's metadata with a written reason and hides a
 * real finding (no stale skips), and cfn-lint reports no error. Both tools are pinned in
 * scripts/checkov/requirements.txt, installed by scripts/checkov/install.sh (.ci/run calls it);
 * without them this file is skipped, except under CI=true, where it fails.
 */
const run = promisify(execFile);
const VENV = join(PROJECT_ROOT, '.checkov-venv', 'bin');
const inCI = !!process.env['CI'] && process.env['CI'] !== 'false' && process.env['CI'] !== '0';
const missing =
  existsSync(join(VENV, 'checkov')) && existsSync(join(VENV, 'cfn-lint')) ? undefined : 'checkov/cfn-lint not installed: bash scripts/checkov/install.sh';
if (missing && inCI) throw new Error(`CI=true: ${missing}`);

// Two syntheses: the defaults, and every option turned the other way. (A key given by ARN differs
// from a created one only in the reference; test/infra/safety-nets.test.ts covers both.)
const VARIANTS: Record<string, Record<string, string>> = {
  default: {},
  'every option on (created key, budget, removal, CORS, alarm topic, ephemeral, no reservations)': {
    kmsKey: 'create',
    budgetMonthlyUsd: '25',
    alarmEmail: 'owner@example.com',
    alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
    allowRemove: 'true',
    corsOrigins: 'https://a.example',
    ephemeral: 'true',
    reservedConcurrency: 'false',
  },
};

interface CheckovResult {
  check_id: string;
  resource: string;
  file_path: string;
}
interface CheckovReport {
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number };
  results: { passed_checks?: CheckovResult[]; failed_checks?: CheckovResult[]; skipped_checks?: CheckovResult[] };
}
interface LintMessage {
  Level: string;
  Rule: { Id: string };
  Message: string;
  Filename: string;
}

/** Exit codes that still mean "ran, here is the report": checkov 1 (findings); cfn-lint's bit mask without 2 (errors): 4 warnings, 8 informational. */
async function report(command: string, args: string[], ranFine: (code: number) => boolean): Promise<string> {
  const out = await run(join(VENV, command), args, { maxBuffer: 64 << 20 }).catch((err: { stdout?: string; code?: number }) => {
    if (err.stdout !== undefined && typeof err.code === 'number' && ranFine(err.code)) return { stdout: err.stdout };
    throw err;
  });
  return out.stdout;
}

/** The template with every checkov skip taken out of its metadata. */
function withoutSkips(json: TemplateJson): TemplateJson {
  const copy = structuredClone(json) as TemplateJson & { Resources: Record<string, { Metadata?: Record<string, unknown> }> };
  for (const r of Object.values(copy.Resources)) delete r.Metadata?.['checkov'];
  return copy;
}

const skipsIn = (json: TemplateJson): { resource: string; id: string; comment: string }[] =>
  Object.entries(json.Resources as Record<string, { Type: string; Metadata?: { checkov?: { skip?: { id: string; comment: string }[] } } }>).flatMap(
    ([logical, r]) => (r.Metadata?.checkov?.skip ?? []).map((s) => ({ resource: `${r.Type}.${logical}`, ...s })),
  );

const slug = (name: string) => name.replace(/[^a-z0-9]+/gi, '-');

describe('checkov and cfn-lint on the synthesized template', { skip: missing }, () => {
  let dir: string | undefined;
  const templates = new Map<string, TemplateJson>();
  let checkov: CheckovReport | undefined;
  let lint: LintMessage[] = [];

  // Both tools start slowly (checkov imports for ~10 s): one run of each over every variant.
  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'blobserver-checkov-'));
      for (const [name, context] of Object.entries(VARIANTS)) {
        const { json } = synth(context);
        templates.set(name, json);
        await writeFile(join(dir, `${slug(name)}.json`), JSON.stringify(json));
        await writeFile(join(dir, `${slug(name)}.without-skips.json`), JSON.stringify(withoutSkips(json)));
      }
      const files = [...templates.keys()].map((name) => join(dir!, `${slug(name)}.json`));
      const [checkovOut, lintOut] = await Promise.all([
        // --skip-download: no call to Prisma Cloud for guidelines.
        report('checkov', ['-d', dir, '--framework', 'cloudformation', '--skip-download', '--quiet', '--compact', '-o', 'json'], (code) => code === 1),
        report('cfn-lint', ['--format', 'json', ...files], (code) => (code & 2) === 0),
      ]);
      const parsed = JSON.parse(checkovOut) as CheckovReport | CheckovReport[];
      checkov = Array.isArray(parsed) ? parsed[0] : parsed;
      lint = JSON.parse(lintOut || '[]') as LintMessage[];
    },
    { timeout: 600_000 },
  );
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const failedIn = (file: string) =>
    (checkov!.results.failed_checks ?? []).filter((c) => c.file_path.replace(/^\//, '') === file).map((c) => `${c.check_id} ${c.resource}`);

  it('checkov parsed every template and ran its CloudFormation checks', () => {
    assert.equal(checkov!.summary.parsing_errors, 0);
    assert.ok(checkov!.summary.passed > 100 * Object.keys(VARIANTS).length, `${checkov!.summary.passed} passed`);
  });

  for (const name of Object.keys(VARIANTS)) {
    it(`${name}: checkov 0 failed, each skip justified and needed; cfn-lint 0 errors`, () => {
      const json = templates.get(name)!;
      assert.deepEqual(failedIn(`${slug(name)}.json`), [], 'checkov findings neither fixed nor skipped with a reason');
      const skips = skipsIn(json);
      for (const s of skips) assert.ok(s.comment.length >= 60, `${s.id} on ${s.resource} needs a real reason`);
      assert.deepEqual(
        skips.map((s) => `${s.id} ${s.resource}`).sort(),
        failedIn(`${slug(name)}.without-skips.json`).sort(),
        'every skip hides a real finding, and nothing else is skipped',
      );
      const errors = lint.filter((m) => m.Level === 'Error' && m.Filename.endsWith(`${slug(name)}.json`));
      assert.deepEqual(
        errors.map((m) => `${m.Rule.Id} ${m.Message}`),
        [],
      );
    });
  }
});
