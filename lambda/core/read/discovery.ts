import { SUPPORTED_HASHES } from '../blobref.js';
import { header, publicBaseUrl, type HttpEvent } from '../http/http.js';
import type { StorageGeneration } from '../storage/storage-generation.js';
import { ROOT_NAMESPACE, type Namespace } from '../namespace.js';

/**
 * Perkeep's discovery document, served at `/`. Its client reads blobRoot (where `/camli/...`
 * lives), searchRoot/helpRoot/shareRoot (empty: we have none of those), signing (absent: we
 * do not sign), storageGeneration + storageInitTime (the store's generation: the client keys
 * its "have cache" by it, as with perkeepd; removing blobs does not change it, as with
 * perkeepd) and hasLegacySHA1Index. `locateBlobsRoot` is our batch locate extension
 * (DESIGN §9); Perkeep's clients decode discovery into a struct and ignore keys they do not know.
 */

export const DISCOVERY_MEDIA_TYPE = 'text/x-camli-configuration';

/** `Accept: text/x-camli-configuration` (among others) or `?camli.mode=config`. */
export function wantsDiscovery(event: HttpEvent): boolean {
  if (new URLSearchParams(event.rawQueryString ?? '').get('camli.mode') === 'config') return true;
  const accept = header(event, 'accept') ?? '';
  return accept.split(',').some((range) => range.split(';')[0]!.trim().toLowerCase() === DISCOVERY_MEDIA_TYPE);
}

/** The path of this API's root, with a trailing slash: `/`, or `/<stage>/` behind a named stage. */
export function apiRootPath(event: HttpEvent): string {
  const path = new URL(publicBaseUrl(event)).pathname;
  return path.endsWith('/') ? path : `${path}/`;
}

/** Without a generation (the store could not be read) the fields are left out, and clients skip their cache. */
export function discoveryDocument(event: HttpEvent, principal: string, generation?: StorageGeneration, ns: Namespace = ROOT_NAMESPACE) {
  // A namespace's discovery names its own roots (`/<name>/`), and its own generation.
  const root = ns.name ? `${apiRootPath(event)}${ns.name}/` : apiRootPath(event);
  return {
    blobRoot: root,
    blobHashFuncs: SUPPORTED_HASHES,
    statusRoot: `${root}status/`,
    searchRoot: '',
    helpRoot: '',
    shareRoot: '',
    jsonSignRoot: '',
    userName: principal,
    hasLegacySHA1Index: false,
    locateBlobsRoot: `${root}camli/locate`,
    ...(generation ? { storageGeneration: generation.generation, storageInitTime: generation.initTime } : {}),
  };
}
