// The Log Book's filters as the page sends them (src/web/client/logbook-filters.ts), and the
// same test for rows arriving live, which must agree with the server's query.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// Fixed zone: the date range is the browser's local days.
process.env.TZ = 'Europe/Berlin';

const { filterParams, isFiltered, localDayStart, matchesFilter, searchWords, EMPTY_FILTER } =
  await import('../../../../src/web/client/logbook-filters.js');

test('the date range is sent as the instants where the local days begin and end', () => {
  assert.equal(localDayStart('2026-02-01'), '2026-01-31T23:00:00.000Z');
  assert.equal(localDayStart('2026-02-28', 1), '2026-02-28T23:00:00.000Z');
  assert.equal(localDayStart('2026-07-01'), '2026-06-30T22:00:00.000Z');
  assert.equal(localDayStart(''), null);
  assert.equal(localDayStart('yesterday'), null);
  const params = filterParams({ q: '  DOE, Jane ', action: 'Send', status: '', from: '2026-02-01', to: '2026-02-28' });
  assert.equal(params.toString(), 'q=DOE%2C+Jane&action=Send&from=2026-01-31T23%3A00%3A00.000Z&to=2026-02-28T23%3A00%3A00.000Z');
  assert.equal(filterParams(EMPTY_FILTER).toString(), '');
  assert.equal(isFiltered(EMPTY_FILTER), false);
  assert.equal(isFiltered({ ...EMPTY_FILTER, to: '2026-01-01' }), true);
});

test('a live row is shown only if the filter would show it', () => {
  const row = {
    timestamp: '2026-02-10T10:00:00.000Z', action: 'Receive', status: 'Failed', patientName: 'MÜLLER^Jürgen',
    crids: ['1234567890123456'], reason: 'zipping failed: disk full', fileName: 'study~1', folder: 'Inbox_Failed',
    callingAeTitle: 'CT_1', peerAddress: '10.0.0.7',
  };
  const f = (over: Record<string, string>) => ({ ...EMPTY_FILTER, ...over });
  assert.deepEqual(searchWords('DOE, Jane'), ['doe', 'jane']);
  assert.equal(matchesFilter(row, EMPTY_FILTER), true);
  assert.equal(matchesFilter(row, f({ q: 'müller, JÜRGEN' })), true);
  assert.equal(matchesFilter(row, f({ q: 'CRID#1234' })), true);
  assert.equal(matchesFilter(row, f({ q: 'ct_1 10.0.0.7 inbox_failed disk' })), true);
  assert.equal(matchesFilter(row, f({ q: 'doe' })), false);
  assert.equal(matchesFilter(row, f({ action: 'Send' })), false);
  assert.equal(matchesFilter(row, f({ status: 'Failed' })), true);
  assert.equal(matchesFilter(row, f({ from: '2026-02-10', to: '2026-02-10' })), true);
  assert.equal(matchesFilter(row, f({ from: '2026-02-11' })), false);
  assert.equal(matchesFilter(row, f({ to: '2026-02-09' })), false);
});
