/**
 * Pure: which consumed messages of one partition a batch applies. Decodes each message and checks
 * seq continuity against the checkpoint: `seq ≤ expected − 1` is a duplicate (skipped), `seq` =
 * expected is applied, anything else stops the partition — and so does a bad envelope. The
 * messages before the stop are still applied (their effect is correct); nothing after it is.
 */
import { decodeEnvelope, type ConsumedMessage, type EnvelopeDecodeResult, type EventEnvelope } from '../common/events/envelope.ts';
import type { PartitionStop } from './partition-stop.ts';

export interface PartitionMessage extends ConsumedMessage {
  /** Kafka offset (decimal string, as kafkajs gives it). */
  readonly offset: string;
  /**
   * decodeEnvelope(this), when the consumer decoded it on arrival — while the previous batch was
   * in Postgres — rather than inside the batch's transaction.
   */
  readonly decoded?: EnvelopeDecodeResult;
}

export interface PositionedEnvelope {
  readonly envelope: EventEnvelope;
  readonly offset: string;
}

export interface BatchSelection {
  /** Contiguous events checkpoint+1, checkpoint+2, … in seq order. */
  readonly toApply: readonly PositionedEnvelope[];
  /** Messages whose seq was already applied. */
  readonly duplicates: number;
  /** Offset of the last message examined before a stop (or of the last message). */
  readonly lastExaminedOffset: string | undefined;
  readonly stop: PartitionStop | undefined;
}

export function selectBatch(shard: number, checkpointSeq: number, messages: readonly PartitionMessage[]): BatchSelection {
  const toApply: PositionedEnvelope[] = [];
  let duplicates = 0;
  let expected = checkpointSeq + 1;
  let lastExaminedOffset: string | undefined;
  for (const message of messages) {
    const decoded = message.decoded ?? decodeEnvelope(message);
    if (!decoded.ok) {
      const error = decoded.error;
      return {
        toApply, duplicates, lastExaminedOffset,
        stop: { code: error.code, shard, seq: error.seq, offset: message.offset, reason: `${error.field} ${error.reason}` },
      };
    }
    const envelope = decoded.envelope;
    if (envelope.shard !== shard) {
      return {
        toApply, duplicates, lastExaminedOffset,
        stop: { code: 'shard_mismatch', shard, seq: envelope.seq, offset: message.offset, reason: `envelope names shard ${envelope.shard} but arrived on partition ${shard}` },
      };
    }
    if (envelope.seq < expected) {
      duplicates += 1;
    } else if (envelope.seq === expected) {
      toApply.push({ envelope, offset: message.offset });
      expected += 1;
    } else {
      return {
        toApply, duplicates, lastExaminedOffset,
        stop: { code: 'seq_gap', shard, seq: envelope.seq, offset: message.offset, reason: `expected seq ${expected}, got ${envelope.seq} (missing ${envelope.seq - expected} events)` },
      };
    }
    lastExaminedOffset = message.offset;
  }
  return { toApply, duplicates, lastExaminedOffset, stop: undefined };
}
