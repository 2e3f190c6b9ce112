// The admin GUI's pure formatters (src/web/client/format.ts): DICOM dates and names, log book
// timestamps, byte counts, as the Log Book and the status strip show them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// Fixed zone for the local-time formatter; Node re-reads TZ when it changes.
process.env.TZ = 'Europe/Berlin';

const { formatBytes, formatCrids, formatDicomDate, formatMs, formatPersonName, formatTimestamp, countSettings } =
  await import('../../../../src/web/client/format.js');

test('DA and ISO dates become dd/mm/yyyy; empty and malformed values stay raw', () => {
  assert.equal(formatDicomDate('19290505'), '05/05/1929');
  assert.equal(formatDicomDate('1929-05-05'), '05/05/1929');
  assert.equal(formatDicomDate(''), '');
  assert.equal(formatDicomDate('1950'), '1950');
  assert.equal(formatDicomDate('19291305'), '19291305');
  assert.equal(formatDicomDate('2004072'), '2004072');
  assert.equal(formatDicomDate('<b>x</b>'), '<b>x</b>');
});

test('timestamps are shown in local time as dd/mm/yyyy HH:MM:SS', () => {
  assert.equal(formatTimestamp('2026-11-27T01:02:03.456Z'), '27/11/2026 02:02:03'); // CET
  assert.equal(formatTimestamp('2026-07-01T22:30:00Z'), '02/07/2026 00:30:00'); // CEST, next day
  assert.equal(formatTimestamp('not a date'), 'not a date');
});

test('PN values are made readable; anything without ^ is shown exactly', () => {
  assert.equal(formatPersonName('HOLTZMANN^Carsten'), 'HOLTZMANN, Carsten');
  assert.equal(formatPersonName('DOE^John^Paul^Dr.^Jr.'), 'Dr. DOE, John Paul Jr.');
  assert.equal(formatPersonName('DOE^'), 'DOE');
  assert.equal(formatPersonName('^John'), 'John');
  assert.equal(formatPersonName('YAMADA^Tarou=山田^太郎'), 'YAMADA, Tarou = 山田, 太郎');
  assert.equal(formatPersonName('HOLTZMANN, Carsten'), 'HOLTZMANN, Carsten');
  assert.equal(formatPersonName('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>');
  assert.equal(formatPersonName(''), '');
});

test('byte counts use decimal units with three significant digits', () => {
  assert.equal(formatBytes(52_100_000_000), '52.1 GB');
  assert.equal(formatBytes(252_000_000_000), '252 GB');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1_500), '1.5 kB');
  assert.equal(formatBytes(5_000_000_000), '5 GB');
  assert.equal(formatBytes(999_600_000), '1 GB');
  assert.equal(formatBytes(-1), '?');
  assert.equal(formatBytes(Number.NaN), '?');
});

test('CRIDs, round-trip times and counts read naturally', () => {
  assert.equal(formatCrids(['1234567890123456', '6543210987654321']), 'CRID#1234567890123456 CRID#6543210987654321');
  assert.equal(formatCrids([]), '');
  assert.equal(formatMs(3.24), '3.2');
  assert.equal(formatMs(21.4), '21');
  assert.equal(countSettings(1), '1 setting needs');
  assert.equal(countSettings(2), '2 settings need');
});
