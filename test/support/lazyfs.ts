/**
 * LazyFS (scripts/lazyfs/) for power-cut tests: a FUSE file system that keeps written data in
 * its own cache until fsync and drops what was not synced on `lazyfs::clear-cache`. A killed
 * process cannot show a missing flush (the kernel's page cache survives it); this can.
 * The mount, the cut and the unmount run through LazyFS's own interface (its fault FIFO and
 * its "completed" FIFO), so a cut is known to be done before the test goes on.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/lazyfs/build.sh', import.meta.url));

/**
 * The LazyFS binary as scripts/lazyfs/build.sh built it (scripts/install-test-deps.sh does),
 * or the reason there is none.
 */
export async function lazyFsBinary(): Promise<{ bin?: string; reason?: string }> {
  try {
    const { stdout } = await run('bash', [BUILD_SCRIPT, '--path']);
    return { bin: stdout.trim() };
  } catch (err) {
    return { reason: `LazyFS is not built (${String((err as { stderr?: string }).stderr ?? err).trim()}): run scripts/install-test-deps.sh` };
  }
}

/** A LazyFS mount of `root` on `mountPoint`, mounted and unmounted again as often as needed. */
export class LazyFs {
  readonly mountPoint: string;
  private readonly root: string;
  private readonly faultsFifo: string;
  private readonly completedFifo: string;
  private readonly configPath: string;
  private readonly logPath: string;
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private completed: Socket | undefined;
  private completedText = '';
  private waiters: Array<() => void> = [];

  /** Everything (backing folder, mount point, FIFOs, config, log) lives in `work`. */
  constructor(private readonly bin: string, private readonly work: string) {
    this.mountPoint = join(work, 'mnt');
    this.root = join(work, 'root');
    this.faultsFifo = join(work, 'faults.fifo');
    this.completedFifo = join(work, 'faults-completed.fifo');
    this.configPath = join(work, 'lazyfs.toml');
    this.logPath = join(work, 'lazyfs.log');
  }

  /** Mounts and waits (bounded) until the mount is there; rejects with LazyFS's own words when it cannot. */
  async mount(timeoutMs = 15_000): Promise<void> {
    // LazyFS ignores --config-path when the path contains "-o" (any case): it takes it for a FUSE option.
    if (/-o/i.test(this.configPath)) throw new Error(`LazyFS cannot take a config path containing "-o": ${this.configPath}`);
    await mkdir(this.mountPoint, { recursive: true });
    await mkdir(this.root, { recursive: true });
    if (!this.completed) {
      await writeFile(this.configPath, [
        '[faults]', `fifo_path="${this.faultsFifo}"`, `fifo_path_completed="${this.completedFifo}"`,
        '[cache]', 'apply_eviction=false', '[cache.simple]', 'custom_size="4gb"', 'blocks_per_page=1',
        '[filesystem]', 'log_all_operations=false', `logfile=""`, '',
      ].join('\n'));
      for (const fifo of [this.faultsFifo, this.completedFifo]) await run('mkfifo', [fifo]);
      // Read and write: LazyFS's open of its "completed" FIFO for writing never waits on us,
      // and no end of file when it unmounts; non-blocking, so libuv polls it (no thread held).
      // A plain descriptor, not a FileHandle: the socket owns it (a FileHandle would close it when collected).
      const fd = openSync(this.completedFifo, constants.O_RDWR | constants.O_NONBLOCK);
      this.completed = new Socket({ fd, readable: true, writable: false });
      this.completed.on('data', (chunk: Buffer) => {
        this.completedText += chunk.toString();
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
    const log = await open(this.logPath, 'a');
    const child = spawn(this.bin, [this.mountPoint, '--config-path', this.configPath, '-o', 'allow_other', '-o', 'modules=subdir', '-o', `subdir=${this.root}`, '-f'], {
      stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (!(await this.isMounted())) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        await this.exited;
        const tail = (await readFile(this.logPath, 'utf8').catch(() => '')).split('\n').slice(-8).join('\n');
        throw new Error(`LazyFS did not mount ${this.mountPoint}: ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50)); // readiness probe interval
    }
  }

  /** The power goes: LazyFS drops every write not yet synced; resolves once it reports it done. */
  async powerCut(timeoutMs = 30_000): Promise<void> {
    const before = this.completedText.split('finished::clear-cache').length;
    const fifo = await open(this.faultsFifo, constants.O_WRONLY | constants.O_NONBLOCK);
    await fifo.write('lazyfs::clear-cache\n');
    await fifo.close();
    const deadline = Date.now() + timeoutMs;
    while (this.completedText.split('finished::clear-cache').length === before) {
      if (Date.now() > deadline) throw new Error('LazyFS did not report the cache cleared');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Unmounts (retrying while busy, bounded) and waits for LazyFS to exit. */
  async unmount(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (await this.isMounted()) {
      try {
        await run('fusermount3', ['-u', this.mountPoint]);
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`cannot unmount ${this.mountPoint}: ${String((err as { stderr?: string }).stderr ?? err)}`);
        await new Promise((r) => setTimeout(r, 100)); // retry interval while the mount is busy
      }
    }
    await this.exited;
    this.process = undefined;
  }

  /** Best effort for `after` hooks: unmount (lazily if need be), stop LazyFS by PID, remove the work folder. */
  async dispose(): Promise<void> {
    if (await this.isMounted()) {
      await this.unmount(10_000).catch(async () => {
        await run('fusermount3', ['-u', '-z', this.mountPoint]).catch(() => undefined);
      });
    }
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
    this.completed?.destroy();
    await rm(this.work, { recursive: true, force: true });
  }

  private async isMounted(): Promise<boolean> {
    const info = await readFile('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((line) => line.split(' ')[4] === this.mountPoint);
  }
}
