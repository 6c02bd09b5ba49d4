import { adminQuotasHandler } from './admin-quotas.js';
import { batchUploadHandler } from './batch-upload.js';
import type { HandlersOf } from './registry.js';
import { removeHandler } from './remove.js';
import { signedUploadHandler } from './signed-upload.js';
import { uploadCompleteHandler } from './upload-complete.js';

/** The handlers the write side's routes name. */
export const WRITE_HANDLERS: HandlersOf<'write'> = {
  signedUpload: signedUploadHandler,
  uploadComplete: uploadCompleteHandler,
  batchUpload: batchUploadHandler,
  remove: removeHandler,
  adminQuotas: adminQuotasHandler,
};
