/**
 * Retention of failed items (SPEC §3): whatever sits in Inbox_Failed or Outbox_Failed longer
 * than `keepFailedDays`, counted from when it was moved there, is deleted, and each deletion
 * is a Cleanup row in the log book (SPEC §4). Hand-written: a file-age cleaner (tmpreaper,
 * find -mtime, npm "del") judges by mtime, but an item moved by rename keeps its old mtime, so
 * the move time comes from the log book's `failed_item` records instead.
 *
 * Items without a record (put there by hand, by an older release, or whose record was lost in
 * a crash between the rename and the insert) get one "first seen now" at the first scan. So
 * nothing is ever deleted earlier than `keepFailedDays` after the bridge could first tell its
 * age; such an item may be kept longer than the setting, never shorter.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import type { FailedFolder, FailedMove } from '../../logbook/schema.js';
import { cridsFromZipName } from '../naming/zip-name.js';
import type { StorageLayout } from '../storage-layout.js';

/** One day, as the setting counts it: 24 hours, whatever the local clock does. */
export const DAY_MS = 24 * 60 * 60 * 1000;
/** How often {@link startRetention} runs a pass unless told otherwise. */
export const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;

/** An item in one of the failed folders. */
export interface FailedItemRef {
  folder: FailedFolder;
  name: string;
}

/** What one retention pass did. */
export interface RetentionResult {
  /** Deleted, each with a Cleanup/Success row. */
  deleted: FailedItemRef[];
  /** Old enough but not deletable this time; kept and tried again at the next pass. */
  failed: (FailedItemRef & { reason: string })[];
  /** Found without a record: recorded as first seen now and kept. */
  firstSeen: FailedItemRef[];
  /** Records whose item is gone (removed by hand): dropped. */
  forgotten: FailedItemRef[];
  /** Items younger than the setting (first-seen ones included). */
  kept: number;
}

/** Everything one pass needs. */
export interface RetentionDeps {
  layout: StorageLayout;
  logBook: LogBook;
  /** SPEC §3 `keepFailedDays` (1–365 after config validation); any positive number works. */
  keepFailedDays: number;
  /** The clock (tests). */
  now?: () => Date;
  log: Logger;
  /** Deletes one item; defaults to {@link removeFailedItem}. */
  removeItem?: (itemPath: string) => Promise<void>;
  /**
   * Keys (`folder/name`) whose failed deletion already has a log book row. Given, a deletion
   * that keeps failing pass after pass is written once (and on every pass to the technical
   * log) instead of flooding the 500 rows the GUI shows; without it, every failure is a row.
   */
  reportedFailures?: Set<string>;
}

/**
 * Deletes one item of a failed folder: a study folder with everything in it, a ZIP, or
 * whatever else was put there. `rm` looks at each entry with lstat, so a symbolic link (the
 * item itself or one inside a study folder) is removed as a link and its target is untouched.
 */
export async function removeFailedItem(itemPath: string): Promise<void> {
  await rm(itemPath, { recursive: true, force: true });
}

/** `2026-11-20 10:00 UTC`: the minute is precise enough for a person reading the log book. */
function utcMinute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Runs one retention pass over Inbox_Failed and Outbox_Failed (SPEC §3, §4): deletes every
 * item whose recorded move time is more than `keepFailedDays` × 24 h ago, records items
 * without a record as first seen now, and forgets records whose item is gone. Names starting
 * with `.` are the bridge's temporary names and are left alone. A folder that cannot be read
 * is skipped (logged) with its records kept. Rejects only when the log book fails.
 */
export async function runRetention(deps: RetentionDeps): Promise<RetentionResult> {
  const { layout, logBook, log } = deps;
  if (!(Number.isFinite(deps.keepFailedDays) && deps.keepFailedDays > 0)) {
    throw new RangeError(`keepFailedDays must be a positive number of days, got ${deps.keepFailedDays}`);
  }
  const removeItem = deps.removeItem ?? removeFailedItem;
  const now = (deps.now ?? (() => new Date()))();
  const keepMs = deps.keepFailedDays * DAY_MS;
  const result: RetentionResult = { deleted: [], failed: [], firstSeen: [], forgotten: [], kept: 0 };
  const folders: [FailedFolder, string][] = [
    ['Inbox_Failed', layout.inboxFailed],
    ['Outbox_Failed', layout.outboxFailed],
  ];

  for (const [folder, dir] of folders) {
    // Records first, listing second: the hooks rename before they record, so a record read
    // here belongs to an item the listing below must contain unless it was really removed.
    const records = new Map(logBook.failedMoves(folder).map((record) => [record.name, record]));
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      log.warn({ err, folder: dir }, `retention skipped ${folder}: the folder cannot be read`);
      continue;
    }
    const present = new Set(names);
    for (const record of records.values()) {
      if (present.has(record.name)) continue;
      logBook.forgetFailedMove(folder, record.name, record.movedAt);
      deps.reportedFailures?.delete(`${folder}/${record.name}`);
      result.forgotten.push({ folder, name: record.name });
    }

    for (const name of names) {
      if (name.startsWith('.')) continue;
      const record = records.get(name);
      const movedAtMs = record ? Date.parse(record.movedAt) : Number.NaN;
      if (!record || Number.isNaN(movedAtMs)) {
        if (record) logBook.forgetFailedMove(folder, name, record.movedAt);
        if (logBook.recordFailedItemSeen(folder, name, now)) {
          result.firstSeen.push({ folder, name });
          log.info({ folder, item: name }, `found in ${folder} without a move time; kept ${plural(deps.keepFailedDays, 'day')} from now`);
        }
        result.kept += 1;
        continue;
      }
      const ageMs = now.getTime() - movedAtMs;
      if (ageMs <= keepMs) {
        result.kept += 1;
        continue;
      }
      await deleteItem(deps, removeItem, folder, join(dir, name), record, Math.floor(ageMs / DAY_MS), result);
    }
  }
  return result;
}

