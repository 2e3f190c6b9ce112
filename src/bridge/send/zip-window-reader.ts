/**
 * Reads an Outbox ZIP for yauzl and for whole small entries through a few read-ahead
 * windows. yauzl's own descriptor reader does one thread-pool read per central directory
 * record, local header and entry head (several per instance): with thousands of small
 * instances those round trips, not the bytes, were most of the time of a send. Windows of
 * {@link WINDOW_BYTES} serve the central directory (at the end of the file) and the entries
 * (from its start) alike, and bound the memory held.
 */
import { close as closeFd, read as readFd } from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** Bytes one read-ahead window holds: a few small entries, or the local header and head of a large one. */
export const WINDOW_BYTES = 64 * 1024;
/** Windows kept: the central directory's, the entries', and one the parallel readers overlap in. */
const WINDOWS_KEPT = 3;
/** Largest piece a range stream pushes at once. */
const STREAM_PIECE_BYTES = 256 * 1024;

interface Window {
  start: number;
  /** Its own memory, reused for another window once it is dropped and no one reads it. */
  memory: Buffer;
  /** Resolves to the bytes read (fewer than asked only at the end of the file). */
  bytes: Promise<Buffer>;
  /** Set once `bytes` resolved. */
  ready?: Buffer;
  /** Readers between the lookup and the end of their synchronous use. */
  pinned: number;
  dropped: boolean;
}

/** Up to `length` bytes of `fd` from `position` into `into` (fewer only at the end of the file). */
function readInto(fd: number, into: Buffer, position: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const step = (got: number): void => {
      if (got === length) return resolve(into.subarray(0, length));
      readFd(fd, into, got, length - got, position + got, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return resolve(into.subarray(0, got));
        step(got + n);
      });
    };
    step(0);
  });
}

/**
 * A yauzl RandomAccessReader over a file descriptor that it owns (closed when yauzl closes the
 * archive), plus {@link ZipWindowReader.use} and {@link ZipWindowReader.readOwn} for reading
 * entries. Window memory is recycled: nothing read through a window outlives the synchronous
 * `use` of it, so sending thousands of entries leaves no garbage buffers behind (they would
 * count against the bridge's memory until a full collection).
 */
export class ZipWindowReader extends yauzl.RandomAccessReader {
  /** Most recently used last. */
  private windows: Window[] = [];
  /** Memory of dropped windows, for the next ones. */
  private spare: Buffer[] = [];

  constructor(private readonly fd: number, readonly size: number) {
    super();
  }

  /**
   * Calls `fn` with `length` bytes from `start` (fewer past the end of the file), a view valid
   * only during the call: `fn` copies or consumes it synchronously. Ranges larger than a
   * window are read into their own memory.
   */
  async use<T>(start: number, length: number, fn: (bytes: Buffer) => T): Promise<T> {
    const end = Math.min(start + length, this.size);
    if (end <= start) return fn(Buffer.alloc(0));
    if (end - start > WINDOW_BYTES) return fn(await this.readOwn(start, end - start));
    const window = this.find(start, end) ?? this.load(start);
    window.pinned++;
    try {
      const bytes = window.ready ?? (await window.bytes);
      return fn(bytes.subarray(start - window.start, Math.min(end - window.start, bytes.length)));
    } finally {
      window.pinned--;
      this.recycle(window);
    }
  }

  /** `length` bytes from `start` in memory of their own (fewer only at the end of the file). */
  readOwn(start: number, length: number): Promise<Buffer> {
    return readInto(this.fd, Buffer.allocUnsafeSlow(length), start, length);
  }

  /** For yauzl: copies from the windows. */
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.use(position, length, (bytes) => bytes.copy(buffer, offset)).then((copied) => {
      callback(copied < length ? new Error('unexpected EOF') : null);
    }, (err: Error) => callback(err));
  }

  /** For yauzl's entry streams: the range in pieces, each read only when wanted. */
  override _readStreamForRange(start: number, end: number): Readable {
    let at = start;
    const stream: Readable = new Readable({
      read: () => {
        if (at >= end) return;
        const length = Math.min(STREAM_PIECE_BYTES, end - at);
        const from = at;
        at += length;
        this.use(from, length, (bytes) => Buffer.from(bytes)).then((bytes) => {
          if (bytes.length < length) {
            stream.destroy(new Error('unexpected EOF'));
            return;
          }
          stream.push(bytes);
          if (at >= end) stream.push(null);
        }, (err: Error) => stream.destroy(err));
      },
    });
    return stream;
  }

  override close(callback: (err: Error | null) => void): void {
    this.windows = [];
    this.spare = [];
    closeFd(this.fd, (err) => callback(err ?? null));
  }

  private find(start: number, end: number): Window | undefined {
    for (let i = this.windows.length - 1; i >= 0; i -= 1) {
      const w = this.windows[i]!;
      const known = w.ready?.length ?? w.memory.length;
      if (start >= w.start && end <= w.start + known) {
        if (i !== this.windows.length - 1) this.windows.push(...this.windows.splice(i, 1));
        return w;
      }
    }
    return undefined;
  }

  private load(start: number): Window {
    const memory = this.spare.pop() ?? Buffer.allocUnsafeSlow(WINDOW_BYTES);
    const length = Math.min(WINDOW_BYTES, this.size - start);
    const window: Window = { start, memory, bytes: readInto(this.fd, memory, start, length), pinned: 0, dropped: false };
    window.bytes.then((b) => (window.ready = b), () => this.drop(window));
    this.windows.push(window);
    if (this.windows.length > WINDOWS_KEPT) this.drop(this.windows[0]!);
    return window;
  }

  private drop(window: Window): void {
    this.windows = this.windows.filter((w) => w !== window);
    window.dropped = true;
    this.recycle(window);
  }

  /** A dropped window's memory goes back to the spares once no read is pending or pinned. */
  private recycle(window: Window): void {
    if (!window.dropped || window.pinned > 0) return;
    window.pinned = -1; // recycled once only
    // Its read may still be running: the memory is reused only after it settled.
    void window.bytes.then(() => undefined, () => undefined).then(() => {
      if (this.spare.length < WINDOWS_KEPT) this.spare.push(window.memory);
    });
  }
}
