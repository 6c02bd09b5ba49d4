// Minimal typings for the embedded emulators (neither package ships its own).
declare module 'dynalite' {
  import type { Server } from 'node:http';
  function dynalite(options?: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }): Server;
  export default dynalite;
}

declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';
  export default class S3rver {
    constructor(options: {
      address?: string;
      port?: number;
      directory: string;
      silent?: boolean;
      configureBuckets?: { name: string }[];
    });
    run(): Promise<AddressInfo>;
    /** Listens where `server.listen` would (a Unix socket path here); resolves to the server. */
    listen(path: string): Promise<Server>;
    httpServer?: Server;
    close(): Promise<void>;
  }
}
