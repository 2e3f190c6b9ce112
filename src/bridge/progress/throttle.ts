/**
 * Runs a job at most once per interval however often it is asked for, and always once more
 * after the last request (trailing edge), so the final state is never left unsent. The job
 * never runs inside the caller's stack: a request from the receive path only arms a timer.
 */

/** The timers a {@link Throttle} uses; tests pass a fake one. */
export interface ThrottleClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_CLOCK: ThrottleClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => {
    const timer = setTimeout(run, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** At most one run of `job` per `intervalMs`, the last request always honoured. */
export class Throttle {
  private lastRunAt = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;

  constructor(
    private readonly intervalMs: number,
    private readonly job: () => void,
    private readonly clock: ThrottleClock = SYSTEM_CLOCK,
  ) {}

  /** Asks for a run: as soon as the interval since the last run allows, never synchronously. */
  request(): void {
    if (this.timer !== null) return; // a run is already due; it will see this change too
    const waitMs = Math.max(0, this.lastRunAt + this.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.lastRunAt = this.clock.now();
      this.job();
    }, waitMs);
  }

  /** Drops a pending run (shutdown). */
  cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
