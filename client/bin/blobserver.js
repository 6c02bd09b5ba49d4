#!/usr/bin/env node
// The `blobserver` bin: plain Node on the compiled client (dist/, built by `npm run build`).
import { run } from '../dist/cli.js';

await run(process.argv.slice(2));
