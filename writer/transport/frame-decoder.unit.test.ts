import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, type Frame } from './frame-decoder.ts';
import { encodeFrame, frameHeaderBytes } from './frame.ts';

const frameBytesMax = 4096;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** Cuts `bytes` at the given (sorted, deduplicated) positions. */
function chunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const positions = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((left, right) => left - right);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const position of positions) {
    if (position > start) chunks.push(bytes.subarray(start, position));
    start = Math.max(start, position);
  }
  if (start < bytes.length) chunks.push(bytes.subarray(start));
  return chunks;
}

/** Frames as plain values; payload views are copied since the decoder may return views of chunks. */
function plain(frames: readonly Frame[]): { type: number; payload: number[] }[] {
  return frames.map((frame) => ({ type: frame.type, payload: [...frame.payload] }));
}

describe('FrameDecoder', () => {
  it('returns every frame, in order, however the byte stream is chunked', () => {
    const frameArbitrary = fc.record({
      type: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ minLength: 0, maxLength: 600 }),
    });
    fc.assert(
      fc.property(fc.array(frameArbitrary, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = concat(frames.map((frame) => encodeFrame(frame.type, frame.payload)));
        const decoder = new FrameDecoder(frameBytesMax);
        const decoded: Frame[] = [];
        for (const part of chunk(stream, cuts)) {
          const result = decoder.push(part);
          expect(result.ok).toBe(true);
          decoded.push(...result.frames);
        }
        expect(plain(decoded)).toEqual(plain(frames));
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('holds a partial frame until its last byte arrives', () => {
    const bytes = encodeFrame(7, new Uint8Array([1, 2, 3]));
    const decoder = new FrameDecoder(frameBytesMax);
    for (let i = 0; i < bytes.length - 1; i++) {
      const result = decoder.push(bytes.subarray(i, i + 1));
      expect(result).toEqual({ ok: true, frames: [] });
      expect(decoder.bufferedBytes).toBe(i + 1);
    }
    expect(plain(decoder.push(bytes.subarray(bytes.length - 1)).frames)).toEqual([{ type: 7, payload: [1, 2, 3] }]);
  });

  it('assembles a large frame that spans many chunks', () => {
    const payload = new Uint8Array(1_000_000).map((_, index) => index % 251);
    const bytes = encodeFrame(3, payload);
    const decoder = new FrameDecoder(2_000_000);
    const frames: Frame[] = [];
    for (let offset = 0; offset < bytes.length; offset += 65_536) frames.push(...decoder.push(bytes.subarray(offset, offset + 65_536)).frames);
    expect(frames.length).toBe(1);
    expect(frames[0]?.type).toBe(3);
    expect(Buffer.from(frames[0]?.payload ?? []).equals(Buffer.from(payload))).toBe(true);
  });

  it('accepts a frame of exactly frameBytesMax and refuses one byte more, after the frames before it', () => {
    const atLimit = encodeFrame(1, new Uint8Array(frameBytesMax - 1));
    expect(new FrameDecoder(frameBytesMax).push(atLimit).frames.length).toBe(1);
    const good = encodeFrame(2, new Uint8Array([9]));
    const overLimit = encodeFrame(1, new Uint8Array(frameBytesMax));
    const result = new FrameDecoder(frameBytesMax).push(concat([good, overLimit.subarray(0, frameHeaderBytes)]));
    expect(result.ok).toBe(false);
    expect(plain(result.frames)).toEqual([{ type: 2, payload: [9] }]);
    if (!result.ok) expect(result.error).toEqual({ code: 'frame_too_large', lengthBytes: frameBytesMax + 1, frameBytesMax });
  });

  it('refuses a header split across chunks that announces too much', () => {
    const decoder = new FrameDecoder(frameBytesMax);
    expect(decoder.push(new Uint8Array([0x00, 0x01])).ok).toBe(true);
    const result = decoder.push(new Uint8Array([0x00, 0x00, 0x05]));
    expect(result.ok ? undefined : result.error.code).toBe('frame_too_large');
  });

  it('refuses a zero length (no room for the type byte)', () => {
    const result = new FrameDecoder(frameBytesMax).push(new Uint8Array([0, 0, 0, 0, 1]));
    expect(result.ok ? undefined : result.error).toEqual({ code: 'empty_frame' });
  });

  it('applies a raised bound to the frames that follow', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(encodeFrame(1, new Uint8Array(15))).frames.length).toBe(1);
    decoder.setFrameBytesMax(1024);
    expect(decoder.push(encodeFrame(1, new Uint8Array(500))).frames[0]?.payload.length).toBe(500);
  });
});
