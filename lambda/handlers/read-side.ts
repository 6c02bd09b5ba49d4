import { adminUsageHandler } from './admin-usage.js';
import { enumerateHandler } from './enumerate-blobs.js';
import { getBlobHandler } from './get-blob.js';
import { locateHandler } from './locate-blobs.js';
import { preuploadHandler } from './preupload.js';
import type { HandlersOf } from './registry.js';
import { rootHandler } from './root.js';
import { statHandler } from './stat-blobs.js';
import { statusHandler } from './status.js';
import { uiHandler } from './ui.js';

/** The handlers the read side's routes name. */
export const READ_HANDLERS: HandlersOf<'read'> = {
  preupload: preuploadHandler,
  root: rootHandler,
  status: statusHandler,
  stat: statHandler,
  enumerate: enumerateHandler,
  getBlob: getBlobHandler,
  ui: uiHandler,
  locate: locateHandler,
  adminUsage: adminUsageHandler,
};
