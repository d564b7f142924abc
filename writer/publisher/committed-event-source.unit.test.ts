import { describe, expect, it } from 'vitest';
import { InMemoryCommittedEventSource } from './committed-event-source.ts';
import { accountCreatedInput } from './test/account-created-inputs.ts';

const accountCreated = (seq: number) => accountCreatedInput(seq, { shard: 0 });

describe('InMemoryCommittedEventSource', () => {
  it('reads from a seq, at most max, in seq order', () => {
    const source = new InMemoryCommittedEventSource([1, 2, 3, 4, 5].map(accountCreated));
    expect(source.lastSeq()).toBe(5);
    expect(source.read(2, 2).map((event) => event.seq)).toEqual([2, 3]);
    expect(source.read(4, 10).map((event) => event.seq)).toEqual([4, 5]);
    expect(source.read(6, 10)).toEqual([]);
  });

  it('refuses a gap or a repeat in seq', () => {
    const source = new InMemoryCommittedEventSource([accountCreated(1)]);
    expect(() => source.append([accountCreated(3)])).toThrow(/seq 3 does not follow 1/);
    expect(() => source.append([accountCreated(1)])).toThrow(/seq 1 does not follow 1/);
    source.append([accountCreated(2)]);
    expect(source.lastSeq()).toBe(2);
  });
});
