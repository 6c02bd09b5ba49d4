/**
 * JSON as Go's encoding/json MarshalIndent(v, "", "  ") writes it, which is what Perkeep
 * hashes: object keys sorted by their UTF-8 bytes; <, >, & and U+2028/U+2029 escaped as
 * \u003c, \u003e, \u0026, \u2028, \u2029. JSON.stringify already matches Go on layout
 * and on every other escape (\b \f \n \r \t, \u00XX in lower-case hex).
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: { [key: string]: JsonValue } = {};
  for (const k of Object.keys(v).sort(compareUtf8)) out[k] = sortKeys(v[k]!);
  return out;
}

const utf8 = new TextEncoder();

/**
 * Byte order of the UTF-8 encodings (Go's string order). Below U+D800, UTF-16 code units sort
 * as UTF-8 does, so the first differing unit decides without encoding; a difference at or past
 * a surrogate (pairs, and lone ones that UTF-8 turns into U+FFFD) compares the encodings.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return compareBytes(utf8.encode(a), utf8.encode(b));
  }
  // A prefix sorts first, unless it ends in a high surrogate the longer string pairs.
  const end = n ? a.charCodeAt(n - 1) : 0;
  if (a.length === b.length || end < 0xd800 || end > 0xdbff) return a.length - b.length;
  return compareBytes(utf8.encode(a), utf8.encode(b));
}

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function goMarshalIndent(v: JsonValue): string {
  // None of these characters can occur in JSON outside a string, so a global replace is exact.
  return JSON.stringify(sortKeys(v), null, 2).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}
