/**
 * The association limit shared by several acceptors (PS3.8 §9.2): a plain and a TLS listener
 * serving the same application count their associations against one bound.
 */

/** A count of established associations against a changeable maximum. */
export class AssociationSlots {
  #max: number;
  #inUse = 0;

  /** @param max the limit, a positive integer */
  constructor(max: number) {
    this.#max = AssociationSlots.#checked(max);
  }

  static #checked(max: number): number {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the association limit must be a positive integer, got ${max}`);
    return max;
  }

  /** The limit. Lowering it ends no association; it only refuses new ones until below. */
  get max(): number {
    return this.#max;
  }

  set max(max: number) {
    this.#max = AssociationSlots.#checked(max);
  }

  /** Associations counted now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** True while another association would exceed the limit. */
  get full(): boolean {
    return this.#inUse >= this.#max;
  }

  /** Counts an established association. */
  take(): void {
    this.#inUse += 1;
  }

  /** An association counted by {@link take} has ended. */
  release(): void {
    if (this.#inUse > 0) this.#inUse -= 1;
  }
}
