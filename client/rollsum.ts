/**
 * The rolling checksum Perkeep cuts files with (go4.org/rollsum, after bup's bupsplit):
 * a 64-byte window, sums kept as uint32. Reimplemented from its description so the same
 * bytes split at the same places.
 */
const WINDOW = 64;
const CHAR_OFFSET = 31;
const BLOB_BITS = 13;
const SPLIT_MASK = (1 << BLOB_BITS) - 1;

export class RollSum {
  s1 = WINDOW * CHAR_OFFSET;
  s2 = WINDOW * (WINDOW - 1) * CHAR_OFFSET;
  private readonly window = new Uint8Array(WINDOW);
  private wofs = 0;

  /**
   * Rolls buf[from..to) and stops just after the first byte, at index `splitFrom` or later,
   * after which s2's low 13 bits are all set (a candidate chunk boundary): returns the index past that byte, or -1 having rolled all.
   * The same arithmetic as `roll`, in locals: this loop sees every byte of every file.
   */
  rollUntilSplit(buf: Uint8Array, from: number, to: number, splitFrom: number): number {
    const w = this.window;
    let { s1, s2, wofs } = this;
    let found = -1;
    for (let i = from; i < to; i++) {
      const ch = buf[i]!;
      const drop = w[wofs]!;
      w[wofs] = ch;
      wofs = (wofs + 1) & (WINDOW - 1);
      s1 = (s1 + ch - drop) >>> 0;
      s2 = (s2 + s1 - WINDOW * (drop + CHAR_OFFSET)) >>> 0;
      if ((s2 & SPLIT_MASK) === SPLIT_MASK && i >= splitFrom) {
        found = i + 1;
        break;
      }
    }
    this.s1 = s1;
    this.s2 = s2;
    this.wofs = wofs;
    return found;
  }

  digest(): number {
    return ((this.s1 << 16) | (this.s2 & 0xffff)) >>> 0;
  }

  /** How "strong" this boundary is: 13 + the trailing one bits above the split mask. */
  bits(): number {
    const inverted = ~(this.digest() >>> (BLOB_BITS + 1)) >>> 0;
    return BLOB_BITS + (inverted === 0 ? 32 : 31 - Math.clz32(inverted & -inverted));
  }
}
