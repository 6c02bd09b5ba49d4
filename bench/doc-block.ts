import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/bundling.js';

/**
 * Figures in docs/ that a bench writes itself, so they never drift from what it prints: the
 * text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in a doc is replaced by a line
 * naming the command, the date and the machine, and the bench's own output as a code block.
 */

/** Where and when: the line above every generated block. */
export function provenance(command: string): string {
  const cpu = cpus();
  const load = (loadavg()[0] ?? 0).toFixed(1);
  return `\`${command}\`, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), load average ${load} at the end`;
}

/** Replaces block NAME of `doc` (relative to the project root); fails if its markers are missing. */
export function writeDocBlock(doc: string, name: string, command: string, output: string): void {
  const path = join(PROJECT_ROOT, doc);
  const text = readFileSync(path, 'utf8');
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0) throw new Error(`${doc} has no ${begin} … ${end} block`);
  const block = `${begin}\n(${provenance(command)})\n\n\`\`\`\n${output.trimEnd()}\n\`\`\`\n`;
  writeFileSync(path, text.slice(0, from) + block + text.slice(to));
  console.log(`\nwrote these figures into ${doc}`);
}
