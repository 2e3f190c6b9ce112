/**
 * The console's readable lines (SPEC §6, foreground on a terminal): given pino records, the
 * exact lines; other info lines left out; colour only when asked, never the only signal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { createConsolePretty, formatConsoleLine, wantsColour, wantsPrettyConsole, type LogRecord } from '../../../src/cli/console-pretty.js';

/** 20:37:38 local time, whatever the machine's zone: the lines show local time. */
const TIME = new Date(2026, 11, 4, 20, 37, 38).toISOString();
const plain = (record: LogRecord) => formatConsoleLine({ time: TIME, level: 30, ...record }, { colour: false });

describe('formatConsoleLine', () => {
  it('a received study: modality, patient, instances, calling AE title, inbox and ZIP name', () => {
    assert.equal(
      plain({ msg: 'study zipped', study: 'k~1', zip: '/data/Inbox_Manual/DOE, Jane_19700101_CT_20261204.zip', inbox: 'Inbox_Manual', instances: 12, crids: [], patientName: 'DOE, Jane', modality: 'CT', callingAet: ['PACS1'] }),
      '20:37:38 received CT study DOE, Jane (12 instances) from PACS1 → Inbox_Manual/DOE, Jane_19700101_CT_20261204.zip',
    );
    assert.equal(
      plain({ msg: 'study zipped', zip: 'C:\\data\\Inbox_Auto\\X.zip', inbox: 'Inbox_Auto', instances: 1, patientName: '', modality: '', callingAet: [] }),
      '20:37:38 received study (no patient name) (1 instance) → Inbox_Auto/X.zip',
    );
  });

  it('a study that failed, with its reason', () => {
    assert.equal(
      plain({ level: 50, msg: 'study failed', movedTo: '/data/Inbox_Failed/k~1', inbox: 'Inbox_Failed', instances: 3, reason: 'zipping failed: ENOSPC', patientName: 'DOE, Jane', modality: 'MR', callingAet: ['A', 'B'], err: { message: 'ENOSPC' } }),
      '20:37:38 FAILED receiving MR study DOE, Jane (3 instances) from A, B → Inbox_Failed/k~1: zipping failed: ENOSPC',
    );
  });

  it('a ZIP sent, and one not sent', () => {
    assert.equal(
      plain({ msg: 'ZIP sent', zip: 'DOE^JANE_CT.zip', instances: 12, sent: 12, calledAet: 'PACS', peer: '10.0.0.5:104' }),
      '20:37:38 sent DOE^JANE_CT.zip to PACS at 10.0.0.5:104 (12 instances)',
    );
    assert.equal(
      plain({ level: 50, msg: 'ZIP not sent', zip: 'X.zip', instances: 12, sent: 3, reason: 'the PACS refused: out of resources (A700)', movedTo: '/d/Outbox_Failed/X (2).zip', calledAet: 'PACS', peer: '10.0.0.5:104' }),
      '20:37:38 FAILED sending X.zip to PACS at 10.0.0.5:104 (3 of 12 instances stored): the PACS refused: out of resources (A700) → Outbox_Failed/X (2).zip',
    );
  });

  it('echo lines, both ways', () => {
    assert.equal(
      plain({ msg: 'C-ECHO answered: Success', assoc: 'a1', peer: '127.0.0.1:5000', callingAet: 'ECHOSCU', status: 0 }),
      '20:37:38 echo from ECHOSCU (127.0.0.1:5000) answered: Success',
    );
    assert.equal(plain({ msg: 'echo: C-ECHO succeeded', peer: '10.0.0.5:104', calledAet: 'PACS', rttMs: 3.4 }), '20:37:38 echo to PACS at 10.0.0.5:104 succeeded in 3 ms');
    assert.equal(
      plain({ level: 40, msg: 'echo: connection refused by 10.0.0.5:104', peer: '10.0.0.5:104', calledAet: 'PACS' }),
      '20:37:38 FAILED echo to PACS at 10.0.0.5:104: connection refused by 10.0.0.5:104',
    );
  });

  it('start and stop lines', () => {
    assert.equal(
      plain({ msg: 'DicomBridge running', version: '0.1.0', receivePort: 11112, gui: 'http://127.0.0.1:8104/', storageFolder: '/data' }),
      '20:37:38 DicomBridge 0.1.0 started: DICOM on port 11112, admin GUI http://127.0.0.1:8104/',
    );
    assert.equal(
      plain({ msg: 'stopping: no new associations; open ones may finish within the drain time', signal: 'SIGINT', drainMs: 10000 }),
      '20:37:38 stopping (SIGINT): no new associations; open ones may finish within the drain time',
    );
    assert.equal(plain({ msg: 'no browser opened; open the GUI address by hand', err: 'spawn xdg-open ENOENT' }), '20:37:38 no browser opened; open the GUI address by hand (spawn xdg-open ENOENT)');
    assert.equal(plain({ msg: 'stopped gracefully; staged studies are completed at the next start', stagedStudies: 0 }), '20:37:38 stopped gracefully; staged studies are completed at the next start');
  });

  it('other warnings and errors in words; other info lines left to the log file', () => {
    assert.equal(plain({ level: 40, msg: 'send failed; retrying', zip: 'X.zip', reason: 'connection refused' }), '20:37:38 warning send failed; retrying [X.zip]: connection refused');
    assert.equal(plain({ level: 50, msg: 'Outbox_Auto scan failed', err: { message: 'EACCES' } }), '20:37:38 ERROR Outbox_Auto scan failed: EACCES');
    assert.equal(plain({ msg: 'C-STORE answered: Success', sopInstanceUid: '1.2.3' }), null);
    assert.equal(plain({ msg: 'association accepted' }), null);
    assert.equal(plain({ level: 20, msg: 'anything' }), null);
  });

  it('colours only when asked, and the words stay', () => {
    const record = { time: TIME, level: 50, msg: 'ZIP not sent', zip: 'X.zip', instances: 1, sent: 0, reason: 'r' };
    const coloured = formatConsoleLine(record, { colour: true }) ?? '';
    assert.ok(coloured.includes('\u001b[31m'), 'FAILED in red');
    assert.equal(stripVTControlCharacters(coloured), formatConsoleLine(record, { colour: false }));
    assert.ok(!(formatConsoleLine(record, { colour: false }) ?? '').includes('\u001b'));
  });
});

