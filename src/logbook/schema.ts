/**
 * The log book's data model and SQLite schema (SPEC §4). The schema is versioned with
 * `PRAGMA user_version` so a later release can migrate an existing log book in place.
 */
import type Database from 'better-sqlite3';

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

/** Schema version written to `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

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

/** A log book file this release cannot use (written by a newer release). */
export class LogBookError extends Error {
  readonly code = 'ERR_LOGBOOK' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogBookError';
  }
}

/** Creates or upgrades the schema inside one transaction; refuses a newer version. */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new LogBookError(`the log book has schema version ${version}; this release knows up to ${SCHEMA_VERSION}`);
    }
    if (version < 1) db.exec(SCHEMA_V1);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
