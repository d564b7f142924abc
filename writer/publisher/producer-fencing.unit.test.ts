import { describe, expect, it } from 'vitest';
import { KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { isProducerFenced } from './producer-fencing.ts';

// kafkajs builds protocol errors from its error-code table entries (`{ type, code, retriable, message }`).
const protocolError = (type: string, code: number) => new KafkaJSProtocolError({ type, code, retriable: false, message: `${type} from the broker` } as unknown as Error);

describe('isProducerFenced', () => {
  it('recognises INVALID_PRODUCER_EPOCH directly and wrapped by the kafkajs retrier', () => {
    const epoch = protocolError('INVALID_PRODUCER_EPOCH', 47);
    expect(isProducerFenced(epoch)).toBe(true);
    // The retrier wraps a non-retriable protocol error and keeps it as `cause` (kafkajs' types omit the option).
    expect(isProducerFenced(Object.assign(new KafkaJSNonRetriableError(epoch), { cause: epoch }))).toBe(true);
  });

  it('recognises PRODUCER_FENCED, which kafkajs 2.2.4 reports as an unknown error code 90', () => {
    const unknown = new KafkaJSProtocolError({ type: 'KAFKAJS_UNKNOWN_ERROR_CODE', code: -99, retriable: false, message: 'Unknown error code 90' } as unknown as Error);
    expect(isProducerFenced(unknown)).toBe(true);
    expect(isProducerFenced(protocolError('PRODUCER_FENCED', 90))).toBe(true);
  });

  it('does not take other failures for fencing', () => {
    const concurrent = protocolError('CONCURRENT_TRANSACTIONS', 51);
    expect(isProducerFenced(concurrent)).toBe(false);
    expect(isProducerFenced(new KafkaJSNumberOfRetriesExceeded(concurrent, { retryCount: 5, retryTime: 100 }))).toBe(false);
    expect(isProducerFenced(new KafkaJSError('Connection timeout'))).toBe(false);
    expect(isProducerFenced(new KafkaJSProtocolError({ type: 'KAFKAJS_UNKNOWN_ERROR_CODE', code: -99, retriable: false, message: 'Unknown error code 91' } as unknown as Error))).toBe(false);
    expect(isProducerFenced('INVALID_PRODUCER_EPOCH')).toBe(false);
    expect(isProducerFenced(undefined)).toBe(false);
  });
});
