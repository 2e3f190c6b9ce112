/**
 * Disk space guard (SPEC §1, README "Disk guard"): below the `minFreeDiskMegabytes` threshold the
 * receiver refuses C-STOREs with "out of resources" (PS3.4 Table B.2-1, status A700) before it
 * writes a byte, instead of filling the disk and leaving half files; once space returns the
 * next C-STORE is accepted again, with no restart.
 *
 * Hand-written because it is one `statfs` call compared with a threshold: the npm packages
 * for free disk space (check-disk-space, diskusage) either shell out to `df` or add a native
 * build for what Node's own `fs.statfs` already answers.
 */
import { statfs as nodeStatfs } from 'node:fs/promises';
import type { StoreOutcome } from '../../dicom/dimse/service.js';
import { STATUS_OUT_OF_RESOURCES } from '../../dicom/dimse/status.js';
import type { Logger } from '../../dicom/ul/logger.js';

/** The unit of `minFreeDiskMegabytes` (1024 MB = 1 GiB, the default). */
export const BYTES_PER_MEGABYTE = 1024 * 1024;

/** How long one free-space measurement is reused: one statfs per second at most. */
export const DISK_CHECK_CACHE_MS = 1000;

/** The fields of Node's `StatsFs` the guard needs (PS3.x: none; POSIX statvfs). */
export interface FreeSpaceStats {
  /** Blocks an unprivileged writer may still use (root's reserve excluded). */
  bavail: number;
  /** Size of a block in bytes. */
  bsize: number;
}

/** Reads the file system statistics of a path (Node's `fs.promises.statfs` by default). */
export type StatfsFn = (path: string) => Promise<FreeSpaceStats>;

/** The result of one check. */
export interface DiskCheck {
  /** True when storing must be refused. */
  low: boolean;
  /** Free bytes as last measured; null when the guard is off or statfs failed. */
  freeBytes: number | null;
  /** The threshold in bytes; 0 = the guard is off. */
  minFreeBytes: number;
}

/** Options of {@link DiskGuard}. */
export interface DiskGuardOptions {
  /** A folder on the file system to watch (the storage folder). */
  dir: string;
  /** The threshold in megabytes, read at every check (the setting is live); 0 = off. */
  minFreeMegabytes(): number;
  log: Logger;
  statfs?: StatfsFn;
  cacheMs?: number;
  now?: () => number;
}

/** Text of the refusal, within the 64 characters of an Error Comment (PS3.7 §C.4.2). */
function refusalComment(minFreeBytes: number): string {
  return `Out of resources: free disk space below ${Math.round(minFreeBytes / BYTES_PER_MEGABYTE)} MB`;
}

/**
 * Watches the free space of the storage folder's file system. `check()` measures at most once
 * per `cacheMs` (concurrent callers share one statfs) and compares with the threshold read
 * at that moment; entering and leaving the low state are each logged once. A statfs that fails
 * does not refuse storing: the write itself still maps ENOSPC to A700.
 */
export class DiskGuard {
  private readonly statfs: StatfsFn;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private measuredAtMs = Number.NEGATIVE_INFINITY;
  private freeBytes: number | null = null;
  private measuring: Promise<void> | null = null;
  private statfsFailing = false;
  private last: DiskCheck = { low: false, freeBytes: null, minFreeBytes: 0 };

  constructor(private readonly options: DiskGuardOptions) {
    this.statfs = options.statfs ?? nodeStatfs;
    this.cacheMs = options.cacheMs ?? DISK_CHECK_CACHE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The state of the last check (false before the first). */
  get low(): boolean {
    return this.last.low;
  }

  /** Measures (or reuses a measurement younger than `cacheMs`) and compares with the threshold. */
  async check(): Promise<DiskCheck> {
    const minFreeBytes = Math.max(0, this.options.minFreeMegabytes()) * BYTES_PER_MEGABYTE;
    if (minFreeBytes === 0) return this.settle({ low: false, freeBytes: null, minFreeBytes });
    if (this.now() - this.measuredAtMs >= this.cacheMs) {
      this.measuring ??= this.measure().finally(() => {
        this.measuring = null;
      });
      await this.measuring;
    }
    // The threshold may have changed while measuring: read it again.
    const threshold = Math.max(0, this.options.minFreeMegabytes()) * BYTES_PER_MEGABYTE;
    const low = threshold > 0 && this.freeBytes !== null && this.freeBytes < threshold;
    return this.settle({ low, freeBytes: threshold > 0 ? this.freeBytes : null, minFreeBytes: threshold });
  }

  /** The C-STORE outcome to answer instead of storing (A700), or null when storing may go on. */
  async refusal(): Promise<StoreOutcome | null> {
    const { low, minFreeBytes } = await this.check();
    return low ? { status: STATUS_OUT_OF_RESOURCES, errorComment: refusalComment(minFreeBytes) } : null;
  }

  private async measure(): Promise<void> {
    try {
      const stats = await this.statfs(this.options.dir);
      this.freeBytes = Number(stats.bavail) * Number(stats.bsize);
      if (this.statfsFailing) this.options.log.info({ dir: this.options.dir }, 'free disk space can be read again');
      this.statfsFailing = false;
    } catch (err) {
      this.freeBytes = null;
      if (!this.statfsFailing) {
        this.options.log.warn({ err, dir: this.options.dir }, 'free disk space cannot be read; DICOM storing is not limited by the disk space guard');
      }
      this.statfsFailing = true;
    }
    this.measuredAtMs = this.now();
  }

  /** Records the check and logs a change of state, once per change. */
  private settle(next: DiskCheck): DiskCheck {
    const { log, dir } = this.options;
    const megabytes = Math.round(next.minFreeBytes / BYTES_PER_MEGABYTE);
    if (next.low && !this.last.low) {
      log.warn({ dir, freeBytes: next.freeBytes, minFreeBytes: next.minFreeBytes },
        `free disk space below ${megabytes} MB: DICOM storing refused with out of resources until space returns`);
    } else if (!next.low && this.last.low) {
      const why = next.minFreeBytes === 0 ? 'the disk space guard is off' : `free disk space back above ${megabytes} MB`;
      log.info({ dir, freeBytes: next.freeBytes, minFreeBytes: next.minFreeBytes }, `${why}: DICOM storing accepted again`);
    }
    this.last = next;
    return next;
  }
}
