import { MemoryBlobIndex, MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import { defineStorageConformance } from '../support/storage-conformance.js';

/** The conformance kit against the in-memory implementations (the reference for the others). */
defineStorageConformance('memory', async () => ({
  index: new MemoryBlobIndex(),
  store: new MemoryBlobStore(),
  refusesOverwrite: true,
  close: async () => undefined,
}));
