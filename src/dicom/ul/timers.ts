/**
 * Timers of the DICOM upper layer: the ARTIM timer (PS3.8 §9.1.5) and any other one-shot
 * protocol timeout an association needs.
 *
 * Why hand-written: the job is a thin, restartable wrapper over `setTimeout` with two
 * guarantees the state machine relies on (a stopped or restarted timer never fires its old
 * callback, and a pending timer never keeps the process alive). No npm package adds anything
 * here but a dependency.
 */

/** Largest delay `setTimeout` honours; Node silently turns anything larger into 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A restartable one-shot timer. `start` arms it (replacing any pending expiry), `stop` disarms
 * it; after `stop` or a restart, the earlier callback never runs. The underlying timeout is
 * unref'd, so a pending timer never keeps the process alive.
 *
 * Used for the Association Request/Reject/Release Timer (ARTIM), whose expiry is Evt18:
 * PS3.8 §9.1.5 and Table 9-10.
 */
export class Timer {
  #handle: NodeJS.Timeout | undefined;

  /**
   * Arms the timer, or re-arms it if already running (the "start or restart" of PS3.8 AA-1).
   * @param timeoutMs delay in milliseconds, an integer from 0 to {@link MAX_TIMER_MS}
   * @param onExpire called once, unless the timer is stopped or restarted first
   * @throws RangeError when timeoutMs is not such an integer (a programmer error)
   */
  start(timeoutMs: number, onExpire: () => void): void {
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMER_MS) {
      throw new RangeError(`timer delay must be an integer from 0 to ${MAX_TIMER_MS} ms, got ${timeoutMs}`);
    }
    // clearTimeout (in stop) guarantees a replaced or stopped callback never runs.
    this.stop();
    const handle = setTimeout(() => {
      this.#handle = undefined;
      onExpire();
    }, timeoutMs);
    handle.unref();
    this.#handle = handle;
  }

  /** Disarms the timer; a no-op when it is not running. PS3.8 §9.1.5 ("stop ARTIM"). */
  stop(): void {
    if (this.#handle !== undefined) {
      clearTimeout(this.#handle);
      this.#handle = undefined;
    }
  }

  /** True while armed and not yet expired or stopped. */
  get running(): boolean {
    return this.#handle !== undefined;
  }
}
