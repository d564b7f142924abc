import { describe, expect, it } from 'vitest';
import { connectionErrorForLog } from './connect.ts';

describe('connectionErrorForLog', () => {
  it('keeps the kind, message and code of a connection error and drops the client node-postgres attaches', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      client: { _queryQueue: [{ text: 'SELECT secret_plan FROM everything' }], processID: 525 },
    });
    const logged = connectionErrorForLog(error);
    expect(logged).toEqual({ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' });
    expect(JSON.stringify(logged)).not.toContain('secret_plan');
  });

  it('leaves the code out when there is none', () => {
    expect(connectionErrorForLog(new TypeError('Connection terminated unexpectedly'))).toEqual({ type: 'TypeError', message: 'Connection terminated unexpectedly' });
  });
});
