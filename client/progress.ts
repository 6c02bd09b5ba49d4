/**
 * The put progress line on a terminal: blobs done, bytes read (hashed) of the total, sent
 * (in upload requests) and stored (confirmed by the server, or already there), rate and ETA
 * from what no longer needs sending, redrawn in place on stderr.
 */
export interface ProgressSnapshot {
  blobsDone: number;
  blobsSeen: number;
  bytesRead: number;
  totalBytes?: number | undefined;
  /** Bytes put in upload requests. */
  bytesSent: number;
  /** Bytes the server confirmed stored, or said it had. */
  bytesStored: number;
  /** Of bytesStored, those it already had (never sent). */
  bytesSkipped: number;
  /**
   * Bytes of the schema blobs made so far (file and directory JSON: they are stored but were
   * never read from disk, which is why stored can exceed read); 0 for raw blobs.
   */
  bytesSchema?: number | undefined;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function formatProgress(s: ProgressSnapshot, elapsedMs: number): string {
  // Reading and hashing run ahead of the network: the rate and ETA count what has left (or need not).
  const moved = s.bytesSent + s.bytesSkipped;
  const rate = elapsedMs > 0 ? moved / (elapsedMs / 1000) : 0;
  const total = s.totalBytes === undefined ? '' : ` of ${mb(s.totalBytes)}`;
  const eta = s.totalBytes !== undefined && rate > 0 ? `, ETA ${Math.max(0, Math.ceil((s.totalBytes - moved) / rate))} s` : '';
  // Shown once it shows at all (0.05 MB), so "stored" above "read" never goes unexplained.
  const schema = (s.bytesSchema ?? 0) >= 0.05e6 ? ` (${mb(s.bytesSchema!)} of it schema)` : '';
  return `blobs ${s.blobsDone}/${s.blobsSeen}, read ${mb(s.bytesRead)}${total}, sent ${mb(s.bytesSent)}, stored ${mb(s.bytesStored)}${schema}, ${(rate / 1e6).toFixed(1)} MB/s${eta}`;
}

export interface Progress {
  /** Draws the final state and ends the line. */
  stop(): void;
}

export function progressLine(enabled: boolean, snapshot: () => ProgressSnapshot): Progress {
  if (!enabled) return { stop() {} };
  const started = Date.now();
  const draw = () => process.stderr.write(`\r\x1b[K${formatProgress(snapshot(), Date.now() - started)}`);
  const timer = setInterval(draw, 250);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
      process.stderr.write('\n');
    },
  };
}
