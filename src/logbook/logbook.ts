/**
 * The durable log book of transactions (SPEC §4) on SQLite through Node's own `node:sqlite`
 * (no native addon, so the single executable carries it): embedded, synchronous, and with `journal_mode=WAL` plus `synchronous=FULL` a row that add() returned
 * survives a power cut. Statements are prepared once. Text from a peer is capped so a hostile
 * value cannot grow the file without bound.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import {
  FAILED_FOLDERS,
  LOG_ACTIONS,
  LOG_STATUSES,
  migrate,
  type FailedFolder,
  type FailedMove,
  type LogEntry,
  type LogEntryInput,
} from './schema.js';
import { prepareActivity, type Activity, type ActivityRange } from './activity.js';

/** Longest stored text field, in code points; reasons may be longer. */
export const TEXT_MAX = 1024;
export const REASON_MAX = 4096;
/** Most rows latest() returns at once. */
export const LATEST_MAX = 10000;

/** Options of openLogBook. */
export interface LogBookOptions {
  /** Clock for timestamps (tests). */
  now?: () => Date;
  /** Receives an error thrown by an onAdd listener; the entry is stored regardless. */
  onListenerError?: (err: unknown) => void;
}

/** The log book API used by the bridge and the GUI. */
export interface LogBook {
  /** Stores an entry durably and returns it with id and timestamp. */
  add(entry: LogEntryInput): LogEntry;
  /** The newest entries first; the GUI shows 500. */
  latest(limit?: number): LogEntry[];
  /** Calls `listener` after every add (live GUI updates); returns the unsubscribe function. */
  onAdd(listener: (entry: LogEntry) => void): () => void;
  /**
   * Records that the bridge has just moved `name` into a failed folder (SPEC §3: retention
   * counts from the move). Replaces an older record of the same name: it was another item.
   */
  recordFailedMove(folder: FailedFolder, name: string, at?: Date): void;
  /**
   * Records an item found in a failed folder without a record, as first seen `at`; leaves an
   * existing record untouched. Returns whether it added one.
   */
  recordFailedItemSeen(folder: FailedFolder, name: string, at?: Date): boolean;
  /** Every recorded item of the folder, by name. */
  failedMoves(folder: FailedFolder): FailedMove[];
  /**
   * Drops the record of an item that was deleted or is gone. With `ifMovedAt`, only a record
   * with that time, so a new item that took the name meanwhile keeps its own record.
   */
  forgetFailedMove(folder: FailedFolder, name: string, ifMovedAt?: string): void;
  /** Closes the database; idempotent. */
  close(): void;

  // Activity chart (SPEC §7): counts per hour/day, see activity.ts.
  /** Received and sent counts per bucket of `range`, ending with the bucket that holds `now`. */
  activity(range: ActivityRange, now?: Date): Activity;
}

interface Row {
  id: number;
  timestamp: string;
  action: LogEntry['action'];
  status: LogEntry['status'];
  patientName: string;
  birthDate: string;
  studyDate: string;
  modality: string;
  instances: number;
  studyDescription: string;
  crids: string;
  reason: string | null;
  studyInstanceUid: string;
  fileName: string;
}

function cap(value: string | undefined, max: number): string {
  const s = value ?? '';
  if (s.length <= max) return s;
  return Array.from(s).slice(0, max).join('');
}

function cridText(ids: readonly string[] | undefined): string {
  for (const id of ids ?? []) {
    if (!/^[0-9]{16}$/.test(id)) throw new TypeError(`CRYPE ID must be 16 digits, got ${JSON.stringify(id)}`);
  }
  return (ids ?? []).map((id) => `CRID#${id}`).join('');
}

function cridList(text: string): string[] {
  return text.split('CRID#').filter((id) => id !== '');
}

function checkFailedFolder(folder: FailedFolder): void {
  if (!FAILED_FOLDERS.includes(folder)) throw new TypeError(`not a failed folder: ${JSON.stringify(folder)}`);
}

/** A name as readdir returns it: one path component. */
function checkFailedItem(folder: FailedFolder, name: string): void {
  checkFailedFolder(folder);
  if (name === '' || /[\\/\0]/.test(name)) throw new TypeError(`not an item name: ${JSON.stringify(name)}`);
}

/** node:sqlite rows have a null prototype; the entries we hand out are plain objects. */
function fromRow(row: Row): LogEntry {
  return { ...row, crids: cridList(row.crids) };
}

/** A record as named parameters (`@key` in the SQL). */
function params(record: object): Record<string, SQLInputValue> {
  return record as Record<string, SQLInputValue>;
}

/**
 * Opens (creating if needed) the log book file and its folder, sets WAL and FULL sync and
 * migrates the schema. SPEC §4.
 */
