/**
 * What a read asks for (DESIGN.md §7), parsed from `?consistency=`, `?minSeq=`, `?timeoutMs=` and
 * the `X-Consistency-Token` header. Pure: no I/O, no clock.
 *
 * - `consistency=eventual` (default): read Postgres now.
 * - `consistency=strong`: a writer barrier, then wait until the projection reaches its seq.
 * - read-your-writes: `minSeq=<seq>` (on the shard that owns the resource) and/or the header
 *   `X-Consistency-Token: <shard>:<seq>` (the format every answer carries) — wait until the
 *   projection of that shard reaches the seq. They combine with `strong` (the barrier already
 *   covers every acknowledged write, so a token sent along is redundant, not contradictory: a
 *   client that always sends its last token may still ask for a strong read).
 * - `timeoutMs` bounds the whole wait (barrier included): 1..`waitTimeoutMsMax`.
 */

/** Default bound of a consistent read's wait when `timeoutMs` is not given. */
export const waitTimeoutMsDefault = 5_000;
/** Largest `timeoutMs` a request may ask for. */
export const waitTimeoutMsMax = 30_000;
/** Largest seq a token or minSeq may carry (seqs are JSON numbers in the API). */
export const consistencySeqMax = Number.MAX_SAFE_INTEGER;
/** Largest shard number (LEDGER_SHARDS is at most 64). */
export const shardMax = 63;

export type ConsistencyLevel = 'eventual' | 'strong';

/** A lower bound on what a read must reflect. `shard: undefined` = the shard owning the resource. */
export interface SeqFloor {
  readonly shard: number | undefined;
  readonly seq: number;
}

export interface ReadRequirement {
  readonly level: ConsistencyLevel;
  readonly floors: readonly SeqFloor[];
  readonly timeoutMs: number;
}

export type RequirementParse =
  | { readonly ok: true; readonly requirement: ReadRequirement }
  | { readonly ok: false; readonly field: string; readonly message: string };

export interface ConsistencyInput {
  readonly consistency: string | undefined;
  readonly minSeq: string | undefined;
  readonly timeoutMs: string | undefined;
  readonly token: string | string[] | undefined;
}

export const consistencyTokenHeader = 'x-consistency-token';

const seqPattern = /^(0|[1-9][0-9]{0,15})$/;
const tokenPattern = /^(0|[1-9][0-9]?):(0|[1-9][0-9]{0,15})$/;

export function formatConsistencyToken(position: { readonly shard: number; readonly seq: number }): string {
  return `${position.shard}:${position.seq}`;
}

export function parseConsistencyToken(token: string): { shard: number; seq: number } | undefined {
  const match = tokenPattern.exec(token);
  if (match === null) return undefined;
  const shard = Number(match[1]);
  const seq = Number(match[2]);
  if (shard > shardMax || seq > consistencySeqMax) return undefined;
  return { shard, seq };
}

function refuse(field: string, message: string): RequirementParse {
  return { ok: false, field, message: `${field} ${message}` };
}

export function parseReadRequirement(input: ConsistencyInput): RequirementParse {
  let level: ConsistencyLevel = 'eventual';
  if (input.consistency !== undefined) {
    if (input.consistency !== 'eventual' && input.consistency !== 'strong') return refuse('querystring.consistency', 'must be eventual or strong');
    level = input.consistency;
  }
  const floors: SeqFloor[] = [];
  if (input.minSeq !== undefined) {
    if (!seqPattern.test(input.minSeq) || Number(input.minSeq) > consistencySeqMax) {
      return refuse('querystring.minSeq', `must be an integer from 0 to ${consistencySeqMax}`);
    }
    floors.push({ shard: undefined, seq: Number(input.minSeq) });
  }
  if (input.token !== undefined) {
    const field = `headers.${consistencyTokenHeader}`;
    if (Array.isArray(input.token)) return refuse(field, 'must be given once');
    const position = parseConsistencyToken(input.token);
    if (position === undefined) return refuse(field, `must be <shard>:<seq> as the API returns it (shard 0..${shardMax})`);
    floors.push(position);
  }
  let timeoutMs = waitTimeoutMsDefault;
  if (input.timeoutMs !== undefined) {
    const value = /^[0-9]{1,9}$/.test(input.timeoutMs) ? Number(input.timeoutMs) : Number.NaN;
    if (!(value >= 1 && value <= waitTimeoutMsMax)) return refuse('querystring.timeoutMs', `must be an integer from 1 to ${waitTimeoutMsMax}`);
    timeoutMs = value;
  }
  return { ok: true, requirement: { level, floors, timeoutMs } };
}

/** The label used in metrics and logs: eventual, strong or read_your_writes. */
export function consistencyLabel(requirement: ReadRequirement): 'eventual' | 'strong' | 'read_your_writes' {
  if (requirement.level === 'strong') return 'strong';
  return requirement.floors.length > 0 ? 'read_your_writes' : 'eventual';
}
