// The "In progress" model (src/bridge/progress/registry.ts): what a snapshot holds for each
// stage, when listeners hear of changes, and the bound on the lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressRegistry } from '../../../../src/bridge/progress/registry.js';

/** A clock the test moves by hand. */
function fakeNow(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const LABEL = { patientName: 'DOE, Jane', studyDate: '20040722', modality: 'CT' };

describe('ProgressRegistry', () => {
  it('a study being received: counts, label, calling AE title and the end of its quiet time', () => {
    const clock = fakeNow();
    const registry = new ProgressRegistry({ now: clock.now });
    const study = registry.startReceiving('1.2.3_abc~x-1', { quietMs: 5000 });
    study.timing(1, clock.now(), 5000);
    assert.equal(registry.snapshot().receiving.items[0]!.quietEndsAt, null, 'no countdown while an instance is being received');
    study.placed(1000, LABEL, 'PACS1');
    study.placed(500, { ...LABEL, patientName: 'OTHER', modality: 'PR' }, 'OTHER_AE');
    clock.advance(200);
    study.timing(0, clock.now(), 5000);
    const snapshot = registry.snapshot();
    assert.equal(snapshot.now, clock.now());
    assert.deepEqual(snapshot.receiving, {
      items: [{
        id: '1.2.3_abc~x-1',
        patientName: 'DOE, Jane',
        studyDate: '20040722',
        modality: 'CT-PR',
        callingAeTitle: 'PACS1',
        instances: 2,
        bytes: 1500,
        lastArrival: clock.now(),
        quietMs: 5000,
        quietEndsAt: clock.now() + 5000,
        recovered: false,
      }],
      more: 0,
    });
    study.end();
    assert.deepEqual(registry.snapshot().receiving.items, []);
  });

  it('a study handed over for zipping keeps its label and counts entries done of total', () => {
    const registry = new ProgressRegistry();
    const received = registry.startReceiving('s1', { quietMs: 1000 });
    received.placed(10, LABEL, 'PACS1');
    const zipping = registry.startZipping('s1');
    received.end();
    let snapshot = registry.snapshot();
    assert.deepEqual(snapshot.receiving.items, []);
    assert.deepEqual(snapshot.zipping.items, [{ id: 's1', patientName: 'DOE, Jane', studyDate: '20040722', modality: 'CT', state: 'waiting', entriesDone: 0, entriesTotal: 0 }]);
    zipping.started(3);
    zipping.entryDone();
    zipping.entryDone();
    snapshot = registry.snapshot();
    assert.equal(snapshot.zipping.items[0]!.state, 'zipping');
    assert.equal(snapshot.zipping.items[0]!.entriesDone, 2);
    assert.equal(snapshot.zipping.items[0]!.entriesTotal, 3);
    zipping.end();
    assert.deepEqual(registry.snapshot().zipping.items, []);
  });

  it('a ZIP being sent: instances sent of total, bytes, rate over the attempt, attempt n of m, next retry', () => {
    const clock = fakeNow();
    const registry = new ProgressRegistry({ now: clock.now });
    const send = registry.startSending('20261204T1_X.zip', 'X.zip');
    assert.equal(registry.snapshot().sending.items[0]!.state, 'opening');
    send.opened(4);
    send.attempt(1, 3);
    send.describe(LABEL);
    send.answered(1_000_000, true);
    send.answered(500, false);
    clock.advance(2000);
    let item = registry.snapshot().sending.items[0]!;
    assert.equal(item.zipName, 'X.zip');
    assert.equal(item.patientName, 'DOE, Jane');
    assert.equal(item.instancesSent, 1);
    assert.equal(item.instancesFailed, 1);
    assert.equal(item.instancesTotal, 4);
    assert.equal(item.bytesSent, 1_000_000);
    assert.equal(item.bytesPerSecond, 500_000);
    assert.equal(item.attempt, 1);
    assert.equal(item.attempts, 3);
    assert.equal(item.nextRetryAt, null);
    send.retryIn(4000);
    item = registry.snapshot().sending.items[0]!;
    assert.equal(item.state, 'retry-wait');
    assert.equal(item.nextRetryAt, clock.now() + 4000);
    assert.equal(item.bytesPerSecond, 0, 'no rate while waiting');
    send.attempt(2, 3);
    item = registry.snapshot().sending.items[0]!;
    assert.equal(item.state, 'sending');
    assert.equal(item.attempt, 2);
    assert.equal(item.nextRetryAt, null);
    assert.equal(item.instancesSent, 1, 'what was stored stays counted');
    send.end();
    assert.deepEqual(registry.snapshot().sending.items, []);
  });

  it('shows at most maxShown items per list and counts the rest', () => {
    const registry = new ProgressRegistry({ maxShown: 100 });
    for (let i = 0; i < 130; i += 1) registry.startReceiving(`s${i}`, { quietMs: 1000 });
    const { receiving } = registry.snapshot();
    assert.equal(receiving.items.length, 100);
    assert.equal(receiving.more, 30);
    assert.equal(receiving.items[0]!.id, 's0', 'oldest first');
  });

  it('tells listeners once per snapshot taken, not once per instance', () => {
    const registry = new ProgressRegistry();
    let calls = 0;
    const off = registry.onChange(() => (calls += 1));
    const study = registry.startReceiving('s1', { quietMs: 1000 });
    for (let i = 0; i < 300; i += 1) study.placed(100, LABEL, 'PACS1');
    assert.equal(calls, 1);
    registry.snapshot();
    study.placed(100, LABEL, 'PACS1');
    assert.equal(calls, 2);
    off();
    registry.snapshot();
    study.placed(100, LABEL, 'PACS1');
    assert.equal(calls, 2);
  });

  it('a listener that throws does not reach the caller', () => {
    const registry = new ProgressRegistry();
    registry.onChange(() => {
      throw new Error('listener bug');
    });
    assert.doesNotThrow(() => registry.startReceiving('s1', { quietMs: 1000 }).placed(1, LABEL, 'A'));
  });

  it('ending an item that was replaced under the same id leaves the new one', () => {
    const registry = new ProgressRegistry();
    const first = registry.startZipping('s1');
    registry.startZipping('s1');
    first.end();
    assert.equal(registry.snapshot().zipping.items.length, 1);
  });
});
