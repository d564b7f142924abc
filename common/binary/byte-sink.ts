// The growable output buffer our binary encodings share (Raft messages, ledger events, command
// records, snapshots): bytes, unsigned LEB128 varints, length-prefixed strings and byte arrays,
// little-endian u64. The readers stay with their formats (each reports errors in its own terms).

/** Growable output buffer, reused across encodes; `finish()` copies out the bytes written. */
export class ByteSink {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#length;
  }

  reset(): void {
    this.#length = 0;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a varint`);
    this.#reserve(8);
    const buffer = this.#buffer;
    let rest = value;
    while (rest >= 0x8000_0000) {
      buffer[this.#length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    while (rest >= 0x80) {
      buffer[this.#length++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buffer[this.#length++] = rest;
  }

  /** An id or other ASCII-only string, one byte per character. */
  ascii(value: string): void {
    const length = value.length;
    this.varint(length);
    this.#reserve(length);
    const buffer = this.#buffer;
    let at = this.#length;
    for (let index = 0; index < length; index++) {
      const code = value.charCodeAt(index);
      if (code >= 0x80) throw new RangeError(`not an ASCII string: ${JSON.stringify(value)}`);
      buffer[at++] = code;
    }
    this.#length = at;
  }

  /** Length-prefixed raw bytes. */
  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
  }

  utf8(value: string): void {
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.#reserve(bytes);
    this.#length += this.#buffer.write(value, this.#length, 'utf8');
  }

  u64(value: bigint): void {
    this.#reserve(8);
    this.#buffer.writeBigUInt64LE(value, this.#length);
    this.#length += 8;
  }

  /** A copy of the bytes written since `reset()`. */
  finish(): Uint8Array {
    return new Uint8Array(this.#buffer.subarray(0, this.#length));
  }
}
