/**
 * The put progress line on a terminal: blobs and bytes done of the total, rate and ETA,
 * redrawn in place on stderr. Silent unless both stdout and stderr are terminals.
 */
export interface ProgressSnapshot {
  blobsDone: number;
  blobsSeen: number;
  bytesRead: number;
  totalBytes?: number;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function formatProgress(s: ProgressSnapshot, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? s.bytesRead / (elapsedMs / 1000) : 0;
  const total = s.totalBytes === undefined ? '' : ` of ${mb(s.totalBytes)}`;
  const eta = s.totalBytes !== undefined && rate > 0 ? `, ETA ${Math.max(0, Math.ceil((s.totalBytes - s.bytesRead) / rate))} s` : '';
  return `blobs ${s.blobsDone}/${s.blobsSeen}, ${mb(s.bytesRead)}${total} read, ${(rate / 1e6).toFixed(1)} MB/s${eta}`;
}

export function progressLine(enabled: boolean, snapshot: () => ProgressSnapshot): { stop(): void } {
  if (!enabled) return { stop() {} };
  const started = Date.now();
  const draw = () => process.stderr.write(`\r\x1b[K${formatProgress(snapshot(), Date.now() - started)}`);
  const timer = setInterval(draw, 250);
  return {
    stop() {
      clearInterval(timer);
      draw();
      process.stderr.write('\n');
    },
  };
}
