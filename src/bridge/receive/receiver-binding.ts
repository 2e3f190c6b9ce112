/**
 * The DICOM receiver as a setting (SPEC §7: saved settings take effect without a restart):
 * holds the receiver in use and re-binds it when a listener setting changes.
 *
 * A new address is bound before the old listener stops, so a port that cannot be bound changes
 * nothing (the caller answers with the ConfigError, e.g. 409); the same address is freed first
 * and, if it cannot be bound again, the old settings are restored. Associations on a replaced
 * receiver may finish their transfer for a bounded time, then are aborted. The timeouts need no
 * re-binding: they apply to the next connections at once.
 */
import { ConfigError, configIssue } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { Receiver, ReceiverSettings } from './receiver.js';

/**
 * How long associations open on a receiver that was re-bound or switched off may still run
 * before they are aborted (a PACS in the middle of a study finishes it).
 */
export const RECEIVER_DRAIN_MS = 30_000;

/** Receive settings that need a new listener when they change. */
export const LISTENER_KEYS = ['enabled', 'host', 'port', 'aeTitle', 'maxAssociations', 'maxPduLength', 'fsync'] as const;

/** Receive settings the running listener takes for its next connections. */
export const TIMEOUT_KEYS = ['associationTimeoutSeconds', 'idleTimeoutSeconds'] as const;

/** What a binding needs: how to start a receiver, and who to tell about each one. */
export interface ReceiverBindingDeps {
  /** Starts a receiver; rejects when the port cannot be bound (the system error as is). */
  start(settings: ReceiverSettings): Promise<Receiver>;
  /** A receiver started (monitoring). */
  onStarted?(receiver: Receiver): void;
  /** A receiver has closed for good (monitoring). */
  onEnded?(receiver: Receiver): void;
  log: Logger;
}

/**
 * The ConfigError for a listener that could not be bound: the host key when the address is not
 * one of this machine, else the port key. Errors without a system code are not about settings.
 */
export function listenError(err: unknown, settings: Pick<ReceiverSettings, 'host' | 'port'>): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return err;
  const issue = code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT'
    ? configIssue('receive.host', `must be an address of this machine (${code})`, settings.host)
    : configIssue('receive.port', `must be a port this machine can listen on (${code})`, settings.port);
  return new ConfigError([issue], { cause: err });
}

/** The receiver in use, and those replaced or switched off that are still draining. */
export class ReceiverBinding {
  /** The receiver taking new connections, or null when receiving is off (or failed to re-bind). */
  current: Receiver | null = null;
  readonly #deps: ReceiverBindingDeps;
  /** Receivers replaced or switched off, letting their associations finish: their close. */
  readonly #draining = new Map<Receiver, Promise<void>>();

  constructor(deps: ReceiverBindingDeps) {
    this.#deps = deps;
  }

  /** The DICOM port bound, or null. */
  get port(): number | null {
    return this.current?.port ?? null;
  }

