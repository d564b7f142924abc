/**
 * Why a partition stopped (DESIGN.md §6): a gap in seq, a bad envelope or event, or an event the
 * read model cannot apply. Never skipped: the partition is paused, health and metrics show it,
 * other partitions keep going. `code` values are stable snake_case strings.
 */
export type PartitionStopCode =
  | 'seq_gap'
  | 'invalid_envelope'
  | 'invalid_event'
  | 'unsupported_envelope_version'
  | 'shard_mismatch'
  | 'inconsistent_event';

export interface PartitionStop {
  readonly code: PartitionStopCode;
  readonly shard: number;
  /** Seq of the offending event when it could be read. */
  readonly seq: number | undefined;
  /** Kafka offset of the offending message. */
  readonly offset: string;
  readonly reason: string;
}

export function describeStop(stop: PartitionStop): string {
  return `partition stopped: shard ${stop.shard}, seq ${stop.seq ?? 'unknown'}, offset ${stop.offset}: ${stop.code}: ${stop.reason}`;
}
