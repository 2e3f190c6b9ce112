/**
 * DiskGuard with an injected statfs and clock: threshold, the one-second cache, transitions
 * logged once, 0 = off, a failing statfs, and the A700 refusal it hands the receiver.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STATUS_OUT_OF_RESOURCES } from '../../../../src/dicom/dimse/status.js';
import type { Logger } from '../../../../src/dicom/ul/logger.js';
import { BYTES_PER_MEGABYTE, DiskGuard, type FreeSpaceStats } from '../../../../src/bridge/receive/disk-guard.js';

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
}

function recordingLogger(lines: Line[]): Logger {
  const at = (level: Line['level']) => (_obj: object, msg?: string) => void lines.push({ level, msg: msg ?? '' });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

/** A guard over a fake file system whose free space, clock and threshold the test sets. */
function fixture(options: { freeMegabytes: number; thresholdMegabytes: number }) {
  const state = { ...options, nowMs: 0, statfsCalls: 0, failWith: null as Error | null };
  const lines: Line[] = [];
  const guard = new DiskGuard({
    dir: '/storage',
    minFreeMegabytes: () => state.thresholdMegabytes,
    log: recordingLogger(lines),
    now: () => state.nowMs,
    statfs: async (path): Promise<FreeSpaceStats> => {
      assert.equal(path, '/storage');
      state.statfsCalls += 1;
      if (state.failWith) throw state.failWith;
      // 4096-byte blocks, as most file systems report.
      return { bavail: (state.freeMegabytes * BYTES_PER_MEGABYTE) / 4096, bsize: 4096 };
    },
  });
  return { guard, state, lines };
}

describe('DiskGuard', () => {
  it('is low below the threshold and not at or above it', async () => {
    const { guard, state } = fixture({ freeMegabytes: 99, thresholdMegabytes: 100 });
    const below = await guard.check();
    assert.deepEqual(below, { low: true, freeBytes: 99 * BYTES_PER_MEGABYTE, minFreeBytes: 100 * BYTES_PER_MEGABYTE });
    assert.equal(guard.low, true);

    state.freeMegabytes = 100;
    state.nowMs += 1000;
    assert.equal((await guard.check()).low, false);
    assert.equal(guard.low, false);
  });

  it('answers A700 with the threshold in the comment while low, null otherwise', async () => {
    const { guard, state } = fixture({ freeMegabytes: 10, thresholdMegabytes: 1024 });
    const refusal = await guard.refusal();
    assert.deepEqual(refusal, { status: STATUS_OUT_OF_RESOURCES, errorComment: 'Out of resources: free disk space below 1024 MB' });
    assert.ok(refusal.errorComment!.length <= 64, 'an Error Comment holds at most 64 characters');

    state.freeMegabytes = 2048;
    state.nowMs += 1000;
    assert.equal(await guard.refusal(), null);
  });

  it('measures at most once per second, and concurrent checks share one statfs', async () => {
    const { guard, state } = fixture({ freeMegabytes: 500, thresholdMegabytes: 100 });
    await Promise.all([guard.check(), guard.check(), guard.check()]);
    assert.equal(state.statfsCalls, 1);

    state.freeMegabytes = 50; // the disk filled, but the measurement is still fresh
    state.nowMs += 999;
    assert.equal((await guard.check()).low, false);
    assert.equal(state.statfsCalls, 1);

    state.nowMs += 1; // one second after the measurement
    assert.equal((await guard.check()).low, true);
    assert.equal(state.statfsCalls, 2);
  });

  it('applies a changed threshold at once, on the cached measurement', async () => {
    const { guard, state } = fixture({ freeMegabytes: 500, thresholdMegabytes: 100 });
    assert.equal((await guard.check()).low, false);
    state.thresholdMegabytes = 1000; // the GUI saved a new setting
    assert.equal((await guard.check()).low, true);
    assert.equal(state.statfsCalls, 1);
  });

  it('logs entering and leaving the low state once each', async () => {
    const { guard, state, lines } = fixture({ freeMegabytes: 1, thresholdMegabytes: 4 });
    for (let i = 0; i < 3; i += 1) {
      await guard.check();
      state.nowMs += 1000;
    }
    state.freeMegabytes = 8;
    for (let i = 0; i < 3; i += 1) {
      await guard.check();
      state.nowMs += 1000;
    }
    assert.deepEqual(lines, [
      { level: 'warn', msg: 'free disk space below 4 MB: DICOM storing refused with out of resources until space returns' },
      { level: 'info', msg: 'free disk space back above 4 MB: DICOM storing accepted again' },
    ]);
  });

  it('is off at threshold 0: never low and no statfs, and switching it off ends a low state', async () => {
    const off = fixture({ freeMegabytes: 0, thresholdMegabytes: 0 });
    assert.deepEqual(await off.guard.check(), { low: false, freeBytes: null, minFreeBytes: 0 });
    assert.equal(await off.guard.refusal(), null);
    assert.equal(off.state.statfsCalls, 0);

    const { guard, state, lines } = fixture({ freeMegabytes: 1, thresholdMegabytes: 4 });
    assert.equal((await guard.check()).low, true);
    state.thresholdMegabytes = 0;
    assert.equal((await guard.check()).low, false);
    assert.equal(lines.at(-1)?.msg, 'the disk space guard is off: DICOM storing accepted again');
  });

  it('does not refuse storing when statfs fails, and warns once until it works again', async () => {
    const { guard, state, lines } = fixture({ freeMegabytes: 1, thresholdMegabytes: 4 });
    state.failWith = Object.assign(new Error('EIO: i/o error, statfs'), { code: 'EIO' });
    for (let i = 0; i < 2; i += 1) {
      assert.deepEqual(await guard.check(), { low: false, freeBytes: null, minFreeBytes: 4 * BYTES_PER_MEGABYTE });
      state.nowMs += 1000;
    }
    assert.deepEqual(lines.map((l) => l.level), ['warn']);
    assert.match(lines[0]!.msg, /cannot be read/);

    state.failWith = null;
    assert.equal((await guard.check()).low, true);
    assert.deepEqual(lines.map((l) => l.level), ['warn', 'info', 'warn']);
  });

  it('reports the state of the last check through `low` (false before any)', async () => {
    const { guard } = fixture({ freeMegabytes: 1, thresholdMegabytes: 4 });
    assert.equal(guard.low, false);
    await guard.check();
    assert.equal(guard.low, true);
  });
});
