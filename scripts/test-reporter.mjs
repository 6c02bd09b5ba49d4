/**
 * The reporter `npm test` uses (scripts/test.mjs): Node's spec reporter, without what the test
 * files print themselves. A green run shows each test, the summary and one line saying where
 * that output went; nothing else.
 *
 * What a test file writes to stdout or stderr (esbuild's bundling lines, servers' and emulators'
 * logs, the permission lane's report) is appended as it arrives to the log named by
 * BLOBSERVER_TEST_OUTPUT_LOG (test-artifacts/test-output.log), under a header naming the file and
 * the stream, so it survives a run killed by the watchdog. When a test of a file fails, that
 * file's whole output is also printed, after its results, for the CI log.
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { spec as Spec } from 'node:test/reporters';

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
  const failed = new Set();
  const printed = new Set();
  let lines = 0;
  let lastHeader = '';
  const printOutput = (file) => {
    const text = pending.get(file) ?? '';
    pending.delete(file);
    printed.add(file);
    if (!text) return '';
    const body = text.endsWith('\n') ? text : `${text}\n`;
    return `\n── what ${file} printed (stdout and stderr) ──\n${body}── end of ${file}'s output ──\n\n`;
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
    if (type === 'test:fail') failed.add(name(data.file));
    yield* render(event);
    // The file's own test (named after its path) completes when its process has ended.
    const fileDone = type === 'test:complete' && data.nesting === 0 && data.file && data.name === data.file;
    if (fileDone && failed.has(name(data.file))) yield printOutput(name(data.file));
  }
  for (const file of failed) if (pending.has(file)) yield printOutput(file);
  if (lines > 0) {
    const where = LOG ? relative(process.cwd(), LOG) : 'nowhere (BLOBSERVER_TEST_OUTPUT_LOG is not set)';
    yield `ℹ what the test files printed (${lines} lines${failed.size ? '; that of failing files is above' : ''}): ${where}\n`;
  }
  spec.end();
  for await (const chunk of spec) yield chunk;
}
