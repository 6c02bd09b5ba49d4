import { startPerkeepd, type Perkeepd } from './perkeepd.js';

/**
 * perkeepd (the PERKEEPD binary) serving Perkeep's `storage-encrypt` over two `storage-remote`
 * targets, our blob roots at `blobsUrl` (encrypted blobs) and `metaUrl` (meta): the reference
 * reader and writer of the encrypt format. It reads all meta at start, so a restart sees what
 * others wrote since.
 */

/** The sentence perkeepd's encrypt storage insists on (pkg/blobserver/encrypt/encrypt.go). */
export const I_AGREE = "that encryption support hasn't been peer-reviewed, isn't finished, and its format might change.";

export type EncryptPerkeepd = Perkeepd;

export function startEncryptPerkeepd(
  binary: string,
  dir: string,
  options: { blobsUrl: string; metaUrl: string; keyFile: string; userpass: string },
): Promise<EncryptPerkeepd> {
  const remote = (url: string) => ({ handler: 'storage-remote', handlerArgs: { url, auth: options.userpass } });
  return startPerkeepd(binary, dir, {
    auth: options.userpass,
    prefixes: {
      '/': { handler: 'root', handlerArgs: { blobRoot: '/enc/', stealth: false } },
      '/enc/': {
        handler: 'storage-encrypt',
        handlerArgs: { I_AGREE, keyFile: options.keyFile, blobs: '/rb/', meta: '/rm/', metaIndex: { type: 'memory' } },
      },
      '/rb/': remote(options.blobsUrl),
      '/rm/': remote(options.metaUrl),
    },
  });
}
