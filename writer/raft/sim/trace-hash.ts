// FNV-1a (32-bit) over the simulator's event trace: two runs of one seed must produce the same hash.

const fnvOffsetBasis = 0x811c9dc5;
const fnvPrime = 0x01000193;

export class TraceHash {
  #hash = fnvOffsetBasis;

  addNumber(value: number): void {
    // Mix the integer's 32-bit halves byte by byte (values stay below 2^53).
    let low = value >>> 0;
    let high = Math.floor(value / 0x1_0000_0000) >>> 0;
    let hash = this.#hash;
    for (let i = 0; i < 4; i++) {
      hash = Math.imul(hash ^ (low & 0xff), fnvPrime) >>> 0;
      low >>>= 8;
    }
    for (let i = 0; i < 4; i++) {
      hash = Math.imul(hash ^ (high & 0xff), fnvPrime) >>> 0;
      high >>>= 8;
    }
    this.#hash = hash;
  }

  addString(value: string): void {
    let hash = this.#hash;
    for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ (value.charCodeAt(i) & 0xffff), fnvPrime) >>> 0;
    this.#hash = hash;
  }

  addBytes(value: Uint8Array): void {
    let hash = this.#hash;
    for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value[i]!, fnvPrime) >>> 0;
    this.#hash = hash;
  }

  digest(): string {
    return this.#hash.toString(16).padStart(8, '0');
  }
}

/** FNV-1a of bytes on their own (entry digests for the safety checks). */
export function fnv1a(value: Uint8Array): number {
  let hash = fnvOffsetBasis;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value[i]!, fnvPrime) >>> 0;
  return hash;
}
