import { readConfig } from '../lambda/core/config.js';
import { rotateKeyFile } from './keys.js';

/** `npm run rotate-key`: rotate the local signing key (a running server picks it up on the next unknown key id). */
const config = readConfig();
if (config.signingKeys.kind !== 'file') throw new Error('rotate-key manages the local key file only');
await rotateKeyFile(config.signingKeys.path);
console.log(`rotated signing key in ${config.signingKeys.path}`);
