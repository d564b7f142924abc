import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkInboundHandshake, checkOutboundHandshake, decodeHandshake, decodeRejection, describeHandshakeError,
  encodeHandshake, encodeRejection, handshakeFrameBytesMax, protocolVersion,
} from './handshake.ts';

describe('handshake codec', () => {
  it('round-trips any cluster and node id', () => {
    const id = fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' });
    fc.assert(
      fc.property(id, id, (clusterId, nodeId) => {
        const bytes = encodeHandshake({ protocolVersion, clusterId, nodeId });
        expect(decodeHandshake(bytes)).toEqual({ ok: true, handshake: { protocolVersion, clusterId, nodeId } });
      }),
    );
  });

  it('names what is wrong with a bad handshake', () => {
    const good = encodeHandshake({ protocolVersion, clusterId: 'c', nodeId: 'n1' });
    const notMagic = good.slice();
    notMagic[0] = 0x48; // an HTTP client's 'H'
    expect(decodeHandshake(notMagic)).toEqual({ ok: false, error: { code: 'bad_magic' } });
    const future = good.slice();
    future[5] = protocolVersion + 1;
    expect(decodeHandshake(future)).toEqual({ ok: false, error: { code: 'unsupported_protocol_version', version: protocolVersion + 1 } });
    expect(decodeHandshake(good.subarray(0, good.length - 1))).toEqual({ ok: false, error: { code: 'malformed_handshake', reason: 'node id: runs past the end' } });
    const trailing = new Uint8Array([...good, 0]);
    expect(decodeHandshake(trailing)).toEqual({ ok: false, error: { code: 'malformed_handshake', reason: 'trailing bytes' } });
  });

  it('lets the acceptor refuse another cluster and itself', () => {
    const local = { clusterId: 'prod', nodeId: '1' };
    expect(checkInboundHandshake({ protocolVersion, clusterId: 'prod', nodeId: '2' }, local)).toBeUndefined();
    expect(checkInboundHandshake({ protocolVersion, clusterId: 'staging', nodeId: '2' }, local))
      .toEqual({ code: 'cluster_id_mismatch', expected: 'prod', actual: 'staging' });
    expect(checkInboundHandshake({ protocolVersion, clusterId: 'prod', nodeId: '1' }, local)).toEqual({ code: 'self_connection', nodeId: '1' });
  });

  it('lets the dialer notice it reached the wrong node', () => {
    const expected = { clusterId: 'prod', peerId: '2' };
    expect(checkOutboundHandshake({ protocolVersion, clusterId: 'prod', nodeId: '2' }, expected)).toBeUndefined();
    const error = checkOutboundHandshake({ protocolVersion, clusterId: 'prod', nodeId: '3' }, expected);
    expect(error).toEqual({ code: 'unexpected_node_id', expected: '2', actual: '3' });
    expect(error === undefined ? '' : describeHandshakeError(error)).toBe('unexpected_node_id: expected node "2", reached "3"');
  });

  it('bounds a rejection reason to fit a pre-handshake frame', () => {
    const reason = encodeRejection('€'.repeat(5_000));
    expect(reason.length + 1).toBeLessThanOrEqual(handshakeFrameBytesMax);
    expect(decodeRejection(encodeRejection('cluster_id_mismatch: x'))).toBe('cluster_id_mismatch: x');
  });
});
