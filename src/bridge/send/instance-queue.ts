/**
 * The instances of one association plan waiting to be sent, taken in the ZIP's order by the
 * parallel associations that carry them (SPEC §5 `send.associations`). An instance an
 * association could not carry goes back to the front, so another sends it next.
 */
import type { OutgoingInstance } from './store-sender.js';

/** A first-in first-out queue over a fixed list, with a way back for an instance not carried. */
export class InstanceQueue {
  private next = 0;
  private readonly returned: OutgoingInstance[] = [];

  constructor(private readonly instances: readonly OutgoingInstance[]) {}

  /** The next instance to send, or undefined when none is left. */
  take(): OutgoingInstance | undefined {
    return this.returned.pop() ?? (this.next < this.instances.length ? this.instances[this.next++] : undefined);
  }

  /** Puts back an instance that was taken but not sent; it is taken next. */
  giveBack(instance: OutgoingInstance): void {
    this.returned.push(instance);
  }

  /** True while some instance is still to be taken. */
  hasMore(): boolean {
    return this.returned.length > 0 || this.next < this.instances.length;
  }
}
