import { describe, expect, it } from 'vitest';
import { formatPeerAddress, parsePeerAddress } from './peer-address.ts';

describe('parsePeerAddress', () => {
  it('reads host:port, IPv6 in brackets, and formats back', () => {
    expect(parsePeerAddress('127.0.0.1:7101')).toEqual({ ok: true, address: { host: '127.0.0.1', port: 7101 } });
    expect(parsePeerAddress('writer-2:7102')).toEqual({ ok: true, address: { host: 'writer-2', port: 7102 } });
    const v6 = parsePeerAddress('[::1]:7103');
    expect(v6).toEqual({ ok: true, address: { host: '::1', port: 7103 } });
    if (v6.ok) expect(formatPeerAddress(v6.address)).toBe('[::1]:7103');
  });

  it('says what is wrong with a bad address', () => {
    expect(parsePeerAddress('7101')).toEqual({ ok: false, reason: '"7101" is not host:port' });
    expect(parsePeerAddress('host:http')).toEqual({ ok: false, reason: '"host:http" has no numeric port' });
    expect(parsePeerAddress('host:70000')).toEqual({ ok: false, reason: '"host:70000" has a port outside 1–65535' });
    expect(parsePeerAddress('[]:7101')).toEqual({ ok: false, reason: '"[]:7101" has no usable host' });
  });
});
