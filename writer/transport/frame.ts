// Frames on a peer connection: `[u32 length][u8 frame type][payload]`, big-endian length that
// counts the type byte and the payload (so a valid length is at least 1). A connection starts
// with one `handshake` frame each way (handshake.ts); the dialer then sends `message` frames,
// each carrying one Raft message encoded by writer/raft/message-codec.ts.

import assert from 'node:assert/strict';

export const frameTypes = {
  handshake: 1,
  handshakeRejected: 2,
  message: 3,
} as const;

export type FrameType = (typeof frameTypes)[keyof typeof frameTypes];

export const frameLengthBytes = 4;
export const frameTypeBytes = 1;
export const frameHeaderBytes = frameLengthBytes + frameTypeBytes;
/** The u32 length field's own ceiling; `frameBytesMax` limits are checked against it. */
export const frameLengthLimit = 0xffff_ffff;

/** Bytes a frame occupies on the wire for a payload of `payloadBytes`. */
export function frameBytes(payloadBytes: number): number {
  return frameHeaderBytes + payloadBytes;
}

/** Writes one frame's header and payload into `target` at `offset`; returns the offset after it. */
export function writeFrame(target: Uint8Array, offset: number, type: number, payload: Uint8Array): number {
  const length = frameTypeBytes + payload.length;
  assert.ok(length <= frameLengthLimit, 'frame length overflows the u32 length field');
  assert.ok(offset + frameHeaderBytes + payload.length <= target.length, 'frame does not fit the target buffer');
  target[offset] = (length >>> 24) & 0xff;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  target[offset + frameLengthBytes] = type;
  target.set(payload, offset + frameHeaderBytes);
  return offset + frameHeaderBytes + payload.length;
}

/** One frame as a fresh buffer (handshakes, tests); batched writes use writeFrame into one buffer. */
export function encodeFrame(type: number, payload: Uint8Array): Buffer {
  const buffer = Buffer.allocUnsafe(frameBytes(payload.length));
  writeFrame(buffer, 0, type, payload);
  return buffer;
}
