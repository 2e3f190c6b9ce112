// The push throttle of the "In progress" event (src/bridge/progress/throttle.ts), on a fake
// clock: at most one run per interval, the last request always honoured, never synchronous.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Throttle, type ThrottleClock } from '../../../../src/bridge/progress/throttle.js';

/** Timers that fire only when the test advances the time. */
class FakeClock implements ThrottleClock {
  time = 0;
  private timers: Array<{ at: number; run: () => void; id: number }> = [];
  private nextId = 1;
  now(): number {
    return this.time;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, run, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.run();
    }
    this.time = end;
  }
}

describe('Throttle', () => {
  it('runs the first request on the next turn, not inside the caller', () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const throttle = new Throttle(500, () => runs.push(clock.now()), clock);
    throttle.request();
    assert.deepEqual(runs, []);
    clock.advance(0);
    assert.deepEqual(runs, [0]);
  });

  it('a burst of requests gives at most one run per interval, and the last one is honoured', () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const throttle = new Throttle(500, () => runs.push(clock.now()), clock);
    // 300 instances over 3 s: one request every 10 ms.
    for (let t = 0; t < 3000; t += 10) {
      throttle.request();
      clock.advance(10);
    }
    clock.advance(1000);
    for (let i = 1; i < runs.length; i += 1) assert.ok(runs[i]! - runs[i - 1]! >= 500, `runs ${runs[i - 1]} and ${runs[i]} closer than 500 ms`);
    assert.ok(runs.length <= 7, `${runs.length} runs for 3 s`);
    assert.ok(runs.at(-1)! >= 2990, 'a run after the last request');
    assert.equal(clock.pending, 0);
  });

  it('a request long after the last run runs at once again', () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const throttle = new Throttle(500, () => runs.push(clock.now()), clock);
    throttle.request();
    clock.advance(5000);
    throttle.request();
    clock.advance(0);
    assert.deepEqual(runs, [0, 5000]);
  });

  it('cancel drops the pending run', () => {
    const clock = new FakeClock();
    let runs = 0;
    const throttle = new Throttle(500, () => (runs += 1), clock);
    throttle.request();
    throttle.cancel();
    clock.advance(1000);
    assert.equal(runs, 0);
  });
});