export function openLogBook(file: string, options: LogBookOptions = {}): LogBook {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  const now = options.now ?? (() => new Date());
  const onListenerError =
    options.onListenerError ?? ((err: unknown) => process.emitWarning(err instanceof Error ? err : String(err), 'LogBookListenerWarning'));

  const insert = db.prepare(`
    INSERT INTO log_entry (timestamp, action, status, patient_name, birth_date, study_date, modality,
      instances, study_description, crids, reason, study_instance_uid, file_name)
    VALUES (@timestamp, @action, @status, @patientName, @birthDate, @studyDate, @modality,
      @instances, @studyDescription, @crids, @reason, @studyInstanceUid, @fileName)`);
  const selectLatest = db.prepare(`
    SELECT id, timestamp, action, status, patient_name AS patientName, birth_date AS birthDate,
      study_date AS studyDate, modality, instances, study_description AS studyDescription, crids,
      reason, study_instance_uid AS studyInstanceUid, file_name AS fileName
    FROM log_entry ORDER BY id DESC LIMIT ?`);

  const upsertFailed = db.prepare(`
    INSERT INTO failed_item (folder, name, moved_at, source) VALUES (@folder, @name, @movedAt, @source)
    ON CONFLICT (folder, name) DO UPDATE SET moved_at = excluded.moved_at, source = excluded.source`);
  const insertFailedIfAbsent = db.prepare(`
    INSERT INTO failed_item (folder, name, moved_at, source) VALUES (@folder, @name, @movedAt, @source)
    ON CONFLICT (folder, name) DO NOTHING`);
  const selectFailed = db.prepare(`
    SELECT folder, name, moved_at AS movedAt, source FROM failed_item WHERE folder = ? ORDER BY name`);
  const deleteFailed = db.prepare(`
    DELETE FROM failed_item WHERE folder = @folder AND name = @name AND (@movedAt IS NULL OR moved_at = @movedAt)`);

  const listeners = new Set<(entry: LogEntry) => void>();
  let closed = false;
  // Activity chart (SPEC §7).
  const countActivity = prepareActivity(db);

  return {
    add(entry) {
      if (!LOG_ACTIONS.includes(entry.action)) throw new TypeError(`unknown log action ${JSON.stringify(entry.action)}`);
      if (!LOG_STATUSES.includes(entry.status)) throw new TypeError(`unknown log status ${JSON.stringify(entry.status)}`);
      const instances = entry.instances ?? 0;
      if (!Number.isSafeInteger(instances) || instances < 0) throw new TypeError(`instances must be a count, got ${instances}`);
      const row: Omit<Row, 'id'> = {
        timestamp: now().toISOString(),
        action: entry.action,
        status: entry.status,
        patientName: cap(entry.patientName, TEXT_MAX),
        birthDate: cap(entry.birthDate, TEXT_MAX),
        studyDate: cap(entry.studyDate, TEXT_MAX),
        modality: cap(entry.modality, TEXT_MAX),
        instances,
        studyDescription: cap(entry.studyDescription, TEXT_MAX),
        crids: cridText(entry.crids),
        reason: entry.reason === undefined || entry.reason === null ? null : cap(entry.reason, REASON_MAX),
        studyInstanceUid: cap(entry.studyInstanceUid, TEXT_MAX),
        fileName: cap(entry.fileName, TEXT_MAX),
      };
      const id = Number(insert.run(params(row)).lastInsertRowid);
      const stored = fromRow({ id, ...row });
      for (const listener of [...listeners]) {
        try {
          listener(stored);
        } catch (err) {
          onListenerError(err);
        }
      }
      return stored;
    },
    latest(limit = 500) {
      if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a count, got ${limit}`);
      return (selectLatest.all(Math.min(limit, LATEST_MAX)) as unknown as Row[]).map(fromRow);
    },
    onAdd(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    recordFailedMove(folder, name, at = now()) {
      checkFailedItem(folder, name);
      upsertFailed.run(params({ folder, name, movedAt: at.toISOString(), source: 'moved' }));
    },
    recordFailedItemSeen(folder, name, at = now()) {
      checkFailedItem(folder, name);
      return Number(insertFailedIfAbsent.run(params({ folder, name, movedAt: at.toISOString(), source: 'seen' })).changes) > 0;
    },
    failedMoves(folder) {
      checkFailedFolder(folder);
      return selectFailed.all(folder).map((row) => ({ ...row }) as unknown as FailedMove);
    },
    forgetFailedMove(folder, name, ifMovedAt) {
      checkFailedItem(folder, name);
      deleteFailed.run(params({ folder, name, movedAt: ifMovedAt ?? null }));
    },
    // Activity chart (SPEC §7).
    activity(range, at = new Date()) {
      return countActivity(range, at);
    },
    close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      db.close();
    },
  };
}
