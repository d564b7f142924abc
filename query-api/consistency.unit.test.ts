import { describe, expect, it } from 'vitest';
import { consistencyLabel, formatConsistencyToken, parseConsistencyToken, parseReadRequirement, waitTimeoutMsDefault, waitTimeoutMsMax, type ConsistencyInput } from './consistency.ts';

const none: ConsistencyInput = { consistency: undefined, minSeq: undefined, timeoutMs: undefined, token: undefined };

describe('read requirement', () => {
  it('defaults to an eventual read with the default bound', () => {
    const parsed = parseReadRequirement(none);
    expect(parsed).toEqual({ ok: true, requirement: { level: 'eventual', floors: [], timeoutMs: waitTimeoutMsDefault } });
    expect(parsed.ok && consistencyLabel(parsed.requirement)).toBe('eventual');
  });

  it('reads strong, minSeq (owning shard), token (its shard) and timeoutMs together', () => {
    const parsed = parseReadRequirement({ consistency: 'strong', minSeq: '42', timeoutMs: '250', token: '3:17' });
    expect(parsed).toEqual({ ok: true, requirement: { level: 'strong', floors: [{ shard: undefined, seq: 42 }, { shard: 3, seq: 17 }], timeoutMs: 250 } });
    expect(parsed.ok && consistencyLabel(parsed.requirement)).toBe('strong');
    const ryw = parseReadRequirement({ ...none, token: '0:0' });
    expect(ryw.ok && consistencyLabel(ryw.requirement)).toBe('read_your_writes');
  });

  it('accepts the bounds of every parameter', () => {
    expect(parseReadRequirement({ ...none, timeoutMs: '1' })).toMatchObject({ ok: true, requirement: { timeoutMs: 1 } });
    expect(parseReadRequirement({ ...none, timeoutMs: String(waitTimeoutMsMax) })).toMatchObject({ ok: true, requirement: { timeoutMs: waitTimeoutMsMax } });
    expect(parseReadRequirement({ ...none, minSeq: String(Number.MAX_SAFE_INTEGER) })).toMatchObject({ ok: true, requirement: { floors: [{ seq: Number.MAX_SAFE_INTEGER }] } });
    expect(parseReadRequirement({ ...none, token: `63:${Number.MAX_SAFE_INTEGER}` })).toMatchObject({ ok: true, requirement: { floors: [{ shard: 63 }] } });
  });

  it('refuses bad values naming the parameter', () => {
    const cases: [Partial<ConsistencyInput>, string][] = [
      [{ consistency: 'linearizable' }, 'querystring.consistency'],
      [{ consistency: '' }, 'querystring.consistency'],
      [{ minSeq: '-1' }, 'querystring.minSeq'],
      [{ minSeq: '007' }, 'querystring.minSeq'],
      [{ minSeq: '1.5' }, 'querystring.minSeq'],
      [{ minSeq: String(Number.MAX_SAFE_INTEGER + 1) }, 'querystring.minSeq'],
      [{ timeoutMs: '0' }, 'querystring.timeoutMs'],
      [{ timeoutMs: String(waitTimeoutMsMax + 1) }, 'querystring.timeoutMs'],
      [{ timeoutMs: 'soon' }, 'querystring.timeoutMs'],
      [{ token: '42' }, 'headers.x-consistency-token'],
      [{ token: '64:1' }, 'headers.x-consistency-token'],
      [{ token: '0:-1' }, 'headers.x-consistency-token'],
      [{ token: ' 0:1' }, 'headers.x-consistency-token'],
      [{ token: ['0:1', '0:2'] }, 'headers.x-consistency-token'],
    ];
    for (const [input, field] of cases) {
      const parsed = parseReadRequirement({ ...none, ...input });
      expect({ input, parsed }).toMatchObject({ input, parsed: { ok: false, field } });
      expect(!parsed.ok && parsed.message.startsWith(field)).toBe(true);
    }
  });

  it('round-trips the token format the API emits', () => {
    for (const position of [{ shard: 0, seq: 0 }, { shard: 5, seq: 123_456 }, { shard: 63, seq: Number.MAX_SAFE_INTEGER }]) {
      expect(parseConsistencyToken(formatConsistencyToken(position))).toEqual(position);
    }
    expect(parseConsistencyToken('00:1')).toBeUndefined();
    expect(parseConsistencyToken('1:01')).toBeUndefined();
  });
});
