/**
 * The log book's data model and SQLite schema (SPEC §4). The schema is versioned with
 * `PRAGMA user_version` so a later release can migrate an existing log book in place.
 */
import type { DatabaseSync } from 'node:sqlite';

/**
 * What happened (the GUI's "Action" column). `Retry` is an administrator sending a failed
 * item through again from the GUI (v3); the retried work then writes its own Receive/Send row.
 * `Settings` is a save of the settings from the GUI (v4): the changed keys, old → new, in
 * `reason` and the requesting address in `peerAddress` (the audit trail).
 */
export type LogAction = 'Receive' | 'Send' | 'Cleanup' | 'Echo' | 'Retry' | 'Settings';
/** How it ended (the GUI's "Status" column). */
export type LogStatus = 'Success' | 'Failed' | 'Warning';

export const LOG_ACTIONS: readonly LogAction[] = ['Receive', 'Send', 'Cleanup', 'Echo', 'Retry', 'Settings'];
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
  /**
   * Where the item went (v3): Inbox_Auto, Inbox_Manual, Inbox_Failed, Outbox_Auto (retried)
   * or Outbox_Failed, and for a cleanup the folder it was deleted from; '' when it is gone (a
   * sent ZIP is deleted) or unknown (older rows).
   */
  folder: string;
  /** The calling AE title(s) of the association(s) that delivered or sent it (v3); '' when unknown. */
  callingAeTitle: string;
  /** The peer's address(es): the sending modality's IP, or the PACS's `host:port` (v3). */
  peerAddress: string;
  /** From the first to the last instance received, in ms (v3); null when not measured. */
  receivingMs: number | null;
  /** Zipping the study, in ms (v3). */
  zippingMs: number | null;
  /** Sending the ZIP, retries included, in ms (v3). */
  sendingMs: number | null;
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
export const SCHEMA_VERSION = 4;

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

/** The columns of `log_entry` since v3, in table order (copied as they are by later rebuilds). */
const COLUMNS_V3 = `id, timestamp, action, status, patient_name, birth_date, study_date, modality, instances,
  study_description, crids, reason, study_instance_uid, file_name, folder, calling_ae_title, peer_address,
  receiving_ms, zipping_ms, sending_ms`;

/** The v1 columns, all a v1/v2 file has to copy into the v3 table. */
const COLUMNS_V1 = `id, timestamp, action, status, patient_name, birth_date, study_date, modality,
  instances, study_description, crids, reason, study_instance_uid, file_name`;

/**
 * Rebuilds `log_entry` with the v3 columns and the given actions in its CHECK constraint, copying
 * `columns` of every row. SQLite cannot change a CHECK constraint in place, so the table is
 * rebuilt under the same name with every row and id, its AUTOINCREMENT counter carried over
 * (ids are never reused, even of rows deleted by hand), and the timestamp index made again.
 */
function rebuildLogEntry(version: number, actions: readonly string[], columns: string): string {
  const next = `log_entry_v${version}`;
  return `
CREATE TABLE ${next} (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp          TEXT    NOT NULL,
  action             TEXT    NOT NULL CHECK (action IN (${actions.map((a) => `'${a}'`).join(', ')})),
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
  file_name          TEXT    NOT NULL,
  folder             TEXT    NOT NULL DEFAULT '',
  calling_ae_title   TEXT    NOT NULL DEFAULT '',
  peer_address       TEXT    NOT NULL DEFAULT '',
  receiving_ms       INTEGER CHECK (receiving_ms >= 0),
  zipping_ms         INTEGER CHECK (zipping_ms >= 0),
  sending_ms         INTEGER CHECK (sending_ms >= 0)
) STRICT;
INSERT INTO ${next} (${columns}) SELECT ${columns} FROM log_entry;
INSERT INTO sqlite_sequence (name, seq) SELECT '${next}', 0
  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '${next}');
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'log_entry'), 0))
  WHERE name = '${next}';
DROP TABLE log_entry;
ALTER TABLE ${next} RENAME TO log_entry;
CREATE INDEX log_entry_timestamp ON log_entry (timestamp);
`;
}

/** v3: the details drawer's columns, the `Retry` action and an index on the timestamp (date filter, activity chart). */
const SCHEMA_V3 = rebuildLogEntry(3, ['Receive', 'Send', 'Cleanup', 'Echo', 'Retry'], COLUMNS_V1);

/** v4: the `Settings` action (the audit trail of saved settings). */
const SCHEMA_V4 = rebuildLogEntry(4, ['Receive', 'Send', 'Cleanup', 'Echo', 'Retry', 'Settings'], COLUMNS_V3);

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
 * `failed_item`, v2 → v3 rebuilds `log_entry` with the drawer's columns, v3 → v4 rebuilds it
 * for the `Settings` action, each keeping every row); refuses a newer version. A crash mid-way leaves the
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
    if (version < 3) db.exec(SCHEMA_V3);
    if (version < 4) db.exec(SCHEMA_V4);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
