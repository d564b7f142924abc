// Segment file names: `segment-<sequence>-<firstIndex>.log`, both zero-padded so a directory
// listing reads in order. `sequence` orders segments (it only grows); `firstIndex` is the index
// the segment's first entry has (or would have): a segment whose first index is at or below
// entries of earlier segments voids them (a truncated conflicting suffix, or a log replaced by a
// snapshot), which is why the order is by sequence and not by first index.

export interface SegmentName {
  readonly name: string;
  readonly sequence: number;
  readonly firstIndex: number;
}

const segmentNamePattern = /^segment-(\d{10})-(\d{20})\.log$/;

export function segmentFileName(sequence: number, firstIndex: number): string {
  return `segment-${String(sequence).padStart(10, '0')}-${String(firstIndex).padStart(20, '0')}.log`;
}

export function parseSegmentFileName(name: string): SegmentName | undefined {
  const match = segmentNamePattern.exec(name);
  if (match === null) return undefined;
  const sequence = Number(match[1]);
  const firstIndex = Number(match[2]);
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 1) return undefined;
  return { name, sequence, firstIndex };
}