/** Deletes one expired item and writes its log book row; a failure keeps item and record. */
async function deleteItem(
  deps: RetentionDeps,
  removeItem: (itemPath: string) => Promise<void>,
  folder: FailedFolder,
  itemPath: string,
  record: FailedMove,
  days: number,
  result: RetentionResult,
): Promise<void> {
  const { logBook, log } = deps;
  const { name } = record;
  const key = `${folder}/${name}`;
  const crids = folder === 'Outbox_Failed' && /\.zip$/i.test(name) ? cridsFromZipName(name) : [];
  try {
    await removeItem(itemPath);
  } catch (err) {
    const reason = `could not delete from ${folder} after ${plural(days, 'day')}: ${(err as Error).message}; tried again at the next pass`;
    log.warn({ err, folder, item: name }, reason);
    if (!deps.reportedFailures?.has(key)) {
      logBook.add({ action: 'Cleanup', status: 'Failed', fileName: name, folder, crids, reason });
      deps.reportedFailures?.add(key);
    }
    result.failed.push({ folder, name, reason });
    return;
  }
  logBook.forgetFailedMove(folder, name, record.movedAt);
  deps.reportedFailures?.delete(key);
  const since = record.source === 'moved' ? 'moved there' : 'first seen there';
  const reason = `deleted from ${folder} after ${plural(days, 'day')} (${since} ${utcMinute(record.movedAt)})`;
  logBook.add({ action: 'Cleanup', status: 'Success', fileName: name, folder, crids, reason });
  log.info({ folder, item: name }, reason);
  result.deleted.push({ folder, name });
}

/** Dependencies of the periodic service: the setting is read afresh at every pass. */
export interface RetentionServiceDeps extends Omit<RetentionDeps, 'keepFailedDays' | 'reportedFailures'> {
  keepFailedDays: () => number;
  /** Time between passes; default one hour. */
  intervalMs?: number;
}

/** The running retention service. */
export interface RetentionService {
  /**
   * Runs a pass now and resolves with its result. If a pass is running, the new one starts
   * when it ends (requests made meanwhile share that one pass). Rejects after stop().
   */
  runOnce(): Promise<RetentionResult>;
  /** Stops the timer and waits for a running pass; idempotent. Call before closing the log book. */
  stop(): Promise<void>;
}

/** Rejected by runOnce after stop(). */
export class RetentionStoppedError extends Error {
  readonly code = 'ERR_RETENTION_STOPPED' as const;
  constructor() {
    super('retention is stopped');
    this.name = 'RetentionStoppedError';
  }
}

/**
 * Starts retention (SPEC §3): one pass at once, then one every `intervalMs` on an unref'd
 * timer, so it never keeps the process alive. Passes never overlap: a tick that finds a pass
 * running is skipped. A failing pass is logged and the next one tries again.
 */
export function startRetention(deps: RetentionServiceDeps): RetentionService {
  const intervalMs = deps.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
  if (!(Number.isFinite(intervalMs) && intervalMs >= 1)) throw new RangeError(`intervalMs must be at least 1, got ${intervalMs}`);
  const { log } = deps;
  const reportedFailures = new Set<string>();
  let running: Promise<RetentionResult> | null = null;
  let queued: Promise<RetentionResult> | null = null;
  let stopped = false;

  const start = (): Promise<RetentionResult> => {
    const pass = (async () => runRetention({ ...deps, keepFailedDays: deps.keepFailedDays(), reportedFailures }))();
    running = pass;
    void pass.then(
      () => {
        if (running === pass) running = null;
      },
      () => {
        if (running === pass) running = null;
      },
    );
    return pass;
  };

  const runOnce = (): Promise<RetentionResult> => {
    if (stopped) return Promise.reject(new RetentionStoppedError());
    if (!running) return start();
    if (!queued) {
      const next = running.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        queued = null;
        if (stopped) throw new RetentionStoppedError();
        return start();
      });
      queued = next;
    }
    return queued;
  };

  const supervise = (pass: Promise<RetentionResult>): void => {
    pass.then(
      (result) => {
        const { deleted, failed, firstSeen, forgotten, kept } = result;
        if (deleted.length + failed.length + firstSeen.length + forgotten.length > 0) {
          log.info({ deleted: deleted.length, failed: failed.length, firstSeen: firstSeen.length, forgotten: forgotten.length, kept }, 'retention pass done');
        }
      },
      (err: unknown) => {
        if (!(err instanceof RetentionStoppedError)) log.error({ err }, 'retention pass failed; the next pass tries again');
      },
    );
  };

  supervise(start());
  const timer = setInterval(() => {
    if (!stopped && !running) supervise(start());
  }, intervalMs);
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([running, queued].filter((p): p is Promise<RetentionResult> => p !== null));
    },
  };
}
