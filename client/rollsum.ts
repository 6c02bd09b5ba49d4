/**
 * The rolling checksum Perkeep cuts files with (go4.org/rollsum, after bup's bupsplit): a
 * 64-byte window, s1 += add - drop, s2 += s1 - 64 * (drop + 31), a candidate boundary where
 * s2's low 13 bits are all set. Reimplemented from its description so the same bytes split at
 * the same places.
 *
 * Both sums are functions of the window alone: from a zeroed window (the state at a file's
 * start), s1 = 64*31 + the sum of the window's bytes and s2 = 64*63*31 + the sum of its bytes
 * weighted 64 (oldest) down to 1 (newest); neither ever exceeds 2^20, so no wrap-around. The
 * search below therefore starts at any offset from the 64 bytes before it instead of rolling
 * every byte of the file: the chunker only looks for boundaries past a file's first 256 KiB
 * and a chunk's first 64 KiB, so most bytes are never rolled at all.
 */
export const WINDOW = 64;
const CHAR_OFFSET = 31;
const BLOB_BITS = 13;
const SPLIT_MASK = (1 << BLOB_BITS) - 1;
const S1_ZERO = WINDOW * CHAR_OFFSET;
const S2_ZERO = WINDOW * (WINDOW - 1) * CHAR_OFFSET;

/** The sums after the byte at the search's hit, to weigh the boundary with `splitBits`. */
export interface RollState {
  s1: number;
  s2: number;
}

/**
 * The first index j in [from, to) where the window ending at buf[j] (inclusive) is a candidate
 * boundary; -1 when there is none. Bytes before buf[0] are `before`'s (the 64 bytes that
 * preceded this buffer in the file, zeros at its start): `from` may be 0. On a hit, `state`
 * gets the sums there. A plain loop over the typed array: no calls, no copies per byte.
 */
export function findSplit(buf: Uint8Array, from: number, to: number, before: Uint8Array, state: RollState): number {
  if (from >= to) return -1;
  // The window ending at `from`, summed directly.
  let s1 = S1_ZERO;
  let s2 = S2_ZERO;
  for (let k = 0; k < WINDOW; k++) {
    const at = from - (WINDOW - 1) + k;
    const b = at >= 0 ? buf[at]! : before[WINDOW + at]!;
    s1 += b;
    s2 += (WINDOW - k) * b;
  }
  let j = from;
  if ((s2 & SPLIT_MASK) !== SPLIT_MASK) {
    j++;
    // The byte leaving the window comes from `before` for the buffer's first 64 bytes...
    for (const edge = Math.min(to, WINDOW); j < edge; j++) {
      const drop = before[j]!;
      s1 += buf[j]! - drop;
      s2 += s1 - WINDOW * drop - S1_ZERO;
      if ((s2 & SPLIT_MASK) === SPLIT_MASK) break;
    }
    // ...and from the buffer itself after them: the loop almost every byte rolled goes through.
    if (j >= WINDOW || j === to) {
      for (; j < to; j++) {
        const drop = buf[j - WINDOW]!;
        s1 += buf[j]! - drop;
        s2 += s1 - WINDOW * drop - S1_ZERO;
        if ((s2 & SPLIT_MASK) === SPLIT_MASK) break;
      }
    }
    if (j >= to) return -1;
  }
  state.s1 = s1;
  state.s2 = s2;
  return j;
}

/** How "strong" a boundary is: 13 + the trailing one bits above the split mask of the digest (s1 << 16 | s2 & 0xffff). */
export function splitBits({ s1, s2 }: RollState): number {
  const digest = ((s1 << 16) | (s2 & 0xffff)) >>> 0;
  const inverted = ~(digest >>> (BLOB_BITS + 1)) >>> 0;
  return BLOB_BITS + (inverted === 0 ? 32 : 31 - Math.clz32(inverted & -inverted));
}
