/**
 * Watches Outbox_Auto for ZIPs from the CRYPE app (SPEC §2). File-system events are only
 * hints (network drives send none); a periodic rescan is the truth. A ZIP is taken once its
 * size and modification time stayed the same for the stable time AND its end of central
 * directory reads — the app may still be writing it. Taking it means renaming it into the
 * bridge's own work folder, which is atomic, so it is never sent twice and survives a crash.
 * Only a few ZIPs are taken ahead of the sender, so what waits stays visible in Outbox_Auto.
 * A file whose end of central directory never reads (empty, not a ZIP, truncated) is not
 * waited for forever: unchanged for the incomplete time, it is handed on as unreadable.
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
  /**
   * How long a file may stay unchanged with no readable end of central directory before it
   * is given up (`send.incompleteZipSeconds`).
   */
  incompleteMs: number;
  /** A file given up as unreadable was claimed to `path`; `reason` is the log book's line. */
  onUnreadable(path: string, reason: string): void;
  /** How many more ZIPs may be claimed now (the sender's free places); unbounded if absent. */
  claimBudget?(): number;
  log: Logger;
  now?: () => number;
}

interface Observation {
  size: number;
  mtimeMs: number;
  /** When this size/mtime was first seen. */
  sinceMs: number;
  /** Stable, but its end of central directory did not read at the last look. */
  unreadable: boolean;
}

/** A stable, complete ZIP that may be claimed. */
interface Ready {
  name: string;
  path: string;
  mtimeMs: number;
}

/** Watches one outbox folder until stopped. */
export class OutboxWatcher {
  private readonly seen = new Map<string, Observation>();
  /** Names already warned about as unreadable, or `unreachable:` + name (one warning per file, not per scan). */
  private readonly warned = new Set<string>();
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

  /** ZIPs seen but not taken yet (being written, or waiting for the sender), unreadable ones apart. */
  get waiting(): number {
    return this.seen.size - this.unreadable;
  }

  /** Files that stayed unchanged but whose end of central directory does not read. */
  get unreadable(): number {
    let count = 0;
    for (const observation of this.seen.values()) if (observation.unreadable) count += 1;
    return count;
  }

  /** Looks again soon (the sender has room for more). */
  poke(): void {
    this.scanSoon();
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
    for (const gone of [...this.seen.keys()].filter((name) => !names.includes(name))) this.forget(gone);
    const ready: Ready[] = [];
    for (const name of names) {
      if (this.stopped) return;
      const path = join(this.options.outboxDir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      const last = this.seen.get(name);
      if (!last || last.size !== info.size || last.mtimeMs !== info.mtimeMs) {
        this.seen.set(name, { size: info.size, mtimeMs: info.mtimeMs, sinceMs: this.now(), unreadable: false });
        continue;
      }
      const unchangedMs = this.now() - last.sinceMs;
      if (unchangedMs < this.options.stableMs) continue;
      let complete: boolean;
      try {
        complete = await this.options.isComplete(path);
      } catch (err) {
        // Busy or unreachable for now (a virus scanner, a network drive): look again later.
        const firstTime = !this.warned.has(`unreachable:${name}`);
        this.warned.add(`unreachable:${name}`);
        this.options.log[firstTime ? 'warn' : 'debug']({ err, zip: name }, 'cannot read the end of an Outbox_Auto file for now; will look again');
        continue;
      }
      last.unreadable = !complete;
      if (complete) {
        ready.push({ name, path, mtimeMs: info.mtimeMs });
        continue;
      }
      const seconds = Math.round(this.options.incompleteMs / 1000);
      if (!this.warned.has(name)) {
        this.warned.add(name);
        this.options.log.warn({ zip: name, bytes: info.size }, `Outbox_Auto file does not read as a complete ZIP (incomplete or not a ZIP); it goes to Outbox_Failed if it stays unchanged for ${seconds} s`);
      }
      if (unchangedMs >= this.options.incompleteMs) {
        const claimed = await this.claim(name, path);
        if (claimed !== null) this.options.onUnreadable(claimed, `incomplete or not a ZIP (unchanged for ${seconds} s)`);
      }
    }
    // Oldest first, and only as many as the sender has room for: the rest wait where people see them.
    ready.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const [i, { name, path }] of ready.entries()) {
      if (this.stopped) return;
      if ((this.options.claimBudget?.() ?? Infinity) <= 0) {
        this.options.log.debug({ left: ready.length - i }, 'enough ZIPs are claimed ahead of the sender; the others stay in Outbox_Auto for now');
        return;
      }
      const claimed = await this.claim(name, path);
      if (claimed === null) continue;
      this.options.log.info({ zip: name }, 'ZIP taken from Outbox_Auto');
      this.options.onClaimed(claimed);
    }
  }

  /** Renames the file into the claim folder; its new path, or null if it could not be taken. */
  private async claim(name: string, path: string): Promise<string | null> {
    const claimed = join(this.options.claimDir, `${this.now().toString(36)}-${name}`);
    try {
      await rename(path, claimed);
      await fsyncDir(this.options.claimDir);
    } catch (err) {
      this.options.log.warn({ err, zip: name }, 'could not take the file from Outbox_Auto; will retry');
      return null;
    }
    this.forget(name);
    return claimed;
  }

  private forget(name: string): void {
    this.seen.delete(name);
    this.warned.delete(name);
    this.warned.delete(`unreachable:${name}`);
  }
}

/** The name a claimed ZIP had in Outbox_Auto. */
export function originalZipName(claimedPath: string): string {
  const base = claimedPath.split(/[\\/]/).pop()!;
  const dash = base.indexOf('-');
  return dash >= 0 ? base.slice(dash + 1) : base;
}
