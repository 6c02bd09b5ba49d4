import { synthesizedStack } from '../test/support/synthesized-stack.js';

/**
 * Synthesizes the stack for the deployed-artifact lane into cdk.out/deployed-<hash>/ (or finds
 * it there): scripts/test.mjs runs this once before the lane's test files, which then share it.
 */
const started = Date.now();
const stack = await synthesizedStack();
console.error(`scripts/synth-deployed.ts: ${stack.outdir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
