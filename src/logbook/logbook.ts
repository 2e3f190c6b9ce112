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
  type LogAction,
  type LogEntry,
  type LogEntryInput,
  type LogStatus,
} from './schema.js';
import { prepareActivity, type Activity, type ActivityRange } from './activity.js';

/** Longest stored text field, in code points; reasons may be longer. */
export const TEXT_MAX = 1024;
export const REASON_MAX = 4096;
/** Most rows latest() returns at once. */
export const LATEST_MAX = 10000;
/** Longest free-text search, in characters. */
export const QUERY_TEXT_MAX = 200;

/**
 * Which rows to read, newest first (the GUI's filters). Every field is optional; `before` is
 * keyset paging: only rows with a smaller id, so a page stays stable while rows are added.
 */
export interface LogQuery {
  /** Free text: every word (split at spaces and commas) must occur, case-insensitively, in a text field. */
  q?: string;
  action?: LogAction;
  status?: LogStatus;
  /** Rows at or after this instant. */
  from?: Date;
  /** Rows before this instant. */
  to?: Date;
  /** Rows with an id below this one (the last id of the previous page). */
  before?: number;
  /** At most this many rows (at most LATEST_MAX); none = no limit (export). */
  limit?: number;
}

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
  /** The entries matching the filters, newest first (the GUI's filters and paging). */
  query(filter: LogQuery): LogEntry[];
  /** Every entry matching the filters, newest first, one at a time (CSV export of any size). */
  iterate(filter: Omit<LogQuery, 'limit'>): IterableIterator<LogEntry>;
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
  folder: string;
  callingAeTitle: string;
  peerAddress: string;
  receivingMs: number | null;
  zippingMs: number | null;
  sendingMs: number | null;
}

const COLUMNS = `id, timestamp, action, status, patient_name AS patientName, birth_date AS birthDate,
  study_date AS studyDate, modality, instances, study_description AS studyDescription, crids,
  reason, study_instance_uid AS studyInstanceUid, file_name AS fileName, folder,
  calling_ae_title AS callingAeTitle, peer_address AS peerAddress, receiving_ms AS receivingMs,
  zipping_ms AS zippingMs, sending_ms AS sendingMs`;

/**
 * The text the free-text filter searches, with a person name's `^` and `=` as spaces so
 * "DOE, Jane" (as the GUI shows it) finds DOE^Jane.
 */
const HAYSTACK = `search_fold(replace(replace(patient_name, '^', ' '), '=', ' ') || ' ' || action || ' ' || status || ' ' ||
  crids || ' ' || coalesce(reason, '') || ' ' || file_name || ' ' || study_description || ' ' || modality || ' ' ||
  study_instance_uid || ' ' || folder || ' ' || calling_ae_title || ' ' || peer_address)`;

/** The words of a free-text filter: split at spaces and commas, case-folded. */
export function searchWords(q: string | undefined): string[] {
  return (q ?? '').slice(0, QUERY_TEXT_MAX).toLowerCase().split(/[\s,]+/).filter((w) => w !== '');
}

/** The WHERE clause and parameters of a query. */
function whereOf(filter: LogQuery): { sql: string; values: SQLInputValue[] } {
  const clauses: string[] = [];
  const values: SQLInputValue[] = [];
  for (const word of searchWords(filter.q)) {
    clauses.push(`instr(${HAYSTACK}, ?) > 0`);
    values.push(word);
  }
  if (filter.action !== undefined) {
    if (!LOG_ACTIONS.includes(filter.action)) throw new TypeError(`unknown log action ${JSON.stringify(filter.action)}`);
    clauses.push('action = ?');
    values.push(filter.action);
  }
  if (filter.status !== undefined) {
    if (!LOG_STATUSES.includes(filter.status)) throw new TypeError(`unknown log status ${JSON.stringify(filter.status)}`);
    clauses.push('status = ?');
    values.push(filter.status);
  }
  // Timestamps are stored as toISOString() text, so text order is time order.
  if (filter.from !== undefined) {
    clauses.push('timestamp >= ?');
    values.push(filter.from.toISOString());
  }
  if (filter.to !== undefined) {
    clauses.push('timestamp < ?');
    values.push(filter.to.toISOString());
  }
  if (filter.before !== undefined) {
    if (!Number.isSafeInteger(filter.before)) throw new RangeError(`before must be an id, got ${filter.before}`);
    clauses.push('id < ?');
    values.push(filter.before);
  }
  return { sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, values };
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

/** A duration as stored: a whole, non-negative number of ms, or null. */
function durationMs(value: number | null | undefined, name: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a duration in ms, got ${value}`);
  return Math.round(value);
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
    // Unicode-aware case folding for the free-text filter (SQLite's lower() folds ASCII only).
    db.function('search_fold', { deterministic: true }, (text) => String(text ?? '').toLowerCase());
  } catch (err) {
    db.close();
    throw err;
  }
  const now = options.now ?? (() => new Date());
  const onListenerError =
    options.onListenerError ?? ((err: unknown) => process.emitWarning(err instanceof Error ? err : String(err), 'LogBookListenerWarning'));

  const insert = db.prepare(`
    INSERT INTO log_entry (timestamp, action, status, patient_name, birth_date, study_date, modality,
      instances, study_description, crids, reason, study_instance_uid, file_name, folder, calling_ae_title,
      peer_address, receiving_ms, zipping_ms, sending_ms)
    VALUES (@timestamp, @action, @status, @patientName, @birthDate, @studyDate, @modality,
      @instances, @studyDescription, @crids, @reason, @studyInstanceUid, @fileName, @folder, @callingAeTitle,
      @peerAddress, @receivingMs, @zippingMs, @sendingMs)`);
  const selectLatest = db.prepare(`SELECT ${COLUMNS} FROM log_entry ORDER BY id DESC LIMIT ?`);
  /** Queries by their SQL: a handful of filter combinations, each prepared once. */
  const prepared = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const statement = (filter: LogQuery, limited: boolean) => {
    const where = whereOf(filter);
    const sql = `SELECT ${COLUMNS} FROM log_entry ${where.sql} ORDER BY id DESC${limited ? ' LIMIT ?' : ''}`;
    // An iteration may be paused between rows (a slow download): it gets its own statement.
    if (!limited) return { stmt: db.prepare(sql), values: where.values };
    let stmt = prepared.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      prepared.set(sql, stmt);
    }
    return { stmt, values: where.values };
  };

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
        folder: cap(entry.folder, TEXT_MAX),
        callingAeTitle: cap(entry.callingAeTitle, TEXT_MAX),
        peerAddress: cap(entry.peerAddress, TEXT_MAX),
        receivingMs: durationMs(entry.receivingMs, 'receivingMs'),
        zippingMs: durationMs(entry.zippingMs, 'zippingMs'),
        sendingMs: durationMs(entry.sendingMs, 'sendingMs'),
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
    query(filter) {
      const limit = filter.limit ?? LATEST_MAX;
      if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a count, got ${limit}`);
      const { stmt, values } = statement(filter, true);
      return (stmt.all(...values, Math.min(limit, LATEST_MAX)) as unknown as Row[]).map(fromRow);
    },
    *iterate(filter) {
      const { stmt, values } = statement(filter, false);
      for (const row of stmt.iterate(...values)) yield fromRow(row as unknown as Row);
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
