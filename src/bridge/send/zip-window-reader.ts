/**
 * Reads an Outbox ZIP for yauzl and for whole small entries through a few large read-ahead
 * windows. yauzl's own descriptor reader does one thread-pool read per central directory
 * record, local header and entry head (several per instance): with thousands of small
 * instances those round trips, not the bytes, were most of the time of a send. Windows of
 * {@link WINDOW_BYTES} serve the central directory (at the end of the file) and the entries
 * (from its start) alike, and bound the memory held.
 */
import { close as closeFd, read as readFd } from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** Bytes one read-ahead window holds. */
export const WINDOW_BYTES = 1024 * 1024;
/** Windows kept: the central directory's, the entries', and one the parallel readers overlap in. */
const WINDOWS_KEPT = 3;
/** Largest piece a range stream pushes at once. */
const STREAM_PIECE_BYTES = 256 * 1024;

interface Window {
  start: number;
  /** Resolves to the bytes read (fewer than asked only at the end of the file). */
  bytes: Promise<Buffer>;
  /** Set once `bytes` resolved, so a hit needs no promise hop. */
  ready?: Buffer;
}

/** Up to `length` bytes of `fd` from `position`, fewer only at the end of the file. */
function readAt(fd: number, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  return new Promise((resolve, reject) => {
    const step = (got: number): void => {
      if (got === length) return resolve(bytes);
      readFd(fd, bytes, got, length - got, position + got, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return resolve(bytes.subarray(0, got));
        step(got + n);
      });
    };
    step(0);
  });
}

/**
 * A yauzl RandomAccessReader over a file descriptor that it owns (closed when yauzl closes the
 * archive), plus {@link ZipWindowReader.range} for reading whole entries from the same windows.
 */
export class ZipWindowReader extends yauzl.RandomAccessReader {
  /** Most recently used last. */
  private windows: Window[] = [];

  constructor(private readonly fd: number, readonly size: number) {
    super();
  }

  /**
   * `length` bytes from `start` (fewer past the end of the file): a view of a window, or, for a
   * range larger than a window, read on its own (not kept).
   */
  async range(start: number, length: number): Promise<Buffer> {
    const end = Math.min(start + length, this.size);
    if (end <= start) return Buffer.alloc(0);
    if (end - start > WINDOW_BYTES) return readAt(this.fd, start, end - start);
    const hit = this.find(start, end);
    const window = hit ?? this.load(start);
    const bytes = window.ready ?? (await window.bytes);
    return bytes.subarray(start - window.start, Math.min(end - window.start, bytes.length));
  }

  /** For yauzl: copies from the windows. */
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.range(position, length).then((bytes) => {
      if (bytes.length < length) return callback(new Error('unexpected EOF'));
      bytes.copy(buffer, offset);
      callback(null);
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
        this.range(from, length).then((bytes) => {
          if (bytes.length < length) {
            stream.destroy(new Error('unexpected EOF'));
            return;
          }
          // A copy: the stream's reader may keep pieces longer than the window should live.
          stream.push(Buffer.from(bytes));
          if (at >= end) stream.push(null);
        }, (err: Error) => stream.destroy(err));
      },
    });
    return stream;
  }

  override close(callback: (err: Error | null) => void): void {
    this.windows = [];
    closeFd(this.fd, (err) => callback(err ?? null));
  }

  private find(start: number, end: number): Window | undefined {
    for (let i = this.windows.length - 1; i >= 0; i -= 1) {
      const w = this.windows[i]!;
      const known = w.ready?.length ?? WINDOW_BYTES;
      if (start >= w.start && end <= w.start + known) {
        if (i !== this.windows.length - 1) this.windows.push(...this.windows.splice(i, 1));
        return w;
      }
    }
    return undefined;
  }

  private load(start: number): Window {
    const window: Window = { start, bytes: readAt(this.fd, start, Math.min(WINDOW_BYTES, this.size - start)) };
    window.bytes.then((b) => (window.ready = b), () => {
      this.windows = this.windows.filter((w) => w !== window);
    });
    this.windows.push(window);
    if (this.windows.length > WINDOWS_KEPT) this.windows.shift();
    return window;
  }
}
