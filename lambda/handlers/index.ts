import type { RouteHandler } from '../core/authorise.js';
import type { Deps } from '../core/deps.js';
import type { HandlerName, RegisteredRoute } from '../routes.js';
import { batchUploadHandler } from './batch-upload.js';
import { enumerateHandler } from './enumerate-blobs.js';
import { getBlobHandler } from './get-blob.js';
import { preuploadHandler } from './preupload.js';
import { removeHandler } from './remove.js';
import { rootHandler } from './root.js';
import { signedUploadHandler } from './signed-upload.js';
import { statHandler } from './stat-blobs.js';
import { statusHandler } from './status.js';
import { uploadCompleteHandler } from './upload-complete.js';

/** The authorisation lambda/routes.ts gives the routes served by handler N. */
type AuthOf<N extends HandlerName> = Extract<RegisteredRoute, { handler: N }>['auth'];

/**
 * Every handler ROUTES names, by name. The type makes the compiler check that each name has
 * code and that the code takes what its routes' authorisation grants.
 */
export const HANDLERS: { [N in HandlerName]: (deps: Deps) => RouteHandler<AuthOf<N>> } = {
  preupload: preuploadHandler,
  signedUpload: signedUploadHandler,
  uploadComplete: uploadCompleteHandler,
  root: rootHandler,
  status: statusHandler,
  stat: statHandler,
  enumerate: enumerateHandler,
  getBlob: getBlobHandler,
  batchUpload: batchUploadHandler,
  remove: removeHandler,
};
