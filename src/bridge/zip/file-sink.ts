/**
 * Sequential writes to the temporary ZIP with few system calls: a study of 10,000 small
 * instances makes 30,000 small records (header, data, descriptor), so small buffers are copied
 * into one staging buffer and written together; large ones go straight to the file.
 */
import type { FileHandle } from 'node:fs/promises';
import { freeBuffer } from '../free-buffer.js';

const STAGING_BYTES = 1024 * 1024;
const DIRECT_BYTES = 64 * 1024;

/** Appends buffers to an open file in order; {@link FileSink.flush} before closing. */
export class FileSink {
  /** Bytes appended so far (the ZIP offset of the next byte). */
  offset = 0;
  private readonly staging = Buffer.allocUnsafe(STAGING_BYTES);
  private staged = 0;

  constructor(private readonly handle: FileHandle) {}

  /**
   * Appends `buf`; calls must not overlap, and `buf` must not change before this resolves.
   * A large `buf` is consumed: it is empty afterwards (free-buffer.ts).
   */
  async write(buf: Buffer): Promise<void> {
    this.offset += buf.length;
    if (buf.length >= DIRECT_BYTES) {
      await this.flush();
      await this.writeAll(buf);
      freeBuffer(buf);
      return;
    }
    if (this.staged + buf.length > STAGING_BYTES) await this.flush();
    buf.copy(this.staging, this.staged);
    this.staged += buf.length;
  }

  /** Writes what is staged. */
  async flush(): Promise<void> {
    if (this.staged === 0) return;
    const length = this.staged;
    this.staged = 0;
    await this.writeAll(this.staging.subarray(0, length));
  }

  private async writeAll(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.handle.write(buf, done, buf.length - done);
      done += bytesWritten;
    }
  }
}
