/**
 * The metrics module: the Prometheus text format 0.0.4 writer (layout, escaping, checks), the
 * per-bridge counters with live and retired receivers, the sums the Supervisor carries across
 * restarts, and the bridge's metric families.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addCounts,
  bridgeMetricFamilies,
  BridgeCounters,
  emptyCounts,
  escapeLabelValue,
  formatExposition,
  renderMetrics,
  type BridgeCounts,
} from '../../../src/bridge/metrics.js';
import type { BridgeStatus } from '../../../src/bridge/status.js';
import type { AcceptorStats } from '../../../src/dicom/ul/acceptor.js';

function status(overrides: Partial<BridgeStatus> = {}): BridgeStatus {
  return {
    version: '1.2.3',
    receiving: { enabled: true, listening: true, host: '127.0.0.1', port: 11112, aeTitle: '' },
    sending: { enabled: false, host: '', port: 104, calledAeTitle: '' },
    activeAssociations: 2,
    studiesInProgress: 3,
    outboxWaiting: 4,
    outboxUnreadable: 0,
    failed: { inbox: 5, outbox: 6 },
    disk: { path: '/data', freeBytes: 7_000_000, totalBytes: 9_000_000, low: false },
    storageFolder: '/data',
    ...overrides,
  };
}

function stats(accepted: number, rejected: Record<string, number> = {}): AcceptorStats {
  return { accepted, rejected, ended: { released: accepted, aborted: 0, closed: 0 }, connectionsRefused: 0 };
}

/** The value of one series line, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('formatExposition (text format 0.0.4)', () => {
  it('writes HELP, TYPE and one line per sample, ending with a newline', () => {
    const text = formatExposition([
      { name: 'a_total', help: 'Things.', type: 'counter', samples: [{ value: 3 }] },
      { name: 'b', help: 'Level.', type: 'gauge', samples: [{ labels: { x: '1', y: 'two' }, value: 0.5 }, { labels: { x: '2', y: 'three' }, value: -1 }] },
    ]);
    assert.equal(text, [
      '# HELP a_total Things.',
      '# TYPE a_total counter',
      'a_total 3',
      '# HELP b Level.',
      '# TYPE b gauge',
      'b{x="1",y="two"} 0.5',
      'b{x="2",y="three"} -1',
      '',
    ].join('\n'));
    assert.equal(formatExposition([]), '');
  });

  it('escapes help text (backslash, newline) and label values (backslash, quote, newline)', () => {
    const text = formatExposition([{ name: 'm', help: 'a \\ b\nc "q"', type: 'gauge', samples: [{ labels: { path: 'C:\\Crype "x"\ny' }, value: 1 }] }]);
    assert.equal(text.split('\n')[0], '# HELP m a \\\\ b\\nc "q"');
    assert.equal(text.split('\n')[2], 'm{path="C:\\\\Crype \\"x\\"\\ny"} 1');
    assert.equal(escapeLabelValue('plain'), 'plain');
  });

  it('writes special values as the format spells them', () => {
    const text = formatExposition([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { k: 'a' }, value: Infinity }, { labels: { k: 'b' }, value: -Infinity }, { labels: { k: 'c' }, value: NaN }] }]);
    assert.deepEqual(text.trim().split('\n').slice(2), ['m{k="a"} +Inf', 'm{k="b"} -Inf', 'm{k="c"} NaN']);
  });

  it('refuses invalid metric and label names', () => {
    assert.throws(() => formatExposition([{ name: '1bad', help: '', type: 'gauge', samples: [] }]), TypeError);
    assert.throws(() => formatExposition([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }]), TypeError);
    assert.throws(() => formatExposition([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }]), TypeError);
    assert.throws(() => formatExposition([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { __reserved: 'x' }, value: 1 }] }]), TypeError);
  });
});

describe('BridgeCounters', () => {
  it('counts what the bridge notes', () => {
    const counters = new BridgeCounters();
    counters.noteInstanceReceived(100);
    counters.noteInstanceReceived(50);
    counters.noteStudyCompleted('Inbox_Manual');
    counters.noteStudyCompleted('Inbox_Failed');
    counters.noteInstanceSent(40);
    counters.noteZipSent(true);
    counters.noteZipSent(false);
    counters.noteZipSent(false);
    const snap = counters.snapshot();
    assert.equal(snap.instancesReceived, 2);
    assert.equal(snap.bytesReceived, 150);
    assert.deepEqual(snap.studiesCompleted, { Inbox_Auto: 0, Inbox_Manual: 1, Inbox_Failed: 1 });
    assert.equal(snap.instancesSent, 1);
    assert.equal(snap.bytesSent, 40);
    assert.deepEqual(snap.zipsSent, { success: 1, failed: 2 });
  });

  it('reads live receivers, keeps the final counts of ended ones, and ignores receivers without stats', () => {
    const counters = new BridgeCounters();
    const first = { stats: stats(1, { 'local-limit-exceeded': 1 }) };
    const second = { stats: stats(0) };
    counters.receiverStarted(first);
    counters.receiverStarted(second);
    counters.receiverStarted({ port: 104 });
    assert.equal(counters.snapshot().associations.accepted, 1);

    first.stats = stats(3, { 'local-limit-exceeded': 2 });
    assert.equal(counters.snapshot().associations.accepted, 3, 'live counts are read at each snapshot');

    counters.receiverEnded(first);
    counters.receiverEnded(first); // idempotent
    first.stats = stats(100); // a let-go receiver no longer counts
    second.stats = stats(2, { 'called-ae-title-not-recognised': 1 });
    const snap = counters.snapshot();
    assert.equal(snap.associations.accepted, 5);
    assert.deepEqual(snap.associations.rejected, { 'local-limit-exceeded': 2, 'called-ae-title-not-recognised': 1 });
    assert.deepEqual(snap.associations.ended, { released: 5, aborted: 0, closed: 0 });
  });

  it('hands out copies', () => {
    const counters = new BridgeCounters();
    counters.receiverStarted({ stats: stats(1, { x: 1 }) });
    const snap = counters.snapshot();
    snap.instancesReceived = 99;
    snap.studiesCompleted.Inbox_Auto = 99;
    snap.associations.rejected.x = 99;
    const again = counters.snapshot();
    assert.equal(again.instancesReceived, 0);
    assert.equal(again.studiesCompleted.Inbox_Auto, 0);
    assert.equal(again.associations.rejected.x, 1);
  });
});

describe('addCounts', () => {
  it('adds every field, joining reject reasons, without changing its inputs', () => {
    const a: BridgeCounts = { ...emptyCounts(), instancesReceived: 1, bytesReceived: 10, associations: stats(1, { r1: 1 }), zipsSent: { success: 1, failed: 0 } };
    const b: BridgeCounts = { ...emptyCounts(), instancesReceived: 2, bytesReceived: 20, instancesSent: 3, bytesSent: 30, associations: stats(2, { r1: 2, r2: 5 }), zipsSent: { success: 0, failed: 4 } };
    b.studiesCompleted = { Inbox_Auto: 1, Inbox_Manual: 2, Inbox_Failed: 3 };
    const sum = addCounts(a, b);
    assert.equal(sum.instancesReceived, 3);
    assert.equal(sum.bytesReceived, 30);
    assert.equal(sum.instancesSent, 3);
    assert.equal(sum.bytesSent, 30);
    assert.deepEqual(sum.studiesCompleted, { Inbox_Auto: 1, Inbox_Manual: 2, Inbox_Failed: 3 });
    assert.deepEqual(sum.zipsSent, { success: 1, failed: 4 });
    assert.equal(sum.associations.accepted, 3);
    assert.deepEqual(sum.associations.rejected, { r1: 3, r2: 5 });
    assert.deepEqual(sum.associations.ended, { released: 3, aborted: 0, closed: 0 });
    assert.deepEqual(a.associations.rejected, { r1: 1 }, 'input unchanged');
  });
});

describe('the bridge\'s metrics', () => {
  it('shows every series, labelled ones at 0 from the start', () => {
    const text = renderMetrics({ counts: emptyCounts(), status: status(), ready: true });
    const expected: Array<[string, number]> = [
      ['dicombridge_up', 1],
      ['dicombridge_ready', 1],
      ['dicombridge_info{version="1.2.3"}', 1],
      ['dicombridge_associations_total{result="accepted"}', 0],
      ['dicombridge_associations_total{result="rejected"}', 0],
      ['dicombridge_associations_rejected_total{reason="local-limit-exceeded"}', 0],
      ['dicombridge_associations_ended_total{how="aborted"}', 0],
      ['dicombridge_associations_active', 2],
      ['dicombridge_receiver_listening', 1],
      ['dicombridge_instances_received_total', 0],
      ['dicombridge_bytes_received_total', 0],
      ['dicombridge_studies_completed_total{inbox="Inbox_Auto"}', 0],
      ['dicombridge_studies_completed_total{inbox="Inbox_Manual"}', 0],
      ['dicombridge_studies_completed_total{inbox="Inbox_Failed"}', 0],
      ['dicombridge_instances_sent_total', 0],
      ['dicombridge_bytes_sent_total', 0],
      ['dicombridge_zips_sent_total{result="success"}', 0],
      ['dicombridge_zips_sent_total{result="failed"}', 0],
      ['dicombridge_outbox_waiting', 4],
      ['dicombridge_studies_in_progress', 3],
      ['dicombridge_failed_items{folder="Inbox_Failed"}', 5],
      ['dicombridge_failed_items{folder="Outbox_Failed"}', 6],
      ['dicombridge_disk_low', 0],
      ['dicombridge_disk_free_bytes', 7_000_000],
      ['dicombridge_disk_total_bytes', 9_000_000],
    ];
    for (const [series, value] of expected) assert.equal(sample(text, series), value, series);
    assert.equal(sample(text, 'process_resident_memory_bytes'), undefined, 'no process figures unless given');
  });

  it('sums rejections over reasons, lists each reason, and reflects the verdict and the disk', () => {
    const counts: BridgeCounts = { ...emptyCounts(), associations: stats(4, { 'called-ae-title-not-recognised': 2, 'local-limit-exceeded': 3 }) };
    const text = renderMetrics({
      counts,
      status: status({ disk: { path: '/data', freeBytes: null, totalBytes: null, low: true }, receiving: { enabled: true, listening: false, host: '0.0.0.0', port: 104, aeTitle: '' } }),
      ready: false,
      process: { residentMemoryBytes: 1, heapUsedBytes: 2, cpuSecondsTotal: 0.25, startTimeSeconds: 1700000000 },
    });
    assert.equal(sample(text, 'dicombridge_associations_total{result="rejected"}'), 5);
    assert.equal(sample(text, 'dicombridge_associations_rejected_total{reason="called-ae-title-not-recognised"}'), 2);
    assert.equal(sample(text, 'dicombridge_associations_rejected_total{reason="local-limit-exceeded"}'), 3);
    assert.equal(sample(text, 'dicombridge_ready'), 0);
    assert.equal(sample(text, 'dicombridge_receiver_listening'), 0);
    assert.equal(sample(text, 'dicombridge_disk_low'), 1);
    assert.equal(sample(text, 'dicombridge_disk_free_bytes'), undefined, 'an unreadable disk is left out, not shown as 0');
    assert.equal(sample(text, 'process_cpu_seconds_total'), 0.25);
    assert.equal(sample(text, 'process_start_time_seconds'), 1700000000);
  });

  it('declares each family once, with its type', () => {
    const families = bridgeMetricFamilies({ counts: emptyCounts(), status: status(), ready: true });
    const names = families.map((f) => f.name);
    assert.equal(new Set(names).size, names.length);
    for (const f of families) assert.equal(f.type === 'counter', f.name.endsWith('_total'), f.name);
  });
});
