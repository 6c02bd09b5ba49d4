/**
 * Perkeep's discovery document as the tests read it (GET / with `camli.mode=config`, or
 * lambda/core/read/discovery.ts directly): the keys a client looks at, each `unknown` because the
 * tests assert its value, and any other key to check that it is absent.
 */
export type DiscoveryDoc = {
  blobRoot?: unknown;
  blobHashFuncs?: unknown;
  statusRoot?: unknown;
  searchRoot?: unknown;
  signing?: unknown;
  userName?: unknown;
  hasLegacySHA1Index?: unknown;
  storageGeneration?: unknown;
  storageInitTime?: unknown;
  locateBlobsRoot?: unknown;
} & Record<string, unknown>;
