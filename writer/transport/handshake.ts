// The first frame each way on a peer connection. The dialer sends its handshake; the acceptor
// checks it and answers with its own (or with a `handshake_rejected` frame naming the problem,
// then closes); the dialer checks the answer names the node it meant to reach. Layout:
// `[4 bytes magic "LRFT"][u16 protocol version][u16 length][cluster id][u16 length][node id]`.

export const handshakeMagic: Uint8Array = new Uint8Array([0x4c, 0x52, 0x46, 0x54]);
export const protocolVersion = 1;
/** Ids are short (writer/config.ts: 1–32 chars); this bounds what a stranger can make us read. */
export const handshakeIdBytesMax = 256;
/** The frame bound before a connection's handshake completes. */
export const handshakeFrameBytesMax = 1024;
/** At most 4 UTF-8 bytes a char: a rejection reason always fits a pre-handshake frame. */
const rejectionReasonCharsMax = 200;

export interface Handshake {
  readonly protocolVersion: number;
  readonly clusterId: string;
  readonly nodeId: string;
}

export type HandshakeError =
  | { code: 'bad_magic' }
  | { code: 'unsupported_protocol_version'; version: number }
  | { code: 'malformed_handshake'; reason: string }
  | { code: 'cluster_id_mismatch'; expected: string; actual: string }
  | { code: 'unexpected_node_id'; expected: string; actual: string }
  | { code: 'self_connection'; nodeId: string };

export type HandshakeDecodeResult = { ok: true; handshake: Handshake } | { ok: false; error: HandshakeError };

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function encodeHandshake(handshake: Handshake): Uint8Array {
  const clusterId = textEncoder.encode(handshake.clusterId);
  const nodeId = textEncoder.encode(handshake.nodeId);
  if (clusterId.length > handshakeIdBytesMax || nodeId.length > handshakeIdBytesMax) {
    throw new RangeError(`handshake ids must be at most ${handshakeIdBytesMax} bytes`);
  }
  const bytes = new Uint8Array(handshakeMagic.length + 2 + 2 + clusterId.length + 2 + nodeId.length);
  const view = new DataView(bytes.buffer);
  bytes.set(handshakeMagic, 0);
  let offset = handshakeMagic.length;
  view.setUint16(offset, handshake.protocolVersion);
  offset += 2;
  view.setUint16(offset, clusterId.length);
  bytes.set(clusterId, offset + 2);
  offset += 2 + clusterId.length;
  view.setUint16(offset, nodeId.length);
  bytes.set(nodeId, offset + 2);
  return bytes;
}

export function decodeHandshake(bytes: Uint8Array): HandshakeDecodeResult {
  if (bytes.length < handshakeMagic.length) return { ok: false, error: { code: 'bad_magic' } };
  for (let i = 0; i < handshakeMagic.length; i++) {
    if (bytes[i] !== handshakeMagic[i]) return { ok: false, error: { code: 'bad_magic' } };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = handshakeMagic.length;
  if (offset + 2 > bytes.length) return malformed('missing protocol version');
  const version = view.getUint16(offset);
  offset += 2;
  // The version is checked before the rest: a future version may lay the rest out differently.
  if (version !== protocolVersion) return { ok: false, error: { code: 'unsupported_protocol_version', version } };
  const clusterId = readString(bytes, view, offset);
  if (!clusterId.ok) return malformed(`cluster id: ${clusterId.reason}`);
  const nodeId = readString(bytes, view, clusterId.next);
  if (!nodeId.ok) return malformed(`node id: ${nodeId.reason}`);
  if (nodeId.next !== bytes.length) return malformed('trailing bytes');
  return { ok: true, handshake: { protocolVersion: version, clusterId: clusterId.value, nodeId: nodeId.value } };
}

/** The acceptor's check of a dialer's handshake. */
export function checkInboundHandshake(handshake: Handshake, local: { clusterId: string; nodeId: string }): HandshakeError | undefined {
  if (handshake.clusterId !== local.clusterId) return { code: 'cluster_id_mismatch', expected: local.clusterId, actual: handshake.clusterId };
  if (handshake.nodeId === local.nodeId) return { code: 'self_connection', nodeId: handshake.nodeId };
  return undefined;
}

/** The dialer's check of the acceptor's answer: same cluster, and the node it meant to reach. */
export function checkOutboundHandshake(handshake: Handshake, expected: { clusterId: string; peerId: string }): HandshakeError | undefined {
  if (handshake.clusterId !== expected.clusterId) return { code: 'cluster_id_mismatch', expected: expected.clusterId, actual: handshake.clusterId };
  if (handshake.nodeId !== expected.peerId) return { code: 'unexpected_node_id', expected: expected.peerId, actual: handshake.nodeId };
  return undefined;
}

/** One line for logs and for the `handshake_rejected` frame. */
export function describeHandshakeError(error: HandshakeError): string {
  switch (error.code) {
    case 'bad_magic':
      return 'bad_magic: the peer does not speak this protocol';
    case 'unsupported_protocol_version':
      return `unsupported_protocol_version: peer speaks version ${error.version}, this node speaks ${protocolVersion}`;
    case 'malformed_handshake':
      return `malformed_handshake: ${error.reason}`;
    case 'cluster_id_mismatch':
      return `cluster_id_mismatch: expected cluster "${error.expected}", peer is in "${error.actual}"`;
    case 'unexpected_node_id':
      return `unexpected_node_id: expected node "${error.expected}", reached "${error.actual}"`;
    case 'self_connection':
      return `self_connection: node "${error.nodeId}" dialed itself`;
    default: {
      const _exhaustive: never = error;
      return _exhaustive;
    }
  }
}

/** The reason text carried by a `handshake_rejected` frame (UTF-8, bounded). */
export function encodeRejection(reason: string): Uint8Array {
  return textEncoder.encode(reason.slice(0, rejectionReasonCharsMax));
}

export function decodeRejection(bytes: Uint8Array): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    return '(rejection reason is not UTF-8)';
  }
}

function malformed(reason: string): HandshakeDecodeResult {
  return { ok: false, error: { code: 'malformed_handshake', reason } };
}

type StringRead = { ok: true; value: string; next: number } | { ok: false; reason: string };

function readString(bytes: Uint8Array, view: DataView, offset: number): StringRead {
  if (offset + 2 > bytes.length) return { ok: false, reason: 'missing length' };
  const length = view.getUint16(offset);
  if (length === 0) return { ok: false, reason: 'empty' };
  if (length > handshakeIdBytesMax) return { ok: false, reason: 'too long' };
  const start = offset + 2;
  if (start + length > bytes.length) return { ok: false, reason: 'runs past the end' };
  try {
    return { ok: true, value: textDecoder.decode(bytes.subarray(start, start + length)), next: start + length };
  } catch {
    return { ok: false, reason: 'not UTF-8' };
  }
}