  /** Associations open on the current receiver and on those still draining. */
  get activeAssociations(): number {
    let count = this.current?.activeAssociations ?? 0;
    for (const receiver of this.#draining.keys()) count += receiver.activeAssociations;
    return count;
  }

  /** Starts the first receiver; rejects with the system error when the port cannot be bound. */
  async start(settings: ReceiverSettings): Promise<void> {
    this.current = await this.#listen(settings);
  }

  /**
   * Applies changed receive settings: re-binds when a {@link LISTENER_KEYS} setting changed,
   * else hands new timeouts to the running receiver. Adds one line per change for people.
   * Throws a ConfigError naming `receive.port` or `receive.host` when the new listener cannot
   * be bound; everything is then as before.
   */
  async apply(prev: Config['receive'], next: Config['receive'], changes: string[]): Promise<void> {
    const rebind = LISTENER_KEYS.some((key) => prev[key] !== next[key]);
    if (rebind) await this.#rebind(prev, next, changes);
    else if (TIMEOUT_KEYS.some((key) => prev[key] !== next[key])) this.current?.setTimeouts(next);
    if (prev.associationTimeoutSeconds !== next.associationTimeoutSeconds) {
      changes.push(`DICOM association requests now time out after ${next.associationTimeoutSeconds} s`);
    }
    if (prev.idleTimeoutSeconds !== next.idleTimeoutSeconds) {
      changes.push(`idle DICOM associations now aborted after ${next.idleTimeoutSeconds} s`);
    }
  }

  /** Stops every listener at once (shutdown, first step); open associations carry on. */
  stopListening(): void {
    for (const receiver of this.#all()) receiver.stopListening();
  }

  /**
   * Stops every listener and lets the open associations finish for up to `drainMs`, then aborts
   * them (shutdown, after {@link stopListening}).
   */
  async drain(drainMs: number): Promise<void> {
    await Promise.all(this.#all().map((receiver) => receiver.close({ drainMs })));
  }

  /** Closes every receiver now, aborting what is still open. */
  async close(): Promise<void> {
    const current = this.current;
    this.current = null;
    if (current !== null) {
      await current.close();
      this.#deps.onEnded?.(current);
    }
    await Promise.all([...this.#draining].map(([receiver, drained]) => Promise.all([receiver.close(), drained])));
  }

  #all(): Receiver[] {
    return [...(this.current ? [this.current] : []), ...this.#draining.keys()];
  }

  async #listen(settings: ReceiverSettings): Promise<Receiver> {
    const receiver = await this.#deps.start(settings);
    this.#deps.onStarted?.(receiver);
    return receiver;
  }

  async #rebind(prev: Config['receive'], next: Config['receive'], changes: string[]): Promise<void> {
    const old = this.current;
    if (next.enabled) {
      const sameAddress = old !== null && prev.host === next.host && prev.port === next.port;
      if (sameAddress) old.stopListening();
      let started: Receiver;
      try {
        started = await this.#listen(next);
      } catch (err) {
        if (sameAddress) await this.#restore(old, prev);
        throw listenError(err, next);
      }
      this.current = started;
      if (old) this.#retire(old);
      const where = `${next.host}:${started.port}`;
      if (!prev.enabled) changes.push(`DICOM receiving now on, listening on ${where}`);
      else if (prev.host !== next.host || prev.port !== next.port) changes.push(`DICOM receiver now listening on ${where}`);
    } else if (prev.enabled) {
      this.current = null;
      if (old) this.#retire(old);
      changes.push('DICOM receiving now off');
    }
    if (prev.aeTitle !== next.aeTitle) {
      changes.push(next.aeTitle === '' ? 'DICOM receiver now answers any called AE title' : `DICOM receiver AE title now ${next.aeTitle}`);
    }
    if (prev.maxAssociations !== next.maxAssociations) changes.push(`at most ${next.maxAssociations} DICOM associations at once`);
    if (prev.maxPduLength !== next.maxPduLength) changes.push(`maximum PDU length now ${next.maxPduLength} bytes`);
    if (prev.fsync !== next.fsync) changes.push(`fsync of received files now ${next.fsync ? 'on' : 'off'}`);
  }

  /** After a failed re-bind of the same address: listen with the old settings again. */
  async #restore(old: Receiver, prev: Config['receive']): Promise<void> {
    try {
      this.current = await this.#listen(prev);
    } catch (err) {
      this.current = null;
      this.#deps.log.error({ err, host: prev.host, port: prev.port }, 'DICOM receiver could not listen again with the previous settings; receiving is off');
    }
    this.#retire(old);
  }

  /** Lets a replaced receiver's associations finish (bounded), then closes it. */
  #retire(receiver: Receiver): void {
    receiver.stopListening();
    const drained = receiver
      .close({ drainMs: RECEIVER_DRAIN_MS })
      .catch((err: unknown) => this.#deps.log.error({ err }, 'closing the replaced DICOM receiver failed'))
      .finally(() => {
        this.#draining.delete(receiver);
        this.#deps.onEnded?.(receiver);
      });
    this.#draining.set(receiver, drained);
  }
}
