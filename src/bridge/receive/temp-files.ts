/**
 * Temporary instance files created ahead of need. Creating a file costs about a millisecond
 * here (a journaled directory update plus a thread-pool round trip), and it sits on the path
 * of every C-STORE; opening the next files while the current instance arrives takes it off.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** An open, empty temporary file in the incoming folder. */
export interface TempFile {
  path: string;
  stream: WriteStream;
}

/** Keeps `size` temporary files open and ready. */
export class TempFilePool {
  private readonly ready: Array<Promise<TempFile>> = [];
  private closed = false;

  constructor(
    private readonly dir: string,
    /** fsync each file before it closes (`flush`), so 'close' means durable. */
    private readonly fsync: boolean,
    private readonly size = 2,
  ) {}

  /**
   * The next open temporary file; rejects with the file system's error (e.g. ENOSPC). A file
   * created ahead that failed (the disk was full then) is not held against this C-STORE: a
   * fresh one is created, so storing resumes as soon as space returns.
   */
  async take(): Promise<TempFile> {
    const ahead = this.ready.shift();
    this.refill();
    if (ahead) {
      try {
        return await ahead;
      } catch {
        // Created ahead under conditions that may be gone: this instance's own attempt decides.
      }
    }
    return this.create();
  }

  /** Closes and deletes the files not handed out; resolves once their descriptors are closed. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.ready.splice(0);
    await Promise.all(pending.map(async (promise) => {
      const file = await promise.catch(() => undefined);
      if (!file) return;
      // Closed before close() resolves: an open descriptor would keep the file system busy.
      file.stream.destroy();
      if (!file.stream.closed) await once(file.stream, 'close').catch(() => undefined);
      await unlink(file.path).catch(() => undefined);
    }));
  }

  private refill(): void {
    while (!this.closed && this.ready.length < this.size) {
      const promise = this.create();
      promise.catch(() => undefined); // whoever takes it tries afresh
      this.ready.push(promise);
    }
  }

  private async create(): Promise<TempFile> {
    const path = join(this.dir, `${randomUUID()}.part`);
    const stream = createWriteStream(path, { flags: 'wx', flush: this.fsync, highWaterMark: 1 << 20 });
    await once(stream, 'open');
    return { path, stream };
  }
}
