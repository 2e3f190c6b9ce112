/**
 * The log book's data model and SQLite schema (SPEC §4). The schema is versioned with
 * `PRAGMA user_version` so a later release can migrate an existing log book in place.
 */
import type { DatabaseSync } from 'node:sqlite';

/** What happened (the GUI's "Action" column). */
export type LogAction = 'Receive' | 'Send' | 'Cleanup' | 'Echo';
/** How it ended (the GUI's "Status" column). */
export type LogStatus = 'Success' | 'Failed' | 'Warning';

export const LOG_ACTIONS: readonly LogAction[] = ['Receive', 'Send', 'Cleanup', 'Echo'];
export const LOG_STATUSES: readonly LogStatus[] = ['Success', 'Failed', 'Warning'];

/** One transaction as stored and shown (SPEC §4). Text fields are '' when unknown. */
export interface LogEntry {
  id: number;
  /** ISO 8601 UTC with milliseconds, e.g. `2025-03-24T13:53:57.123Z`. */
  timestamp: string;
  action: LogAction;
  status: LogStatus;
  patientName: string;
  birthDate: string;
  studyDate: string;
  modality: string;
  instances: number;
  studyDescription: string;
  /** CRYPE IDs, 16 digits each; stored as the concatenated `CRID#…` text. */
  crids: string[];
  /** Why it failed or warned; null on plain success. */
  reason: string | null;
  studyInstanceUid: string;
  /** The ZIP or folder name the transaction concerned. */
  fileName: string;
}

/** What a caller records; id and timestamp are assigned by the log book, the rest defaults to empty. */
export type LogEntryInput = Pick<LogEntry, 'action' | 'status'> &
  Partial<Omit<LogEntry, 'id' | 'timestamp' | 'action' | 'status'>>;

/** The two folders whose items are deleted after `keepFailedDays` (SPEC §3). */
export type FailedFolder = 'Inbox_Failed' | 'Outbox_Failed';
export const FAILED_FOLDERS: readonly FailedFolder[] = ['Inbox_Failed', 'Outbox_Failed'];

/**
 * When an item arrived in a failed folder (SPEC §3: its age counts from the move, and a rename
 * keeps the old mtime, so the time is recorded here). `seen` marks an item the bridge did not
 * move itself, or whose record was lost: its time is when retention first saw it.
 */
export interface FailedMove {
  folder: FailedFolder;
  /** The item's name inside the folder (a study folder or a ZIP). */
  name: string;
  /** ISO 8601 UTC with milliseconds. */
  movedAt: string;
  source: 'moved' | 'seen';
}

/** Schema version written to `PRAGMA user_version`. */
export const SCHEMA_VERSION = 2;

const SCHEMA_V1 = `
CREATE TABLE log_entry (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp          TEXT    NOT NULL,
  action             TEXT    NOT NULL CHECK (action IN ('Receive', 'Send', 'Cleanup', 'Echo')),
  status             TEXT    NOT NULL CHECK (status IN ('Success', 'Failed', 'Warning')),
  patient_name       TEXT    NOT NULL,
  birth_date         TEXT    NOT NULL,
  study_date         TEXT    NOT NULL,
  modality           TEXT    NOT NULL,
  instances          INTEGER NOT NULL CHECK (instances >= 0),
  study_description  TEXT    NOT NULL,
  crids              TEXT    NOT NULL,
  reason             TEXT,
  study_instance_uid TEXT    NOT NULL,
  file_name          TEXT    NOT NULL
) STRICT;
`;

/** v2: the move times of items in the failed folders (retention, SPEC §3). */
const SCHEMA_V2 = `
CREATE TABLE failed_item (
  folder   TEXT NOT NULL CHECK (folder IN ('Inbox_Failed', 'Outbox_Failed')),
  name     TEXT NOT NULL,
  moved_at TEXT NOT NULL,
  source   TEXT NOT NULL CHECK (source IN ('moved', 'seen')),
  PRIMARY KEY (folder, name)
) STRICT, WITHOUT ROWID;
`;

/** A log book file this release cannot use (written by a newer release). */
export class LogBookError extends Error {
  readonly code = 'ERR_LOGBOOK' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogBookError';
  }
}

/**
 * Creates or upgrades the schema inside one transaction, one step per version (v1 → v2 adds
 * `failed_item` and keeps every log row); refuses a newer version. A crash mid-way leaves the
 * old version intact, since the transaction commits schema and `user_version` together.
 */
export function migrate(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
    if (version > SCHEMA_VERSION) {
      throw new LogBookError(`the log book has schema version ${version}; this release knows up to ${SCHEMA_VERSION}`);
    }
    if (version < 1) db.exec(SCHEMA_V1);
    if (version < 2) db.exec(SCHEMA_V2);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
