import { describe, expect, it } from 'vitest';
import { connectionErrorForLog, isConnectionLoss } from './connect.ts';

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

describe('isConnectionLoss', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

  it('recognises a refused, reset or timed-out connection, the server going away, and node-postgres\'s own connection errors', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated due to connection timeout', { cause: withCode('connect ETIMEDOUT', 'ETIMEDOUT') }),
      new Error('wrapped', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }),
    ]) expect(isConnectionLoss(error), error.message).toBe(true);
  });

  it('does not take errors in what was asked for a lost connection', () => {
    for (const error of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('relation "ledger.accounts" does not exist', '42P01'),
      withCode('could not serialize access', '40001'),
      new Error('projection inconsistent'),
      'ECONNREFUSED',
      undefined,
    ]) expect(isConnectionLoss(error)).toBe(false);
  });
});
