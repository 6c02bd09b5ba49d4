import type { HandlersOf } from './registry.js';

/** The handlers the read side's routes name, each loaded on its route's first request (registry.ts). */
export const READ_HANDLERS: HandlersOf<'read'> = {
  preupload: () => import('./preupload.js').then((m) => m.preuploadHandler),
  root: () => import('./root.js').then((m) => m.rootHandler),
  status: () => import('./status.js').then((m) => m.statusHandler),
  stat: () => import('./stat-blobs.js').then((m) => m.statHandler),
  enumerate: () => import('./enumerate-blobs.js').then((m) => m.enumerateHandler),
  getBlob: () => import('./get-blob.js').then((m) => m.getBlobHandler),
  ui: () => import('./ui.js').then((m) => m.uiHandler),
  locate: () => import('./locate-blobs.js').then((m) => m.locateHandler),
  credential: () => import('./credential.js').then((m) => m.credentialHandler),
  listCredentials: () => import('./admin-credentials.js').then((m) => m.listCredentialsHandler),
  adminUsage: () => import('./admin-usage.js').then((m) => m.adminUsageHandler),
};
