import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from './history-recorder.ts';

describe('HistoryRecorder', () => {
  it('records call and return times from its clock, and unknown outcomes as returning at infinity', () => {
    let now = 0;
    const recorder = new HistoryRecorder<string, number>(() => (now += 10));
    const first = recorder.invoke(1, 'a');
    const second = recorder.invoke(2, 'b');
    const third = recorder.invoke(3, 'c');
    recorder.complete(second, 42);
    recorder.unknown(first);
    expect(recorder.history()).toEqual([
      { clientId: 1, input: 'a', output: undefined, call: 10, return: Infinity },
      { clientId: 2, input: 'b', output: 42, call: 20, return: 40 },
      { clientId: 3, input: 'c', output: undefined, call: 30, return: Infinity },
    ]);
    recorder.complete(third, 7);
    expect(recorder.history()[2]).toEqual({ clientId: 3, input: 'c', output: 7, call: 30, return: 50 });
  });

  it('refuses to complete an operation twice', () => {
    const recorder = new HistoryRecorder<string, number>(() => 1);
    const operation = recorder.invoke(1, 'a');
    recorder.complete(operation, 1);
    expect(() => recorder.unknown(operation)).toThrow(/already completed/);
    expect(() => recorder.complete({ index: 5 }, 1)).toThrow(/not an operation of this recorder/);
  });
});
