/**
 * `npm run migrate`: copies the index rows of the first storage model's table
 * (BLOBSERVER_LEGACY_TABLE, default blobserver-index) into today's range-sharded table
 * (BLOBSERVER_TABLE), pointing each at its object where it already is (`blobs/<ref>`). The
 * same code the local server runs on start; here against whatever the environment names
 * (AWS credentials and region as usual, AWS_ENDPOINT_URL for LocalStack). Run it while the
 * API is stopped (throttled to 0) so no upload or remove happens during the copy. It never
 * deletes the legacy table: do that yourself once the new one serves.
 */
import { DynamoBlobIndex } from '../lambda/core/storage/dynamodb-index.js';
import { readConfig } from '../lambda/core/config.js';
import { dynamoClientFor } from '../lambda/core/aws/aws-clients.js';
import { migrateLegacyIndex } from '../lambda/core/storage/migrate.js';
import { ensureTable, tableExists } from '../lambda/core/storage/provision.js';
import { awsRefusal } from '../local/refusals.js';

const config = readConfig(process.env);
const ddb = dynamoClientFor(config);
try {
  if (!(await tableExists(ddb, config.legacyTableName))) {
    console.error(`migrate: no table ${config.legacyTableName}: nothing to migrate`);
    process.exit(1);
  }
  // A deployment's new table comes from CDK; an endpoint without one (LocalStack by hand) gets it here.
  await ensureTable(ddb, config.tableName);
  const tty = process.stderr.isTTY;
  const copied = await migrateLegacyIndex(ddb, config.legacyTableName, new DynamoBlobIndex(ddb, config.tableName), (n) => {
    if (tty) process.stderr.write(`\rmigrate: ${n} rows copied`);
  });
  if (tty) process.stderr.write('\n');
  console.log(
    `migrate: ${copied} rows copied from ${config.legacyTableName} to ${config.tableName}; objects stay where they are. Delete ${config.legacyTableName} once the new table serves.`,
  );
} catch (err) {
  // No credentials, an endpoint nobody answers at: one line that says what to do (local/refusals.ts).
  const refusal = awsRefusal(config, err);
  if (!refusal) throw err;
  console.error(`migrate: ${refusal}`);
  process.exit(1);
}
