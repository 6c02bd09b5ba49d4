import { SUPPORTED_HASHES } from '../blobref.js';
import type { Namespace } from '../namespace.js';

/**
 * The blob index table's key schema, with no SDK import: the CDK stack, the local provisioner
 * and the DynamoDB index all take it from here.
 *
 * Range shards: the partition key `shard` is the ref's hash name, `-`, and the first hex digit
 * of its digest (`sha224-a`). A shard is a prefix of every ref it holds, so walking the fixed,
 * sorted list of shards and each shard's sort key (`blobRef`) in order lists refs in blobref
 * order, from the base table, strongly consistently, with no GSI. 32 partition key values
 * instead of one spread writes over as many partitions as DynamoDB cares to split them into.
 */
export const INDEX_SCHEMA = {
  partitionKey: 'shard',
  sortKey: 'blobRef',
} as const;

const HEX = '0123456789abcdef';

/** Every shard, in blobref order (DynamoDB compares strings by UTF-8 bytes, as this sort does). */
export const SHARDS: readonly string[] = SUPPORTED_HASHES.flatMap((h) => [...HEX].map((d) => `${h}-${d}`)).sort();

/** The shard of a valid blobref. */
export function shardOf(ref: string): string {
  const dash = ref.indexOf('-');
  if (dash < 0 || ref.length < dash + 2) throw new Error(`not a blobref: ${JSON.stringify(ref.slice(0, 80))}`);
  return ref.slice(0, dash + 2);
}

/**
 * The shards that may hold refs strictly greater than `after`, in order: a shard whose name
 * sorts below the same-length prefix of `after` holds only smaller refs.
 */
export function shardsAfter(after: string): string[] {
  return SHARDS.filter((s) => s >= after.slice(0, s.length));
}

/**
 * The partition key value of a namespace's shard: the shard itself for the root namespace (its
 * rows are where they always were), `<name>/<shard>` for a named one. A shard never holds a `/`,
 * so no named namespace's value is ever a root shard or another namespace's.
 */
export function partitionValue(ns: Namespace, shard: string): string {
  return ns.name ? `${ns.name}/${shard}` : shard;
}
