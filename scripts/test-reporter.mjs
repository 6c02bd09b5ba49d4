/**
 * The reporter `npm test` uses (scripts/test.mjs): Node's spec reporter, without what the test
 * files print themselves. A green run shows each test, the summary and one line saying where
 * that output went; nothing else.
 *
 * What a test file writes to stdout or stderr (esbuild's bundling lines, servers' and emulators'
 * logs, the permission lane's report) is appended as it arrives to the log named by
 * BLOBSERVER_TEST_OUTPUT_LOG (test-artifacts/test-output.log), under a header naming the file and
 * the stream, so it survives a run killed by the watchdog. When a test of a file fails, why
 * (each failing test's error) and that file's whole output are also printed, after its
 * results, for the CI log: Node 24's spec reporter keeps the errors for its summary at the very
 * end, which a run stopped by the watchdog never reaches.
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { inspect } from 'node:util';
import { spec as Spec } from 'node:test/reporters';

/** A failing test's error, in at most this many lines. */
const ERROR_LINES = 40;

/** The error a failing test (or hook) reported: its cause when the runner wrapped it. */
function describeFailure(data) {
  const err = data.details?.error;
  const shown = err?.code === 'ERR_TEST_FAILURE' && err.cause !== undefined ? err.cause : err;
  const text = inspect(shown, { depth: 4, breakLength: 160 }).split('\n');
  const cut = text.length > ERROR_LINES ? [...text.slice(0, ERROR_LINES), `  … (${text.length - ERROR_LINES} more lines)`] : text;
  return `✖ ${data.name}\n${cut.map((l) => `    ${l}`).join('\n')}\n`;
}

const LOG = process.env.BLOBSERVER_TEST_OUTPUT_LOG;

export default async function* quietSpec(source) {
  const spec = new Spec();
  /** Events go through Node's spec reporter; what it renders is read back at once (it renders synchronously). */
  const render = function* (event) {
    spec.write(event);
    for (let chunk; (chunk = spec.read()) !== null; ) yield chunk;
  };
  const name = (file) => (file ? relative(process.cwd(), file) : '(outside any test file)');
  /** Output per test file not yet printed, stdout and stderr in the order they arrived. */
  const pending = new Map();
  /** Why each file's tests failed, printed with its output. */
  const failures = new Map();
  const failed = new Set();
  const printed = new Set();
  let lines = 0;
  let lastHeader = '';
  const printOutput = (file) => {
    const text = pending.get(file) ?? '';
    const why = failures.get(file) ?? [];
    pending.delete(file);
    failures.delete(file);
    printed.add(file);
    const errors = why.length ? `\n── why ${file} failed ──\n${why.join('')}` : '';
    if (!text) return errors && `${errors}\n`;
    const body = text.endsWith('\n') ? text : `${text}\n`;
    return `${errors}\n── what ${file} printed (stdout and stderr) ──\n${body}── end of ${file}'s output ──\n\n`;
  };

  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:stdout' || type === 'test:stderr') {
      const file = name(data.file);
      const header = `── ${file} (${type.slice('test:'.length)}) ──`;
      if (LOG) appendFileSync(LOG, `${header === lastHeader ? '' : `\n${header}\n`}${data.message}`);
      lastHeader = header;
      lines += data.message.split('\n').length - (data.message.endsWith('\n') ? 1 : 0);
      // A file that already failed and was printed prints what comes later straight away.
      if (printed.has(file)) yield data.message;
      else pending.set(file, (pending.get(file) ?? '') + data.message);
      continue;
    }
    if (type === 'test:fail') {
      failed.add(name(data.file));
      // Not the echoes of a failure: a suite whose tests failed, tests a failed hook cancelled.
      if (!['subtestsFailed', 'cancelledByParent'].includes(data.details?.error?.failureType))
        failures.set(name(data.file), [...(failures.get(name(data.file)) ?? []), describeFailure(data)]);
    }
    yield* render(event);
    // The file's own test (named after its path) completes when its process has ended.
    const fileDone = type === 'test:complete' && data.nesting === 0 && data.file && data.name === data.file;
    if (fileDone && failed.has(name(data.file))) yield printOutput(name(data.file));
  }
  for (const file of failed) if (pending.has(file) || failures.has(file)) yield printOutput(file);
  if (lines > 0) {
    const where = LOG ? relative(process.cwd(), LOG) : 'nowhere (BLOBSERVER_TEST_OUTPUT_LOG is not set)';
    yield `ℹ what the test files printed (${lines} lines${failed.size ? '; that of failing files is above' : ''}): ${where}\n`;
  }
  spec.end();
  for await (const chunk of spec) yield chunk;
}