describe('createConsolePretty', () => {
  it('writes one line per shown record, nothing for hidden ones, and unparsable text as it is', () => {
    const out: string[] = [];
    const dest = createConsolePretty({ write: (s: string) => out.push(s) }, { colour: false });
    dest.write(`${JSON.stringify({ time: TIME, level: 30, msg: 'ZIP sent', zip: 'A.zip', instances: 2 })}\n`);
    dest.write(`${JSON.stringify({ time: TIME, level: 30, msg: 'association accepted' })}\n`);
    dest.write('not json');
    assert.deepEqual(out, ['20:37:38 sent A.zip (2 instances)\n', 'not json\n']);
  });
});

describe('console choice', () => {
  it('readable only in the foreground on a terminal', () => {
    assert.equal(wantsPrettyConsole(false, { isTTY: true }), true);
    assert.equal(wantsPrettyConsole(true, { isTTY: true }), false, '-s keeps JSON');
    assert.equal(wantsPrettyConsole(false, { isTTY: false }), false, 'a pipe keeps JSON');
    assert.equal(wantsPrettyConsole(false, {}), false);
  });

  it('colour only on a colour terminal without NO_COLOR', () => {
    const tty = { isTTY: true, hasColors: () => true };
    assert.equal(wantsColour(tty, {}), true);
    assert.equal(wantsColour(tty, { NO_COLOR: '1' }), false);
    assert.equal(wantsColour({ isTTY: true, hasColors: () => false }, {}), false);
    assert.equal(wantsColour({ isTTY: false }, {}), false);
  });
});
