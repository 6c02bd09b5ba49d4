import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { createCRC32, createCRC64 } from 'hash-wasm';

/**
 * S3's flexible checksums as S3 checks them on a write (`x-amz-checksum-<algorithm>`, the
 * big-endian value in base64), for the local S3 front: s3rver ignores these headers.
 */
const ALGORITHMS: Record<string, (body: readonly Uint8Array[]) => Promise<Buffer>> = {
  crc32: async (body) => uint32(body.reduce((crc, chunk) => crc32(chunk, crc), 0)),
  // CRC-32C (Castagnoli) and CRC-64/NVME, reflected polynomials.
  crc32c: async (body) => hex(await digestWith(createCRC32(0x82f63b78), body)),
  crc64nvme: async (body) => hex(await digestWith(createCRC64('9a6c9329ac4bc9b5'), body)),
  sha1: async (body) => hashOf('sha1', body),
  sha256: async (body) => hashOf('sha256', body),
};

const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const hex = (s: string) => Buffer.from(s, 'hex');
async function digestWith(hasher: ReturnType<typeof createCRC32>, body: readonly Uint8Array[]): Promise<string> {
  const h = await hasher;
  h.init();
  for (const chunk of body) h.update(chunk);
  return h.digest('hex');
}

/** The digest of a body received in chunks (the front keeps them as they came: no copy of the whole). */
export function hashOf(algorithm: 'sha1' | 'sha256', body: readonly Uint8Array[]): Buffer {
  const h = createHash(algorithm);
  for (const chunk of body) h.update(chunk);
  return h.digest();
}

/** The `x-amz-checksum-*` headers of a request that S3 would check. */
export function requestedChecksums(headers: Record<string, string | string[] | undefined>): [algorithm: string, value: string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name.toLowerCase());
    if (m && m[1] !== 'type' && m[1] !== 'algorithm' && typeof value === 'string') out.push([m[1]!, value]);
  }
  return out;
}

/**
 * Undefined when every requested checksum matches `body` (its chunks, in order); otherwise S3's
 * refusal (400 BadDigest, or InvalidRequest for an algorithm S3 does not know).
 */
export async function checksumRefusal(checksums: [string, string][], body: readonly Uint8Array[]): Promise<{ code: string; message: string } | undefined> {
  for (const [algorithm, value] of checksums) {
    const compute = ALGORITHMS[algorithm];
    if (!compute) return { code: 'InvalidRequest', message: `Unsupported checksum algorithm ${algorithm}` };
    if ((await compute(body)).toString('base64') !== value)
      return { code: 'BadDigest', message: `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.` };
  }
  return undefined;
}
