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

/** A file being created ahead of need; `failed` once its creation rejected. */
interface ReadyFile {
  promise: Promise<TempFile>;
  failed: boolean;
}

/** Keeps `size` temporary files open and ready. */
export class TempFilePool {
  private readonly ready: ReadyFile[] = [];
  private closed = false;

  constructor(
    private readonly dir: string,
    /** fsync each file before it closes (`flush`), so 'close' means durable. */
    private readonly fsync: boolean,
    private readonly size = 2,
  ) {}

  /**
   * The next open temporary file; rejects with the file system's error (e.g. ENOSPC). A file
   * created ahead that failed is dropped rather than handed out, so a full disk spoils no
   * C-STORE after space returns: the next take creates afresh.
   */
  take(): Promise<TempFile> {
    let next: Promise<TempFile> | undefined;
    while (next === undefined && this.ready.length > 0) {
      const entry = this.ready.shift()!;
      if (!entry.failed) next = entry.promise;
    }
    next ??= this.create();
    this.refill();
    return next;
  }

  /** Closes and deletes the files not handed out. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.ready.splice(0);
    await Promise.all(pending.map(async ({ promise }) => {
      const file = await promise.catch(() => undefined);
      if (!file) return;
      file.stream.destroy();
      await unlink(file.path).catch(() => undefined);
    }));
  }

  private refill(): void {
    while (!this.closed && this.ready.length < this.size) {
      const entry: ReadyFile = { promise: this.create(), failed: false };
      entry.promise.catch(() => {
        entry.failed = true; // dropped by the next take(); the error concerned no instance
      });
      this.ready.push(entry);
    }
  }

  private async create(): Promise<TempFile> {
    const path = join(this.dir, `${randomUUID()}.part`);
    const stream = createWriteStream(path, { flags: 'wx', flush: this.fsync, highWaterMark: 1 << 20 });
    await once(stream, 'open');
    return { path, stream };
  }
}
