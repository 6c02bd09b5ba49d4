import type { SizedRef } from '../storage/storage-api.js';
import type { Deps } from '../deps.js';
import { REFUSE } from '../http/errors.js';
import { bodyBytes, header, type HttpEvent } from '../http/http.js';
import { readBlobParts } from './multipart.js';
import { MetricUnit } from '../telemetry.js';
import { namespaceLabel } from '../namespace.js';
import { describeRefusal } from '../storage/usage.js';

export interface UploadOutcome {
  received: SizedRef[];
  /** Present only when some part was refused or could not be stored. */
  errorText?: string;
}

/**
 * The one upload engine behind both upload routes (signed URL and HTTP Basic): size cap,
 * multipart parse with per-part digest verification, then objects-before-rows writes (blob-storage.ts). The caller
 * has already decided who may upload.
 */
export async function receiveUpload(deps: Pick<Deps, 'settings' | 'storage' | 'metrics'>, event: HttpEvent): Promise<UploadOutcome> {
  const body = bodyBytes(event);
  if (body.length > deps.settings.maxUploadSize) {
    throw REFUSE.requestTooLarge(body.length, deps.settings.maxUploadSize);
  }
  // A body that is not multipart is refused (400) before busboy sees it.
  const parsed = await readBlobParts(body, header(event, 'content-type'), deps.settings.maxBlobSize);
  const stored = await deps.storage.storeVerifiedBlobs(parsed.blobs);
  // Over quota: 507, and nothing of this request was stored (blob-writes.ts reserves first).
  if (stored.overQuota) {
    deps.metrics?.addMetric('QuotaRefusals', MetricUnit.Count, 1);
    throw REFUSE.quotaExceeded(describeRefusal(namespaceLabel(deps.storage.usage.namespace), stored.overQuota));
  }
  const errors = [...parsed.refused, ...stored.errors];
  deps.metrics?.addMetric('BlobsReceived', MetricUnit.Count, stored.received.length);
  deps.metrics?.addMetric(
    'BytesReceived',
    MetricUnit.Bytes,
    stored.received.reduce((n, r) => n + r.size, 0),
  );
  deps.metrics?.addMetric('BlobsRejected', MetricUnit.Count, errors.length);
  return { received: stored.received, ...(errors.length ? { errorText: errors.join('\n') } : {}) };
}
