import { blobRefOf } from './hash.js';
import { goMarshalIndent, type JsonValue } from './go-json.js';

/**
 * Perkeep schema blobs (`file`, `bytes`, `directory`, `static-set`, `symlink`) in Perkeep's
 * canonical form: `{"camliVersion": 1,\n` followed by the rest of the map as Go's
 * MarshalIndent writes it (keys sorted, two-space indent). The same map gives the same bytes
 * and therefore the same blobref as pk-put.
 */

export type SchemaMap = { [key: string]: JsonValue };

export interface SchemaBlob {
  ref: string;
  json: string;
  bytes: Uint8Array;
}

export function schemaBlob(fields: SchemaMap): SchemaBlob {
  const { camliVersion = 1, ...rest } = fields;
  const json = `{"camliVersion": ${String(camliVersion)},\n` + goMarshalIndent(rest).slice(2);
  const bytes = new TextEncoder().encode(json);
  return { ref: blobRefOf(bytes), json, bytes };
}

/** One entry of a `parts` list: a chunk (`blobRef`) or a nested `bytes` schema (`bytesRef`). */
export type BytesPart = { blobRef: string; size: number } | { bytesRef: string; size: number };

/** RFC 3339 in UTC as Go's RFC3339FromTime prints it: fractional seconds only when non-zero, trailing zeros trimmed. */
export function rfc3339(epochNs: bigint): string {
  const seconds = epochNs / 1_000_000_000n - (epochNs % 1_000_000_000n < 0n ? 1n : 0n);
  const nanos = epochNs - seconds * 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const frac = nanos === 0n ? '' : '.' + nanos.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac}Z`;
}

/** What pk-put records about a file-system node (NewCommonFileMap). */
export interface CommonAttributes {
  fileName?: string | undefined;
  /** Permission bits only, e.g. 0o644 (absent for symlinks). */
  permission?: number | undefined;
  uid?: number | undefined;
  owner?: string | undefined;
  gid?: number | undefined;
  group?: string | undefined;
  mtimeNs?: bigint | undefined;
  /** Recorded only when it differs from mtime, as pk-put does. */
  ctimeNs?: bigint | undefined;
}

/** The attribute fields every file-like schema blob may carry, as pk-put writes them. */
type CommonFields = {
  fileName?: string;
  unixPermission?: string;
  unixOwnerId?: number;
  unixOwner?: string;
  unixGroupId?: number;
  unixGroup?: string;
  unixMtime?: string;
  unixCtime?: string;
};

export function commonFields(a: CommonAttributes): SchemaMap {
  const m: CommonFields = {};
  if (a.fileName) m.fileName = a.fileName;
  if (a.permission !== undefined) m.unixPermission = '0' + (a.permission & 0o777).toString(8);
  if (a.uid !== undefined) m.unixOwnerId = a.uid;
  if (a.owner) m.unixOwner = a.owner;
  if (a.gid !== undefined) m.unixGroupId = a.gid;
  if (a.group) m.unixGroup = a.group;
  if (a.mtimeNs !== undefined) m.unixMtime = rfc3339(a.mtimeNs);
  if (a.ctimeNs !== undefined && a.ctimeNs >= 1_000_000_000n && a.ctimeNs !== a.mtimeNs) m.unixCtime = rfc3339(a.ctimeNs);
  return m;
}

const partJson = (p: BytesPart): SchemaMap => ('blobRef' in p ? { blobRef: p.blobRef, size: p.size } : { bytesRef: p.bytesRef, size: p.size });

export function fileSchema(attrs: CommonAttributes, parts: readonly BytesPart[]): SchemaBlob {
  return schemaBlob({ camliVersion: 1, camliType: 'file', ...commonFields(attrs), parts: parts.map(partJson) });
}

export function bytesSchema(parts: readonly BytesPart[]): SchemaBlob {
  return schemaBlob({ camliVersion: 1, camliType: 'bytes', parts: parts.map(partJson) });
}

export function directorySchema(attrs: CommonAttributes, entries: string): SchemaBlob {
  return schemaBlob({ camliVersion: 1, camliType: 'directory', ...commonFields(attrs), entries });
}

export function symlinkSchema(attrs: CommonAttributes, target: string): SchemaBlob {
  return schemaBlob({ camliVersion: 1, camliType: 'symlink', ...commonFields({ ...attrs, permission: undefined }), symlinkTarget: target });
}

/** Perkeep's limit on the members of one static-set before it spreads them over sub-sets. */
const MAX_STATIC_SET_MEMBERS = 10_000;

/**
 * The static-set of a directory's entries: the top set first, then every sub-set (which must
 * be uploaded too), split exactly as Perkeep's SetStaticSetMembers splits large directories.
 */
export function staticSets(members: readonly string[], max = MAX_STATIC_SET_MEMBERS): SchemaBlob[] {
  if (members.length <= max) return [schemaBlob({ camliVersion: 1, camliType: 'static-set', members: [...members] })];
  let count = Math.floor(members.length / max);
  let per: number;
  if (count < max) {
    per = max;
  } else {
    count = max - 1;
    per = Math.floor(members.length / count);
  }
  const tops: SchemaBlob[] = [];
  const all: SchemaBlob[] = [];
  for (let i = 0; i < count; i++) {
    const [top, ...nested] = staticSets(members.slice(i * per, (i + 1) * per), max);
    tops.push(top!);
    all.push(top!, ...nested);
  }
  if (per * count < members.length) {
    // Perkeep keeps only the rest's top set (its own sub-sets, if any, are not returned).
    const [top] = staticSets(members.slice(per * count), max);
    tops.push(top!);
    all.push(top!);
  }
  return [schemaBlob({ camliVersion: 1, camliType: 'static-set', mergeSets: tops.map((t) => t.ref) }), ...all];
}

/** A schema blob as read back: only the fields the client follows. */
export interface ParsedSchema {
  camliType: string;
  fileName?: string;
  parts?: BytesPart[];
  entries?: string;
  members?: string[];
  mergeSets?: string[];
  symlinkTarget?: string;
  unixPermission?: string;
  unixMtime?: string;
}

/** The schema in these bytes, or undefined when they are not a Perkeep schema blob. */
export function parseSchema(bytes: Uint8Array): ParsedSchema | undefined {
  if (bytes.length === 0 || bytes[0] !== 0x7b /* { */) return undefined;
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as { camliVersion?: unknown; camliType?: unknown } | null;
    if (typeof v?.camliVersion !== 'number' || typeof v.camliType !== 'string') return undefined;
    return v as unknown as ParsedSchema;
  } catch {
    return undefined;
  }
}
