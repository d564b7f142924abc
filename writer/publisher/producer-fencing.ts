/**
 * Recognising "another producer took over this transactional.id" in a kafkajs error.
 *
 * kafkajs 2.2.4 wraps broker errors (KafkaJSNonRetriableError / KafkaJSNumberOfRetriesExceeded
 * with `cause`), so the protocol error may sit a few causes deep. The broker answers a fenced
 * producer with INVALID_PRODUCER_EPOCH (47) on the protocol versions kafkajs speaks, or with
 * PRODUCER_FENCED (90) on newer ones; kafkajs does not know code 90 and reports it as
 * `KAFKAJS_UNKNOWN_ERROR_CODE` with the message "Unknown error code 90".
 */

/** How many `cause` links we follow before giving up (errors are not expected to nest deeper). */
export const errorCauseDepthMax = 8;

const fencedErrorTypes: ReadonlySet<string> = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
const producerFencedErrorCode = 90;

export function isProducerFenced(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < errorCauseDepthMax && typeof current === 'object' && current !== null; depth += 1) {
    const fields = current as { type?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    if (typeof fields.type === 'string' && fencedErrorTypes.has(fields.type)) return true;
    if (fields.code === producerFencedErrorCode) return true;
    if (typeof fields.message === 'string' && fields.message === `Unknown error code ${producerFencedErrorCode}`) return true;
    if (fields.cause === current) return false;
    current = fields.cause;
  }
  return false;
}
