/**
 * Instance files created ahead of need in the incoming folder, their names made durable
 * before they are handed out (one folder fsync per batch, with `fsync` on). Creating a file
 * and syncing its folder sits on no C-STORE's path: an instance is written into a file whose
 * name already survives a power cut, and committed by one fdatasync (commit-record.ts).
 */
import { randomUUID } from 'node:crypto';
import { close, open } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fsyncDir } from '../durable-fs.js';

const openFile = promisify(open);
const closeFile = promisify(close);

/** An open, empty instance file in the incoming folder. */
export interface InstanceFile {
  path: string;
  fd: number;
}

/** Keeps a batch of empty instance files open and ready. */
export class InstanceFilePool {
  private ready: InstanceFile[] = [];
  private refilling: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly dir: string,
    /** fsync the folder before files are handed out (the `receive.fsync` setting). */
    private readonly fsync: boolean,
    private readonly batch = 8,
  ) {}

  /**
   * The next instance file; rejects with the file system's error (e.g. ENOSPC). When the batch
   * created ahead failed (the disk was full then), this C-STORE's own attempt decides, so
   * storing resumes as soon as space returns.
   */
  async take(): Promise<InstanceFile> {
    if (this.ready.length === 0) await this.refill();
    const file = this.ready.shift();
    if (this.ready.length <= this.batch / 2) void this.refill().catch(() => undefined);
    if (file) return file;
    const [created] = await this.create(1);
    return created!;
  }

  /** Closes and deletes the files not handed out; resolves once their descriptors are closed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refilling?.catch(() => undefined);
    await this.discardReady();
  }

  private async discardReady(): Promise<void> {
    const unused = this.ready.splice(0);
    await Promise.all(unused.map(async (file) => {
      await closeFile(file.fd).catch(() => undefined);
      await unlink(file.path).catch(() => undefined);
    }));
  }

  private refill(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.refilling ??= this.create(this.batch).then(async (files) => {
      this.ready.push(...files);
      if (this.closed) await this.discardReady(); // closed meanwhile: close() waits for this
    }).finally(() => {
      this.refilling = null;
    });
    return this.refilling;
  }

  /** Creates `count` files and makes their names durable; on failure none is left behind. */
  private async create(count: number): Promise<InstanceFile[]> {
    const settled = await Promise.allSettled(Array.from({ length: count }, async () => {
      const path = join(this.dir, `${randomUUID()}.part`);
      return { path, fd: await openFile(path, 'wx') };
    }));
    const files = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      if (this.fsync) await fsyncDir(this.dir);
      return files;
    } catch (err) {
      await Promise.all(files.map((f) => closeFile(f.fd).then(() => unlink(f.path)).catch(() => undefined)));
      throw err;
    }
  }
}
