import { ScanCommand, type AttributeValue, type DynamoDBClient, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { ROW_WRITE_WINDOW_MS } from '../limits.js';
import { legacyBlobKey } from './object-keys.js';
import type { BlobIndex, BlobRow } from './storage-api.js';

/**
 * One-shot migration from the first storage model: its table (partition key blobRef, a
 * listing GSI, no object key) to today's range-sharded table. Objects stay where they are:
 * each row points at the legacy key `blobs/<ref>`. Idempotent (rows are overwritten with the
 * same content), so an interrupted run is simply run again. Run it while nothing writes or
 * removes (a blob removed from the new table during the copy would come back).
 */
export async function migrateLegacyIndex(
  ddb: DynamoDBClient,
  legacyTable: string,
  into: BlobIndex,
  progress: (copied: number) => void = () => undefined,
): Promise<number> {
  let copied = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const out: ScanCommandOutput = await ddb.send(new ScanCommand({ TableName: legacyTable, ConsistentRead: true, ExclusiveStartKey: startKey }));
    // The copy's own time is its storedAt: a remove within minutes of it leaves the object to fsck.
    const storedAt = new Date().toISOString();
    const rows: BlobRow[] = (out.Items ?? []).map((item) => {
      const blobRef = item['blobRef']!.S!;
      return { blobRef, size: Number(item['size']!.N), key: legacyBlobKey(blobRef), storedAt };
    });
    const failed = await into.put(rows, Date.now() + ROW_WRITE_WINDOW_MS);
    if (failed.length) throw new Error(`migration: ${failed.length} rows could not be written (run it again)`);
    copied += rows.length;
    progress(copied);
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return copied;
}
