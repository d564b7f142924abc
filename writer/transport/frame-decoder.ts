// Incremental frame decoder for a TCP byte stream: frames may arrive split across chunks or
// packed several to a chunk. Small frames wholly inside a chunk are returned as views of it
// (no copy); a frame that spans chunks is assembled into one buffer allocated at its exact size
// once its header is known, so a 64 MiB snapshot chunk arriving in 64 KiB reads costs one copy,
// not a quadratic series of concatenations.

import assert from 'node:assert/strict';
import { frameHeaderBytes, frameLengthBytes, frameTypeBytes } from './frame.ts';

export interface Frame {
  readonly type: number;
  readonly payload: Uint8Array;
}

export type FrameDecodeError =
  | { code: 'frame_too_large'; lengthBytes: number; frameBytesMax: number }
  | { code: 'empty_frame' };

export type FrameDecodeResult =
  | { ok: true; frames: Frame[] }
  | { ok: false; error: FrameDecodeError; frames: Frame[] };

export class FrameDecoder {
  #frameBytesMax: number;
  readonly #header = new Uint8Array(frameHeaderBytes);
  #headerFilled = 0;
  /** Payload being assembled across chunks, once the header is complete. */
  #payload: Uint8Array | undefined;
  #payloadFilled = 0;
  #payloadType = 0;
  #failed = false;

  /** `frameBytesMax` bounds the length field (type byte + payload). */
  constructor(frameBytesMax: number) {
    assert.ok(Number.isSafeInteger(frameBytesMax) && frameBytesMax >= frameTypeBytes, 'frameBytesMax must be a positive integer');
    this.#frameBytesMax = frameBytesMax;
  }

  /** Changes the bound for frames not yet started (e.g. small before the handshake, large after). */
  setFrameBytesMax(frameBytesMax: number): void {
    assert.ok(Number.isSafeInteger(frameBytesMax) && frameBytesMax >= frameTypeBytes, 'frameBytesMax must be a positive integer');
    this.#frameBytesMax = frameBytesMax;
  }

  /** Bytes of an unfinished frame received so far (header included). */
  get bufferedBytes(): number {
    return this.#payload === undefined ? this.#headerFilled : frameHeaderBytes + this.#payloadFilled;
  }

  /**
   * Feeds one chunk; returns every frame it completes, in order. After an error the stream is
   * unusable (the framing is lost) and the caller must close the connection.
   */
  push(chunk: Uint8Array): FrameDecodeResult {
    assert.ok(!this.#failed, 'push after a decode error');
    const frames: Frame[] = [];
    let position = 0;
    while (position < chunk.length) {
      if (this.#payload !== undefined) {
        const take = Math.min(this.#payload.length - this.#payloadFilled, chunk.length - position);
        this.#payload.set(chunk.subarray(position, position + take), this.#payloadFilled);
        this.#payloadFilled += take;
        position += take;
        if (this.#payloadFilled === this.#payload.length) {
          frames.push({ type: this.#payloadType, payload: this.#payload });
          this.#payload = undefined;
          this.#payloadFilled = 0;
        }
        continue;
      }
      if (this.#headerFilled === 0 && chunk.length - position >= frameHeaderBytes) {
        // Fast path: the whole header is in this chunk.
        const length = readLength(chunk, position);
        const error = this.#check(length);
        if (error !== undefined) return this.#fail(error, frames);
        const type = chunk[position + frameLengthBytes];
        assert.ok(type !== undefined);
        const payloadBytes = length - frameTypeBytes;
        const payloadStart = position + frameHeaderBytes;
        if (chunk.length - payloadStart >= payloadBytes) {
          frames.push({ type, payload: chunk.subarray(payloadStart, payloadStart + payloadBytes) });
          position = payloadStart + payloadBytes;
        } else {
          this.#startPayload(type, payloadBytes);
          position = payloadStart;
        }
        continue;
      }
      const take = Math.min(frameHeaderBytes - this.#headerFilled, chunk.length - position);
      this.#header.set(chunk.subarray(position, position + take), this.#headerFilled);
      this.#headerFilled += take;
      position += take;
      if (this.#headerFilled < frameHeaderBytes) continue;
      this.#headerFilled = 0;
      const length = readLength(this.#header, 0);
      const error = this.#check(length);
      if (error !== undefined) return this.#fail(error, frames);
      const type = this.#header[frameLengthBytes];
      assert.ok(type !== undefined);
      const payloadBytes = length - frameTypeBytes;
      if (payloadBytes === 0) frames.push({ type, payload: new Uint8Array(0) });
      else this.#startPayload(type, payloadBytes);
    }
    return { ok: true, frames };
  }

  #startPayload(type: number, payloadBytes: number): void {
    assert.ok(payloadBytes > 0, 'an empty payload is emitted at once, never assembled');
    this.#payloadType = type;
    this.#payload = new Uint8Array(payloadBytes);
    this.#payloadFilled = 0;
  }

  #check(length: number): FrameDecodeError | undefined {
    if (length === 0) return { code: 'empty_frame' };
    if (length > this.#frameBytesMax) return { code: 'frame_too_large', lengthBytes: length, frameBytesMax: this.#frameBytesMax };
    return undefined;
  }

  #fail(error: FrameDecodeError, frames: Frame[]): FrameDecodeResult {
    this.#failed = true;
    this.#payload = undefined;
    return { ok: false, error, frames };
  }
}

function readLength(bytes: Uint8Array, offset: number): number {
  const b0 = bytes[offset];
  const b1 = bytes[offset + 1];
  const b2 = bytes[offset + 2];
  const b3 = bytes[offset + 3];
  assert.ok(b0 !== undefined && b1 !== undefined && b2 !== undefined && b3 !== undefined);
  return b0 * 0x100_0000 + ((b1 << 16) | (b2 << 8) | b3);
}
