// Peer addresses as configured: 'host:port' (IPv6 hosts in brackets: '[::1]:7101').

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export type PeerAddressParseResult = { ok: true; address: PeerAddress } | { ok: false; reason: string };

export function parsePeerAddress(text: string): PeerAddressParseResult {
  const separator = text.lastIndexOf(':');
  if (separator <= 0) return { ok: false, reason: `"${text}" is not host:port` };
  let host = text.slice(0, separator);
  const portText = text.slice(separator + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.length === 0 || /\s/.test(host)) return { ok: false, reason: `"${text}" has no usable host` };
  if (!/^\d{1,5}$/.test(portText)) return { ok: false, reason: `"${text}" has no numeric port` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { ok: false, reason: `"${text}" has a port outside 1–65535` };
  return { ok: true, address: { host, port } };
}

export function formatPeerAddress(address: PeerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
