// The "In progress" panel's texts (src/web/client/progress-text.ts): the countdown from the
// bridge's times, entries done of total, instances sent of total, attempt and next retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { receivingTexts, zippingTexts, sendingTexts, moreText, formatRate } = await import('../../../../src/web/client/progress-text.js');

const now = 1_800_000_000_000;
const receiving = {
  id: 's1', patientName: 'HOLTZMANN^Carsten', studyDate: '20040722', modality: 'CT', callingAeTitle: 'PACS1',
  instances: 42, bytes: 3_400_000, lastArrival: now - 3000, quietMs: 15_000, quietEndsAt: now + 12_000, recovered: false,
};

test('a study being received: patient as the Log Book shows it, counts, sender, countdown to zipping', () => {
  const t = receivingTexts(receiving, now);
  assert.equal(t.kind, 'Receiving');
  assert.equal(t.title, 'HOLTZMANN, Carsten');
  assert.equal(t.meta, 'CT · 22/07/2004');
  assert.equal(t.detail, '42 instances · 3.4 MB so far · from PACS1');
  assert.deepEqual(t.bar, { value: 3000, max: 15_000, text: 'zipping in 12 s' });
  assert.equal(receivingTexts(receiving, now + 11_500).bar.text, 'zipping in 1 s');
  assert.equal(receivingTexts(receiving, now + 12_000).bar.text, 'zipping now');
  assert.equal(receivingTexts({ ...receiving, quietEndsAt: null }, now).bar.text, 'receiving an instance');
  assert.equal(receivingTexts({ ...receiving, patientName: '' }, now).title, '(patient not yet known)');
});

test('a study being zipped: entries done of total', () => {
  const item = { id: 's1', patientName: 'DOE^Jane', studyDate: '', modality: 'MR', state: 'zipping' as const, entriesDone: 12, entriesTotal: 300 };
  const t = zippingTexts(item);
  assert.equal(t.title, 'DOE, Jane');
  assert.deepEqual(t.bar, { value: 12, max: 300, text: 'entries done 12 / 300' });
  assert.equal(zippingTexts({ ...item, state: 'waiting', entriesTotal: 0 }).bar.text, 'waiting to be zipped');
});

test('a ZIP being sent: instances sent of total, rate, attempt n of m, next retry', () => {
  const item = {
    id: 'c1', zipName: 'DOE_Jane_CT.zip', patientName: 'DOE, Jane', studyDate: '20040722', modality: 'CT', state: 'sending' as const,
    instancesSent: 7, instancesFailed: 0, instancesTotal: 20, bytesSent: 7_000_000, bytesPerSecond: 1_500_000, attempt: 1, attempts: 3, nextRetryAt: null,
  };
  const t = sendingTexts(item, now);
  assert.equal(t.title, 'DOE_Jane_CT.zip');
  assert.equal(t.meta, 'DOE, Jane · CT · 22/07/2004');
  assert.deepEqual(t.bar, { value: 7, max: 20, text: 'instances sent 7 / 20' });
  assert.equal(t.detail, 'attempt 1 of 3 · 1.5 MB/s · 7 MB sent');
  const waiting = sendingTexts({ ...item, state: 'retry-wait', attempt: 2, instancesFailed: 1, nextRetryAt: now + 4200 }, now);
  assert.match(waiting.detail, /^attempt 2 of 3 · 7 MB sent · 1 refused · next retry at \d{2}:\d{2}:\d{2} \(in 5 s\)$/);
  assert.equal(sendingTexts({ ...item, state: 'opening', attempt: 0, attempts: 0 }, now).bar.text, 'opening the ZIP');
  assert.doesNotMatch(sendingTexts({ ...item, state: 'retry-wait', attempt: 0, attempts: 0, nextRetryAt: now + 1000 }, now).detail, /attempt/);
});

test('rates and the "and N more" line', () => {
  assert.equal(formatRate(0), '0 MB/s');
  assert.equal(formatRate(250_000), '0.25 MB/s');
  assert.equal(formatRate(25_000_000), '25 MB/s');
  assert.equal(moreText(0), '');
  assert.equal(moreText(3), 'and 3 more');
});
