/**
 * Watches Outbox_Auto for ZIPs from the CRYPE app (SPEC §2). File-system events are only
 * hints (network drives send none); a periodic rescan is the truth. A ZIP is taken once its
 * size and modification time stayed the same for the stable time AND its end of central
 * directory reads — the app may still be writing it. Taking it means renaming it into the
 * bridge's own work folder, which is atomic, so it is never sent twice and survives a crash.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../dicom/ul/logger.js';
import { fsyncDir } from '../durable-fs.js';

/** Options of {@link OutboxWatcher}. */
export interface OutboxWatcherOptions {
  outboxDir: string;
  /** Where claimed ZIPs wait and are sent from (same file system). */
  claimDir: string;
  scanIntervalMs: number;
  stableMs: number;
  /** True when the ZIP's end of central directory is readable. */
  isComplete(path: string): Promise<boolean>;
  /** A ZIP was claimed: it is now at `path` in the claim folder. */
  onClaimed(path: string): void;
  log: Logger;
  now?: () => number;
}

interface Observation {
  size: number;
  mtimeMs: number;
  /** When this size/mtime was first seen. */
  sinceMs: number;
}

/** Watches one outbox folder until stopped. */
export class OutboxWatcher {
  private readonly seen = new Map<string, Observation>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: OutboxWatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts watching; the first scan runs at once. */
  start(): void {
    try {
      this.watcher = watch(this.options.outboxDir, () => this.scanSoon());
      this.watcher.on('error', (err) => this.options.log.warn({ err }, 'Outbox_Auto events unavailable; rescanning periodically'));
    } catch (err) {
      this.options.log.warn({ err }, 'Outbox_Auto events unavailable; rescanning periodically');
    }
    this.timer = setInterval(() => this.scanSoon(), Math.min(this.options.scanIntervalMs, this.options.stableMs));
    this.timer.unref();
    this.scanSoon();
  }

  /** Stops watching and waits for a scan in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.timer);
    await this.scanning;
  }

  /** ZIPs seen but not taken yet (waiting to be complete). */
  get waiting(): number {
    return this.seen.size;
  }

  private scanSoon(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => this.options.log.error({ err }, 'Outbox_Auto scan failed'))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan) {
          this.rescan = false;
          this.scanSoon();
        }
      });
  }

  private async scan(): Promise<void> {
    const names = (await readdir(this.options.outboxDir)).filter((name) => name.toLowerCase().endsWith('.zip'));
    for (const gone of [...this.seen.keys()].filter((name) => !names.includes(name))) this.seen.delete(gone);
    for (const name of names) {
      if (this.stopped) return;
      const path = join(this.options.outboxDir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      const last = this.seen.get(name);
      if (!last || last.size !== info.size || last.mtimeMs !== info.mtimeMs) {
        this.seen.set(name, { size: info.size, mtimeMs: info.mtimeMs, sinceMs: this.now() });
        continue;
      }
      if (this.now() - last.sinceMs < this.options.stableMs) continue;
      if (!(await this.options.isComplete(path))) continue;
      await this.claim(name, path);
    }
  }

  private async claim(name: string, path: string): Promise<void> {
    const claimed = join(this.options.claimDir, `${this.now().toString(36)}-${name}`);
    try {
      await rename(path, claimed);
      await fsyncDir(this.options.claimDir);
    } catch (err) {
      this.options.log.warn({ err, zip: name }, 'could not take the ZIP from Outbox_Auto; will retry');
      return;
    }
    this.seen.delete(name);
    this.options.log.info({ zip: name }, 'ZIP taken from Outbox_Auto');
    this.options.onClaimed(claimed);
  }
}

/** The name a claimed ZIP had in Outbox_Auto. */
export function originalZipName(claimedPath: string): string {
  const base = claimedPath.split(/[\\/]/).pop()!;
  const dash = base.indexOf('-');
  return dash >= 0 ? base.slice(dash + 1) : base;
}
