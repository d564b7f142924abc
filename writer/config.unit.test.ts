import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/config.ts';
import { loadWriterConfig } from './config.ts';

describe('writer config', () => {
  it('loads the defaults of a three-node local cluster', () => {
    const config = loadWriterConfig({ WRITER_NODE_ID: '2' });
    expect(config.nodeId).toBe('2');
    expect(config.peers).toEqual({ 1: '127.0.0.1:7101', 2: '127.0.0.1:7102', 3: '127.0.0.1:7103' });
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(config.electionTimeoutMs).toBe(1_000);
    expect(config.snapshotEveryBytes).toBe(256 * 1024 * 1024);
    expect(loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_SNAPSHOT_EVERY_BYTES: '1048576' }).snapshotEveryBytes).toBe(1_048_576);
    expect(() => loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_SNAPSHOT_EVERY_BYTES: '1000' })).toThrow(/WRITER_SNAPSHOT_EVERY_BYTES="1000"/);
  });

  it('takes an election timeout from 100 ms to 60 s and names the variable otherwise', () => {
    expect(loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_ELECTION_TIMEOUT_MS: '300' }).electionTimeoutMs).toBe(300);
    for (const bad of ['99', '60001', '1.5', 'soon']) {
      expect(() => loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_ELECTION_TIMEOUT_MS: bad })).toThrow(new RegExp(`WRITER_ELECTION_TIMEOUT_MS="${bad.replace('.', '\\.')}"`));
    }
  });

  it('rejects a node id that is not one of the peers, and client urls that name other ids', () => {
    try {
      loadWriterConfig({ WRITER_NODE_ID: '9', WRITER_CLIENT_URLS: '1=http://a:1' });
      expect.unreachable('config should have been rejected');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        'WRITER_NODE_ID=9 is not one of WRITER_PEERS (1, 2, 3)',
        'WRITER_CLIENT_URLS must name the same ids as WRITER_PEERS (1,2,3)',
      ]);
    }
  });

  it('publishes by default; WRITER_PUBLISHER=off turns it off; the failpoint is parsed and needs the publisher', () => {
    expect(loadWriterConfig({ WRITER_NODE_ID: '1' })).toMatchObject({ publisher: 'on', kafkaTopic: 'ledger.events.v1', failpoint: undefined, snapshotEveryEntries: 20_000 });
    expect(loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_PUBLISHER: 'off' }).publisher).toBe('off');
    expect(loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_FAILPOINT: 'publisher-after-commit:3' }).failpoint).toEqual({ killAfterCommittedTransactions: 3 });
    expect(() => loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_FAILPOINT: 'publisher-after-commit:0' })).toThrow(/WRITER_FAILPOINT="publisher-after-commit:0": failpoint .* is not publisher-after-commit:<n>/);
    expect(() => loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_PUBLISHER: 'maybe' })).toThrow(/WRITER_PUBLISHER="maybe"/);
    expect(() => loadWriterConfig({ WRITER_NODE_ID: '1', WRITER_PUBLISHER: 'off', WRITER_FAILPOINT: 'publisher-after-commit:1' })).toThrow(/WRITER_FAILPOINT needs WRITER_PUBLISHER=on/);
  });
});
