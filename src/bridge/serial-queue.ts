/**
 * Runs jobs one at a time in arrival order, counting what is waiting or running. Used where
 * two jobs must never race (two completions choosing one ZIP name, two sends of one outbox).
 * A job that throws is reported to `onError` and does not stop the queue.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Jobs waiting or running. */
  get size(): number {
    return this.pending;
  }

  /** Queues a job; the promise settles when it is done and never rejects. */
  push(job: () => Promise<void>): Promise<void> {
    this.pending += 1;
    const run = this.tail
      .then(job)
      .catch(this.onError)
      .finally(() => {
        this.pending -= 1;
      });
    this.tail = run;
    return run;
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.tail;
  }
}
