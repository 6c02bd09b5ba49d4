import type { HandlersOf } from './registry.js';

/** The handlers the write side's routes name, each loaded on its route's first request (registry.ts). */
export const WRITE_HANDLERS: HandlersOf<'write'> = {
  signedUpload: () => import('./signed-upload.js').then((m) => m.signedUploadHandler),
  uploadComplete: () => import('./upload-complete.js').then((m) => m.uploadCompleteHandler),
  batchUpload: () => import('./batch-upload.js').then((m) => m.batchUploadHandler),
  remove: () => import('./remove.js').then((m) => m.removeHandler),
  addCredential: () => import('./admin-credentials.js').then((m) => m.addCredentialHandler),
  revokeCredential: () => import('./admin-credentials.js').then((m) => m.revokeCredentialHandler),
  adminQuotas: () => import('./admin-quotas.js').then((m) => m.adminQuotasHandler),
};
