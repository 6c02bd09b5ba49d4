import type { SizedRef } from '../storage/storage-api.js';
import { formParams, parseBlobList } from '../http/blob-form.js';
import type { Deps } from '../deps.js';
import type { HttpEvent } from '../http/http.js';

/**
 * Which of the blobs a stat-style request names (`camliversion=1&blob1..N`, query or form)
 * are fully stored, in request order, from strongly consistent index reads. Stat answers
 * this as `stat`, preupload as `alreadyHave`.
 */
export async function statRequest(deps: Pick<Deps, 'storage'>, event: HttpEvent): Promise<SizedRef[]> {
  const refs = parseBlobList(formParams(event));
  const sizes = await deps.storage.stat(refs);
  return refs.filter((r) => sizes.has(r)).map((r) => ({ blobRef: r, size: sizes.get(r)! }));
}
