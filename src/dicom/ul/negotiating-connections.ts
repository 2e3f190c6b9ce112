/**
 * The acceptor's bound on connections still negotiating: accepted over TCP, A-ASSOCIATE-RQ not
 * yet complete (PS3.8 Sta2, under the ARTIM timer of §9.1.5).
 *
 * They have their own cap, apart from the association limit, so a few silent sockets never
 * take an association slot. At the cap the oldest one is dropped for the newcomer: a real
 * peer sends its A-ASSOCIATE-RQ at once after connecting and so is never the oldest for long,
 * while a socket that sends nothing is the first to go.
 */

/**
 * Connections in arrival order, at most `max` of them. PS3.8 §9.1.5 (ARTIM bounds each
 * one's time; this bounds their number).
 */
export class NegotiatingConnections<T> {
  readonly #max: number;
  /** A Set keeps insertion order: the first element is the oldest connection. */
  readonly #connections = new Set<T>();

  /** @param max the cap, a positive integer */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the negotiating-connection cap must be a positive integer, got ${max}`);
    this.#max = max;
  }

  /** The cap. */
  get max(): number {
    return this.#max;
  }

  /** Connections currently negotiating. */
  get size(): number {
    return this.#connections.size;
  }

  /** True while `connection` is counted as negotiating. */
  has(connection: T): boolean {
    return this.#connections.has(connection);
  }

  /**
   * Counts a new connection. At the cap, the oldest one is taken out and returned: the caller
   * closes it. Returns undefined when nothing had to go.
   */
  add(connection: T): T | undefined {
    let dropped: T | undefined;
    if (this.#connections.size >= this.#max) dropped = this.takeOldest();
    this.#connections.add(connection);
    return dropped;
  }

  /** Takes the oldest connection out (to close it), or undefined when there is none. */
  takeOldest(): T | undefined {
    const oldest = this.#connections.values().next();
    if (oldest.done === true) return undefined;
    this.#connections.delete(oldest.value);
    return oldest.value;
  }

  /** Stops counting a connection (its A-ASSOCIATE-RQ arrived, or it closed). Idempotent. */
  delete(connection: T): void {
    this.#connections.delete(connection);
  }
}
