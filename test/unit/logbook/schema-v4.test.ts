/**
 * Schema v4 (the `Settings` action of the audit trail): a v3 log book is rebuilt in place with
 * every row, every column, its ids and its id counter; a failed migration leaves it as it was.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { openLogBook } from '../../../src/logbook/logbook.js';
import { LOG_ACTIONS, SCHEMA_VERSION } from '../../../src/logbook/schema.js';

/** The v3 schema exactly as release 0.3 wrote it (a frozen fixture, not imported from src). */
const V3_DDL = `
CREATE TABLE log_entry (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp          TEXT    NOT NULL,
  action             TEXT    NOT NULL CHECK (action IN ('Receive', 'Send', 'Cleanup', 'Echo', 'Retry')),
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
CREATE INDEX log_entry_timestamp ON log_entry (timestamp);
CREATE TABLE failed_item (
  folder   TEXT NOT NULL CHECK (folder IN ('Inbox_Failed', 'Outbox_Failed')),
  name     TEXT NOT NULL,
  moved_at TEXT NOT NULL,
  source   TEXT NOT NULL CHECK (source IN ('moved', 'seen')),
  PRIMARY KEY (folder, name)
) STRICT, WITHOUT ROWID;
`;

const A = '1234567890123456';

function pragma(db: DatabaseSync, name: string): unknown {
  return Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
}

let dir: string;
let n = 0;
const freshFile = () => path.join(dir, `v3-book-${++n}.sqlite`);

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dicombridge-logbook-v4-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A v3 log book with rows 1–3 kept and 4–5 deleted (the counter stands at 5), plus a failed-item record. */
function writeV3Book(file: string): void {
  const raw = new DatabaseSync(file);
  raw.exec('PRAGMA journal_mode = WAL');
  raw.exec(V3_DDL);
  const insert = raw.prepare(`INSERT INTO log_entry (timestamp, action, status, patient_name, birth_date, study_date, modality,
    instances, study_description, crids, reason, study_instance_uid, file_name, folder, calling_ae_title, peer_address,
    receiving_ms, zipping_ms, sending_ms) VALUES (?, ?, ?, ?, '19700101', '20250102', 'CT', ?, 'Head', ?, ?, '1.2.3', ?, ?, ?, ?, ?, ?, ?)`);
  insert.run('2026-01-01T00:00:01.000Z', 'Receive', 'Success', 'DOE^JANE', 3, `CRID#${A}`, null, 'study~1', 'Inbox_Manual', 'MOD1', '10.0.0.5', 1500, 20, null);
  insert.run('2026-01-01T00:00:02.000Z', 'Send', 'Failed', '', 0, '', 'association rejected', 'a.zip', 'Outbox_Failed', 'BRIDGE', '10.0.0.9:104', null, null, 700);
  insert.run('2026-01-01T00:00:03.000Z', 'Retry', 'Success', '', 0, '', null, 'a.zip', 'Outbox_Auto', '', '', null, null, null);
  insert.run('2026-01-01T00:00:04.000Z', 'Echo', 'Success', '', 0, '', null, 'gone-1', '', '', '', null, null, null);
  insert.run('2026-01-01T00:00:05.000Z', 'Echo', 'Success', '', 0, '', null, 'gone-2', '', '', '', null, null, null);
  raw.exec('DELETE FROM log_entry WHERE id > 3');
  raw.exec("INSERT INTO failed_item VALUES ('Outbox_Failed', 'a.zip', '2026-01-01T00:00:02.000Z', 'moved')");
  raw.exec('PRAGMA user_version = 3');
  raw.close();
}

describe('schema v4: the Settings action', () => {
  it('knows the Settings action and is version 4', () => {
    assert.equal(SCHEMA_VERSION, 4);
    assert.ok(LOG_ACTIONS.includes('Settings'));
  });

  it('migrates a v3 log book in place: every row and column kept, ids never reused, Settings rows stored', () => {
    const file = freshFile();
    writeV3Book(file);
    const before = new DatabaseSync(file, { readOnly: true });
    const rowsBefore = before.prepare('SELECT * FROM log_entry ORDER BY id').all();
    before.close();

    const book = openLogBook(file);
    try {
      assert.deepEqual(book.latest().map((r) => [r.id, r.action, r.fileName]), [[3, 'Retry', 'a.zip'], [2, 'Send', 'a.zip'], [1, 'Receive', 'study~1']]);
      const [, sent, received] = book.latest();
      assert.deepEqual(
        [received.patientName, received.crids, received.folder, received.callingAeTitle, received.peerAddress, received.receivingMs, received.zippingMs],
        ['DOE^JANE', [A], 'Inbox_Manual', 'MOD1', '10.0.0.5', 1500, 20],
      );
      assert.deepEqual([sent.reason, sent.sendingMs, sent.peerAddress], ['association rejected', 700, '10.0.0.9:104']);
      const audit = book.add({ action: 'Settings', status: 'Success', reason: 'receive.port: 11112 → 11113', peerAddress: '127.0.0.1' });
      assert.equal(audit.id, 6, 'ids 4 and 5 (deleted) are not reused');
      assert.deepEqual(book.query({ action: 'Settings' }).map((r) => r.id), [6]);
      assert.deepEqual(book.failedMoves('Outbox_Failed').map((m) => m.name), ['a.zip']);
    } finally {
      book.close();
    }

    const raw = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal(pragma(raw, 'user_version'), 4);
      assert.equal(pragma(raw, 'integrity_check'), 'ok');
      assert.deepEqual(raw.prepare('SELECT * FROM log_entry WHERE id <= 3 ORDER BY id').all(), rowsBefore);
      const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
      assert.deepEqual(tables, ['failed_item', 'log_entry', 'sqlite_sequence']);
      const indexes = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log_entry'").all().map((r) => r.name);
      assert.ok(indexes.includes('log_entry_timestamp'), `indexes: ${indexes.join(', ')}`);
      const ddl = String(raw.prepare("SELECT sql FROM sqlite_master WHERE name = 'log_entry'").get()?.sql);
      assert.match(ddl, /'Settings'/);
    } finally {
      raw.close();
    }
    // Opening again does not migrate twice.
    const again = openLogBook(file);
    try {
      assert.equal(again.latest().length, 4);
    } finally {
      again.close();
    }
  });

  it('a failing migration leaves the v3 log book as it was', () => {
    const file = freshFile();
    writeV3Book(file);
    const raw = new DatabaseSync(file);
    // A leftover table of the name the migration needs makes it fail half-way.
    raw.exec('CREATE TABLE log_entry_v4 (x INTEGER)');
    raw.close();
    assert.throws(() => openLogBook(file));
    const check = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal(pragma(check, 'user_version'), 3);
      assert.deepEqual(check.prepare('SELECT id FROM log_entry ORDER BY id').all().map((r) => r.id), [1, 2, 3]);
      assert.match(String(check.prepare("SELECT sql FROM sqlite_master WHERE name = 'log_entry'").get()?.sql), /'Retry'\)/);
    } finally {
      check.close();
    }
  });

  it('a new log book takes Settings rows with the requesting address', () => {
    const book = openLogBook(freshFile());
    try {
      const row = book.add({ action: 'Settings', status: 'Failed', reason: 'Not saved: receive.port: in use\nreceive.port: 1 → 2', peerAddress: '::1' });
      assert.deepEqual(book.latest(1), [row]);
      assert.deepEqual([row.action, row.status, row.peerAddress], ['Settings', 'Failed', '::1']);
    } finally {
      book.close();
    }
  });
});
