/**
 * The Log Book's HTTP routes (issue 11 points 2 and 3): filters and keyset paging of
 * GET /api/logbook, the CSV export, and POST /api/retry behind the write guard, refusing names
 * that are not one item of the failed folder; an Inbox_Failed study retried is zipped again.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLogBook } from '../../src/logbook/logbook.js';
import type { LogEntry } from '../../src/logbook/schema.js';
import { csvField } from '../../src/web/routes/logbook.js';
import { list, nextStudies, removeDir, tempDir } from '../support/bridge-harness.js';
import { pageToken, rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { writeStudy } from '../support/study-files.js';

function jsonHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', 'x-dicombridge-token': token, ...extra };
}

describe('Log Book routes over HTTP', () => {
  let dir: string;
  let app: GuiUnderTest;
  let port: number;
  let token: string;
  let store: string;

  before(async () => {
    dir = await tempDir();
    store = join(dir, 'store');
    app = await startGui(store);
    port = app.gui.port;
    token = await pageToken(port);
    // Rows on three days, written through a second connection with its own clock (as a
    // second process would), then rows of today through the bridge's own log book.
    let t = Date.UTC(2026, 5, 1, 10);
    const other = openLogBook(join(store, 'Logs', 'logbook.sqlite'), { now: () => new Date(t) });
    other.add({ action: 'Receive', status: 'Success', patientName: 'MÜLLER, Jürgen', fileName: 'a.zip', folder: 'Inbox_Manual' });
    t += 86_400_000;
    other.add({ action: 'Send', status: 'Failed', patientName: 'DOE, Jane', fileName: 'b.zip', folder: 'Outbox_Failed', reason: '=HYPERLINK("x"), "quoted"\nline 2' });
    t += 86_400_000;
    other.add({ action: 'Echo', status: 'Success', fileName: 'PACS@127.0.0.1:104' });
    other.close();
  });
  after(async () => {
    await app?.stop();
    await removeDir(dir);
  });

  const entries = async (query: string): Promise<{ entries: LogEntry[]; hasMore: boolean }> => {
    const res = await rawRequest(port, 'GET', `/api/logbook${query}`);
    assert.equal(res.status, 200, res.body);
    return res.json() as { entries: LogEntry[]; hasMore: boolean };
  };

  it('filters by text, action, status and dates, and pages with before=', async () => {
    assert.deepEqual((await entries('')).entries.map((e) => e.fileName), ['PACS@127.0.0.1:104', 'b.zip', 'a.zip']);
    assert.deepEqual((await entries('?q=j%C3%BCrgen')).entries.map((e) => e.fileName), ['a.zip']);
    assert.deepEqual((await entries('?action=Send')).entries.map((e) => e.fileName), ['b.zip']);
    assert.deepEqual((await entries('?status=Success')).entries.map((e) => e.fileName), ['PACS@127.0.0.1:104', 'a.zip']);
    assert.deepEqual((await entries('?from=2026-06-02&to=2026-06-02')).entries.map((e) => e.fileName), ['b.zip']);
    assert.deepEqual((await entries('?from=2026-06-02T00:00:00.000Z')).entries.map((e) => e.fileName), ['PACS@127.0.0.1:104', 'b.zip']);
    const first = await entries('?limit=2');
    assert.equal(first.hasMore, true);
    const next = await entries(`?limit=2&before=${first.entries[1].id}`);
    assert.deepEqual(next.entries.map((e) => e.fileName), ['a.zip']);
    assert.equal(next.hasMore, false);
    assert.equal(first.entries[0].folder, '');
    assert.equal(next.entries[0].folder, 'Inbox_Manual');
  });

  it('refuses bad filters', async () => {
    for (const query of ['?limit=501', '?action=Drop', '?status=ok', '?from=yesterday', '?before=-1', `?q=${'x'.repeat(201)}`]) {
      assert.equal((await rawRequest(port, 'GET', `/api/logbook${query}`)).status, 400, query);
    }
  });

  it('exports the filtered rows as CSV: BOM, header, umlauts, RFC 4180 quoting, formula guard', async () => {
    const res = await rawRequest(port, 'GET', '/api/logbook.csv?q=e');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv; charset=utf-8/);
    assert.match(String(res.headers['content-disposition']), /^attachment; filename="dicombridge-logbook-\d{8}-\d{4}\.csv"$/);
    assert.ok(res.body.startsWith('\uFEFF'), 'byte order mark');
    const lines = res.body.slice(1).split('\r\n');
    assert.equal(lines[0], 'Timestamp,Patient Name,Birthday,Study Date,Modality,# Instances,Study Description,Action,Status,CRID,Reason,File Name,Folder,Study Instance UID,Calling AE Title,Peer Address,Receiving (ms),Zipping (ms),Sending (ms)');
    assert.ok(res.body.includes(',"DOE, Jane",'), 'a comma is quoted');
    assert.ok(res.body.includes(`,"'=HYPERLINK(""x""), ""quoted""\nline 2",`), 'formula guarded, quotes doubled, line break kept inside quotes');
    assert.ok(res.body.includes(',"MÜLLER, Jürgen",'));
    assert.equal(lines.at(-1), '', 'ends with CRLF');
    // All three rows match "e"; a filter that matches one exports one.
    const one = await rawRequest(port, 'GET', '/api/logbook.csv?action=Echo');
    assert.equal(one.body.slice(1).split('\r\n').filter((l) => l !== '').length, 2);
    assert.equal(csvField('-1+1'), "'-1+1");
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField(-1), '-1', 'numbers are numbers');
  });

  it('retry is a write: refused without the token and from another origin', async () => {
    assert.equal((await rawRequest(port, 'POST', '/api/retry', { 'content-type': 'application/json' }, { kind: 'outbox', name: 'b.zip' })).status, 403);
    assert.equal((await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token, { origin: 'http://attacker.example' }), { kind: 'outbox', name: 'b.zip' })).status, 403);
    assert.equal((await rawRequest(port, 'GET', '/api/retry')).status, 405);
  });

  it('retry refuses names that are not one item of the failed folder (no traversal)', async () => {
    await mkdir(join(store, 'Outbox_Auto'), { recursive: true });
    await writeFile(join(store, 'Outbox_Auto', 'pending.zip'), 'x');
    await writeFile(join(store, 'secret.zip'), 'x');
    await symlink(join(store, 'secret.zip'), join(store, 'Outbox_Failed', 'link.zip'));
    for (const name of ['../secret.zip', '..', '.', '', 'a/b', '..\\secret.zip', 'x\0.zip', '/etc/passwd', 42, null]) {
      const res = await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token), { kind: 'outbox', name });
      assert.equal(res.status, 400, `name ${JSON.stringify(name)}: ${res.body}`);
    }
    for (const [kind, name] of [['outbox', 'missing.zip'], ['outbox', 'link.zip'], ['inbox', 'missing'], ['inbox', 'link.zip']]) {
      const res = await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token), { kind, name });
      assert.ok([400, 404].includes(res.status), `${kind} ${name}: ${res.status}`);
    }
    assert.equal((await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token), { kind: 'elsewhere', name: 'x' })).status, 400);
    assert.deepEqual(await list(join(store, 'Outbox_Auto')), ['pending.zip']);
  });

  it('an Outbox_Failed ZIP goes back to Outbox_Auto under a free name, with a Retry row and its record dropped', async () => {
    const book = app.supervisor.bridge.logBook;
    await writeFile(join(store, 'Outbox_Failed', 'pending.zip'), 'zip bytes');
    book.recordFailedMove('Outbox_Failed', 'pending.zip');
    const res = await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token), { kind: 'outbox', name: 'pending.zip' });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(res.json(), { kind: 'outbox', name: 'pending (2).zip', movedTo: 'Outbox_Auto' });
    assert.deepEqual(await list(join(store, 'Outbox_Auto')), ['pending (2).zip', 'pending.zip'], 'the ZIP already there is not overwritten');
    assert.ok(!(await list(join(store, 'Outbox_Failed'))).includes('pending.zip'));
    assert.deepEqual(book.failedMoves('Outbox_Failed').map((m) => m.name), []);
    const [row] = book.latest(1);
    assert.deepEqual([row.action, row.status, row.fileName, row.folder], ['Retry', 'Success', 'pending (2).zip', 'Outbox_Auto']);
  });

  it('an Inbox_Failed study folder is zipped again: success leaves Inbox_Failed, a failure goes back with a new reason', async () => {
    const bridge = app.supervisor.bridge;
    const book = bridge.logBook;
    // A study folder as a failed completion leaves it: the received Part 10 files.
    const good = join(store, 'Inbox_Failed', 'study-good~x');
    await writeStudy(good, { count: 2, patientName: 'RETRY^Rita' });
    book.recordFailedMove('Inbox_Failed', 'study-good~x');
    const done = nextStudies(bridge, 1);
    const res = await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token), { kind: 'inbox', name: 'study-good~x' });
    assert.equal(res.status, 200, res.body);
    const [outcome] = await done;
    assert.equal(outcome.status, 'Success');
    assert.equal(outcome.inbox, 'Inbox_Manual');
    assert.ok(!(await list(join(store, 'Inbox_Failed'))).includes('study-good~x'));
    assert.equal((await list(join(store, 'Inbox_Manual'))).length, 1);
    assert.deepEqual(book.failedMoves('Inbox_Failed'), []);
    const [receive, retry] = book.latest(2);
    assert.deepEqual([retry.action, retry.fileName, retry.folder], ['Retry', 'study-good~x', 'Inbox_Failed']);
    assert.deepEqual([receive.action, receive.status, receive.patientName, receive.instances, receive.folder], ['Receive', 'Success', 'RETRY, Rita', 2, 'Inbox_Manual']);
    assert.equal(typeof receive.zippingMs, 'number');

    const bad = join(store, 'Inbox_Failed', 'study-bad');
    await mkdir(bad);
    await writeFile(join(bad, 'x.dcm'), 'not DICOM');
    book.recordFailedMove('Inbox_Failed', 'study-bad', new Date(Date.UTC(2020, 0, 1)));
    const failed = nextStudies(bridge, 1);
    assert.equal((await rawRequest(port, 'POST', '/api/retry', jsonHeaders(token), { kind: 'inbox', name: 'study-bad' })).status, 200);
    const [again] = await failed;
    assert.equal(again.status, 'Failed');
    assert.ok((await list(join(store, 'Inbox_Failed'))).includes('study-bad'), 'back in Inbox_Failed');
    const [record] = book.failedMoves('Inbox_Failed');
    assert.equal(record.name, 'study-bad');
    assert.ok(Date.parse(record.movedAt) > Date.UTC(2025, 0, 1), 'its retention clock restarted with the new failure');
    const [row] = book.latest(1);
    assert.deepEqual([row.action, row.status, row.folder], ['Receive', 'Failed', 'Inbox_Failed']);
    assert.match(row.reason ?? '', /zipping failed/);
  });
});
