// First: it decides whether the AWS SDK may print its Node-version block (see the module).
import './node-support.js';
import { ConfigError } from '../lambda/core/config.js';
import { startLocalServer, StartupError, type LocalServer } from './server.js';

/** `npm start`: the local server on the embedded emulators (or a configured AWS endpoint). */
let server: LocalServer;
try {
  server = await startLocalServer();
} catch (err) {
  // What the user can fix is one line; anything else keeps its stack.
  if (err instanceof StartupError || err instanceof ConfigError) console.error(`blobserver: ${err.message}`);
  else console.error(err);
  process.exit(1);
}
const backend = server.embedded
  ? `embedded dynalite + s3rver (data in ${server.dataDir})`
  : `AWS endpoints s3=${server.config.endpoints.s3 ?? 'default'} dynamodb=${server.config.endpoints.dynamodb ?? 'default'}`;
console.log(`blobserver listening on ${server.url}  (${backend})`);
if (server.config.auth.kind === 'none') {
  console.warn('WARNING: BLOBSERVER_AUTH is not set: no credentials required (allowed only because it listens on loopback)');
}

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  await server.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
