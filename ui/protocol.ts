import type { SizedRef } from '../client/http-client.js';

/** Messages between the page (app.ts) and its worker (worker.ts). */

export type ToWorker =
  | { type: 'config'; server: string; auth?: string | undefined }
  | { type: 'put'; job: number; files: { path: string; file: File }[]; dirs: string[] }
  | { type: 'download'; ref: string }
  /** Where download `id` goes: a file the user picked (streamed into it), Blob parts (no `to`), or nowhere (`cancel`: the picker was dismissed). */
  | { type: 'save'; id: number; to?: FileSystemFileHandle | undefined; cancel?: boolean }
  | { type: 'list'; after?: string | undefined; limit: number }
  | { type: 'check' }
  /** What the signed-in credential may do here (GET /camli/credential). */
  | { type: 'scope' }
  /** A key the user typed (held in the worker's memory only, never sent or stored); undefined forgets it. */
  | { type: 'key'; key?: string | undefined; blobsNamespace: string; metaNamespace: string }
  | { type: 'bench'; mb: number };

export interface FileProgress {
  path: string;
  size: number;
  hashed: number;
  /** Bytes of its chunks now on the server (sent by this upload or already there). */
  stored: number;
  done: boolean;
}

export interface Totals {
  bytes: number;
  hashed: number;
  /** Bytes of upload requests the server (or S3) has answered. */
  sent: number;
  stored: number;
  blobs: number;
  uploadedBlobs: number;
  skippedBlobs: number;
}

export type FromWorker =
  | { type: 'ready'; hash: string }
  | { type: 'progress'; job: number; files: FileProgress[]; totals: Totals }
  | { type: 'done'; job: number; refs: { name: string; ref: string; kind: 'file' | 'directory' }[]; totals: Totals; files: FileProgress[] }
  | { type: 'failed'; job?: number; message: string; files?: FileProgress[]; totals?: Totals }
  /** A download is ready to be read: the page says where to (a save picker, if the browser has one). */
  | { type: 'save-as'; id: number; ref: string; name: string }
  /** Checked and in memory as Blob parts: the page hands it to the browser's downloads. */
  | { type: 'downloaded'; ref: string; name: string; blob: Blob }
  /** Checked and written to the file the user picked. */
  | { type: 'saved'; ref: string; name: string; bytes: number }
  | { type: 'listed'; blobs: SizedRef[]; continueAfter?: string | undefined }
  | { type: 'checked'; ok: boolean; message: string }
  /** The credential's operations here; undefined when the server does not say (then everything is offered). */
  | { type: 'scoped'; operations?: string[] | undefined }
  | { type: 'keyed'; ok: boolean; message: string; encrypted: boolean }
  | { type: 'benched'; hash: string; sha224: number; noble: number; chunked: number };
