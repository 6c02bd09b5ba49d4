#!/usr/bin/env node
// The `blobserver` bin: runs the TypeScript CLI through tsx's loader, so no build step is
// needed after `npm ci` (tsx is installed with the package's dependencies).
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../cli.ts');
await run(process.argv.slice(2));
