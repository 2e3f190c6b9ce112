/**
 * HealthService: each readiness check and its reason, on a stand-in bridge over a real temp
 * storage folder; the storage probe's 30 s cache with an injected clock and writer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emptyCounts } from '../../../../src/bridge/metrics.js';
import { ensureStorageLayout, storageLayout } from '../../../../src/bridge/storage-layout.js';
import { parseConfig } from '../../../../src/config/load.js';
import type { Supervisor } from '../../../../src/supervisor.js';
import { HealthService, STORAGE_PROBE_INTERVAL_MS } from '../../../../src/web/routes/health.js';

interface FakeBridge {
  config: ReturnType<typeof parseConfig>;
  layout: ReturnType<typeof storageLayout>;
  receivePort: number | null;
  activeAssociations: number;
  studiesInProgress: number;
  outboxWaiting: number;
  diskGuard: { check(): Promise<{ low: boolean; freeBytes: number | null; minFreeBytes: number }> };
  logBook: { latest(n: number): unknown[] };
}

describe('HealthService', () => {
  let root: string;
  let bridge: FakeBridge;
  let supervisor: Supervisor;
  let diskLow = false;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dicombridge-health-'));
    const layout = storageLayout(join(root, 'store'));
    await ensureStorageLayout(layout);
    bridge = {
      config: parseConfig({ storageFolder: layout.root, minFreeDiskMegabytes: 0, receive: { host: '127.0.0.1', port: 11112 } }, { baseDir: root }),
      layout,
      receivePort: 11112,
      activeAssociations: 0,
      studiesInProgress: 0,
      outboxWaiting: 0,
      diskGuard: { check: async () => ({ low: diskLow, freeBytes: 1, minFreeBytes: 1 }) },
      logBook: { latest: () => [] },
    };
    supervisor = { get bridge() { return bridge; }, get counts() { return emptyCounts(); } } as unknown as Supervisor;
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('is ready when every check passes; the real probe leaves no file behind', async () => {
    const report = await new HealthService(supervisor, '1.0.0').report();
    assert.equal(report.ready, true, report.reasons.join('; '));
    assert.deepEqual(report.reasons, []);
    assert.deepEqual(report.checks.map((c) => c.name), ['receiver', 'logbook', 'storage', 'disk']);
    assert.equal(report.checks[0]!.detail, 'DICOM receiver listening on 127.0.0.1:11112');
    assert.deepEqual((await readdir(bridge.layout.root)).filter((n) => n.startsWith('.')), []);
  });

  it('names every failing check', async () => {
    bridge.receivePort = null;
    bridge.logBook = { latest: () => { throw new TypeError('The database connection is not open'); } };
    bridge.config = { ...bridge.config, minFreeDiskMegabytes: 1024 };
    diskLow = true;
    try {
      const service = new HealthService(supervisor, '1.0.0', { probeWrite: () => Promise.reject(Object.assign(new Error('read-only'), { code: 'EROFS' })) });
      const report = await service.report();
      assert.equal(report.ready, false);
      assert.equal(report.reasons.length, 4);
      assert.match(report.reasons[0]!, /^DICOM receiver not listening \(receive\.port 11112\)$/);
      assert.equal(report.reasons[1], 'log book not usable: The database connection is not open');
      assert.equal(report.reasons[2], `storage folder ${bridge.layout.root} not writable: EROFS`);
      assert.match(report.reasons[3]!, /^free disk space below 1024 MB \(\d+ MB free\)$/);
    } finally {
      bridge.receivePort = 11112;
      bridge.logBook = { latest: () => [] };
      bridge.config = { ...bridge.config, minFreeDiskMegabytes: 0 };
      diskLow = false;
    }
  });

  it('names a DICOM TLS receiver that is switched on but not listening; ready once it listens', async () => {
    const config = bridge.config;
    const tlsOn = { ...config.receive.tls, enabled: true, certFile: '', keyFile: '', caFile: '' };
    bridge.config = { ...config, receive: { ...config.receive, tls: tlsOn } };
    const fake = bridge as FakeBridge & { receiveTlsPort?: number | null };
    try {
      fake.receiveTlsPort = null;
      const down = await new HealthService(supervisor, '1.0.0').report();
      assert.equal(down.ready, false);
      assert.ok(down.reasons.includes('DICOM TLS receiver not listening (receive.tls.port 2762)'), down.reasons.join('; '));
      fake.receiveTlsPort = 2762;
      const up = await new HealthService(supervisor, '1.0.0').report();
      assert.ok(up.checks.some((c) => c.name === 'tls' && c.ok && c.detail === 'DICOM TLS receiver listening on 127.0.0.1:2762'), JSON.stringify(up.checks));
    } finally {
      bridge.config = config;
      delete fake.receiveTlsPort;
    }
  });

  it('is ready with receiving switched off', async () => {
    const config = bridge.config;
    bridge.config = { ...config, receive: { ...config.receive, enabled: false } };
    bridge.receivePort = null;
    try {
      const report = await new HealthService(supervisor, '1.0.0').report();
      assert.equal(report.ready, true);
      assert.equal(report.checks[0]!.detail, 'DICOM receiving is switched off');
    } finally {
      bridge.config = config;
      bridge.receivePort = 11112;
    }
  });

  it('probes the storage folder at most every 30 s, and again at once for a new folder', async () => {
    let nowMs = 1_000_000;
    const probed: string[] = [];
    let fail = false;
    const service = new HealthService(supervisor, '1.0.0', {
      now: () => nowMs,
      probeWrite: async (dir) => {
        probed.push(dir);
        if (fail) throw Object.assign(new Error('full'), { code: 'ENOSPC' });
      },
    });
    assert.equal((await service.report()).ready, true);
    fail = true;
    nowMs += STORAGE_PROBE_INTERVAL_MS - 1;
    assert.equal((await service.report()).ready, true, 'cached answer within the interval');
    assert.equal(probed.length, 1);
    nowMs += 1;
    const stale = await service.report();
    assert.equal(stale.ready, false);
    assert.match(stale.reasons[0]!, /not writable: ENOSPC$/);
    assert.equal(probed.length, 2);

    fail = false;
    const oldLayout = bridge.layout;
    bridge.layout = storageLayout(join(root, 'other'));
    await ensureStorageLayout(bridge.layout);
    try {
      assert.equal((await service.report()).ready, true, 'a new folder is probed at once');
      assert.deepEqual(probed.slice(2), [bridge.layout.root]);
    } finally {
      bridge.layout = oldLayout;
    }
  });
});
