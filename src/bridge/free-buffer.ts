/**
 * Frees memory now instead of at the next collection. Garbage ArrayBuffers otherwise pile up
 * to V8's external memory limit (tens of MB) before a collection returns them, and that is
 * resident memory: a file read whole, a deflated or inflated entry, once written or answered.
 * Detaching (ES2024 `ArrayBuffer.prototype.transfer`) empties every view of the ArrayBuffer,
 * so only its owner may do it.
 */

/** Buffers up to this size may share Node's allocation pool: never freed by hand. */
export const POOLED_MAX_BYTES = 64 * 1024;

/** Frees an ArrayBuffer the caller owns alone (no other view of it is used again). */
export function freeArrayBuffer(memory: ArrayBufferLike): void {
  if (memory instanceof ArrayBuffer && !memory.detached && memory.byteLength > POOLED_MAX_BYTES) memory.transfer(0);
}

/** Frees `bytes` when it is the whole of its ArrayBuffer; a view of a larger one is left alone. */
export function freeBuffer(bytes: Buffer): void {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) freeArrayBuffer(bytes.buffer);
}
