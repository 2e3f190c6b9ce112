/**
 * The DICOM receiver as a setting (SPEC §7: saved settings take effect without a restart):
 * holds the receiver in use and re-binds it when a listener setting changes.
 *
 * A new address is bound before the old listener stops, so a port that cannot be bound changes
 * nothing (the caller answers with the ConfigError, e.g. 409); the same address is freed first
 * and, if it cannot be bound again, the old settings are restored. Associations on a replaced
 * receiver may finish their transfer for a bounded time, then are aborted. The timeouts need no
 * re-binding: they apply to the next connections at once.
 *
 * Beside it runs the DICOM TLS listener (`receive.tls`, PS3.15 Annex B) on its own port, fed
 * by the same studies and counted against the same association limit (one AssociationSlots
 * for every receiver, draining ones included). Its certificate is re-read when the files
 * change and on Save, and handed to the running listener: open associations keep going.
 * The known peers (`receive.allowedPeers`) are resolved at start and on Save and judge each
 * association on both listeners.
 */
import { ConfigError, configIssue } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import type { AcceptorTls, CallingPeer, PeerRefusal } from '../../dicom/ul/acceptor.js';
import { AssociationSlots } from '../../dicom/ul/association-slots.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { TlsMaterial } from '../../tls/material.js';
import { watchTlsFiles } from '../../tls/watch.js';
import { PeerPolicy, systemResolver, type HostResolver } from './peer-policy.js';
import type { Receiver, ReceiverSettings } from './receiver.js';
import { listenerSecureContext, listenerTlsFiles, loadListenerTls, type ReceiveTlsSettings } from './tls-listener.js';

/**
 * How long associations open on a receiver that was re-bound or switched off may still run
 * before they are aborted (a PACS in the middle of a study finishes it).
 */
export const RECEIVER_DRAIN_MS = 30_000;

/** Receive settings that need a new listener when they change. */
export const LISTENER_KEYS = ['enabled', 'host', 'port', 'aeTitle', 'maxAssociations', 'maxPduLength', 'fsync'] as const;

/** Receive settings the running listener takes for its next connections. */
export const TIMEOUT_KEYS = ['associationTimeoutSeconds', 'idleTimeoutSeconds'] as const;

/** Receive settings that need a new TLS listener when they change (besides `tls.enabled`, `tls.port`). */
export const TLS_LISTENER_KEYS = ['host', 'aeTitle', 'maxAssociations', 'maxPduLength', 'fsync'] as const;

/** What every receiver of a binding shares: the association limit and the known peers. */
export interface ReceiverExtras {
  slots: AssociationSlots;
  acceptPeer(peer: CallingPeer): PeerRefusal | null;
  /** Only for the TLS listener. */
  tls?: AcceptorTls;
}

/** What a binding needs: how to start a receiver, and who to tell about each one. */
export interface ReceiverBindingDeps {
  /** Starts a receiver; rejects when the port cannot be bound (the system error as is). */
  start(settings: ReceiverSettings, extras?: ReceiverExtras): Promise<Receiver>;
  /** Resolves the host names of `receive.allowedPeers` (dns.lookup by default). */
  resolveHost?: HostResolver;
  /** How often the TLS files are checked for a renewal (ms; default 5000). */
  tlsWatchIntervalMs?: number;
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
export function listenError(err: unknown, settings: Pick<ReceiverSettings, 'host' | 'port'>, portKey = 'receive.port'): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return err;
  const issue = code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT'
    ? configIssue('receive.host', `must be an address of this machine (${code})`, settings.host)
    : configIssue(portKey, `must be a port this machine can listen on (${code})`, settings.port);
  return new ConfigError([issue], { cause: err });
}

/** The receiver in use, and those replaced or switched off that are still draining. */
export class ReceiverBinding {
  /** The receiver taking new connections, or null when receiving is off (or failed to re-bind). */
  current: Receiver | null = null;
  /** The DICOM TLS listener, or null when `receive.tls` is off (or failed to start). */
  tls: Receiver | null = null;
  readonly #deps: ReceiverBindingDeps;
  /** Receivers replaced or switched off, letting their associations finish: their close. */
  readonly #draining = new Map<Receiver, Promise<void>>();
  /** One association limit for every receiver of this binding. */
  readonly #slots = new AssociationSlots(1);
  #policy: PeerPolicy = PeerPolicy.open;
  /** The `receive.tls` settings of the TLS listener running, for re-reading its files. */
  #tlsSettings: ReceiveTlsSettings | null = null;
  #stopWatching: (() => void) | null = null;

  constructor(deps: ReceiverBindingDeps) {
    this.#deps = deps;
  }

  /** The DICOM port bound, or null. */
  get port(): number | null {
    return this.current?.port ?? null;
  }

  /** The DICOM TLS port bound, or null. */
  get tlsPort(): number | null {
    return this.tls?.port ?? null;
  }

  /** Associations open on the current receivers and on those still draining. */
  get activeAssociations(): number {
    let count = 0;
    for (const receiver of this.#all()) count += receiver.activeAssociations;
    return count;
  }

  /**
   * Resolves the known peers (a host name that does not resolve then matches no address, and
   * is logged) and sets the association limit: before the first listener starts.
   */
  async prepare(settings: Config['receive']): Promise<void> {
    this.#slots.max = settings.maxAssociations;
    this.#policy = await PeerPolicy.resolve(settings.allowedPeers, this.#resolver(), (issue) =>
      this.#deps.log.error({ key: issue.key, host: issue.value }, `${issue.text}: that peer is refused until it resolves (on Save or at the next start)`));
  }

  /** Starts the first receiver; rejects with the system error when the port cannot be bound. */
  async start(settings: ReceiverSettings): Promise<void> {
    this.current = await this.#listen(settings);
  }

  /**
   * Starts the DICOM TLS listener; rejects with a ConfigError naming the `receive.tls` file at
   * fault, or with the system error when the port cannot be bound.
   */
  async startTls(settings: Config['receive']): Promise<void> {
    const material = await loadListenerTls(settings.tls);
    this.tls = await this.#listenTls(settings, material);
  }

  /**
   * Applies changed receive settings: re-binds when a {@link LISTENER_KEYS} setting changed,
   * else hands new timeouts to the running receiver. Adds one line per change for people.
   * Throws a ConfigError naming `receive.port` or `receive.host` when the new listener cannot
   * be bound; everything is then as before.
   */
  async apply(prev: Config['receive'], next: Config['receive'], changes: string[]): Promise<void> {
    // What can refuse the settings comes first, before anything changes.
    const peersChanged = JSON.stringify(prev.allowedPeers) !== JSON.stringify(next.allowedPeers);
    const policy = peersChanged ? await PeerPolicy.resolve(next.allowedPeers, this.#resolver()) : this.#policy;
    const tlsRebind = next.tls.enabled !== prev.tls.enabled
      || (next.tls.enabled && (prev.tls.port !== next.tls.port || prev.tls.requireClientCert !== next.tls.requireClientCert || TLS_LISTENER_KEYS.some((key) => prev[key] !== next[key]) || this.tls === null));
    const material = next.tls.enabled ? await loadListenerTls(next.tls) : null;

    if (prev.maxAssociations !== next.maxAssociations) this.#slots.max = next.maxAssociations;
    const rebind = LISTENER_KEYS.some((key) => prev[key] !== next[key]);
    try {
      if (rebind) await this.#rebind(prev, next, changes);
      else if (TIMEOUT_KEYS.some((key) => prev[key] !== next[key])) this.current?.setTimeouts(next);
      if (tlsRebind) await this.#rebindTls(prev, next, material, changes);
      else if (material !== null && this.tls !== null) {
        // On Save the files are read again: a renewed certificate needs no restart.
        this.tls.setSecureContext?.(listenerSecureContext(material));
        this.#watchTls(next.tls);
        if (listenerTlsFiles(prev.tls).join('\n') !== listenerTlsFiles(next.tls).join('\n')) changes.push('DICOM TLS certificate files changed and reloaded');
        if (TIMEOUT_KEYS.some((key) => prev[key] !== next[key])) this.tls.setTimeouts(next);
      }
    } catch (err) {
      this.#slots.max = prev.maxAssociations;
      throw err;
    }
    if (peersChanged) {
      this.#policy = policy;
      changes.push(policy.open ? 'DICOM peers: any calling AE title accepted' : `DICOM peers: only the ${next.allowedPeers.length} known peer(s) accepted`);
    }
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
    this.#unwatchTls();
    const tls = this.tls;
    this.tls = null;
    if (tls !== null) {
      await tls.close();
      this.#deps.onEnded?.(tls);
    }
    const current = this.current;
    this.current = null;
    if (current !== null) {
      await current.close();
      this.#deps.onEnded?.(current);
    }
    await Promise.all([...this.#draining].map(([receiver, drained]) => Promise.all([receiver.close(), drained])));
  }

  #all(): Receiver[] {
    return [...(this.current ? [this.current] : []), ...(this.tls ? [this.tls] : []), ...this.#draining.keys()];
  }

  #resolver(): HostResolver {
    return this.#deps.resolveHost ?? systemResolver;
  }

  #extras(): ReceiverExtras {
    return { slots: this.#slots, acceptPeer: (peer) => this.#policy.check(peer) };
  }

  async #listen(settings: ReceiverSettings): Promise<Receiver> {
    const receiver = await this.#deps.start(settings, this.#extras());
    this.#deps.onStarted?.(receiver);
    return receiver;
  }

  /** Starts a TLS listener with loaded material and watches its files for a renewal. */
  async #listenTls(settings: Config['receive'], material: TlsMaterial): Promise<Receiver> {
    const tls: AcceptorTls = { secureContext: listenerSecureContext(material), requireClientCert: settings.tls.requireClientCert };
    const receiver = await this.#deps.start({ ...settings, port: settings.tls.port }, { ...this.#extras(), tls });
    this.#deps.onStarted?.(receiver);
    this.#watchTls(settings.tls);
    this.#deps.log.info({ port: receiver.port, subject: material.certificate?.subject, validTo: material.certificate?.validTo, requireClientCert: settings.tls.requireClientCert }, 'DICOM TLS certificate in use');
    return receiver;
  }

  /** Watches the TLS listener's files; a change re-reads them for the next connections. */
  #watchTls(settings: ReceiveTlsSettings): void {
    this.#stopWatching?.();
    this.#tlsSettings = settings;
    this.#stopWatching = watchTlsFiles(listenerTlsFiles(settings), () => void this.reloadTls('the certificate files changed'), this.#deps.tlsWatchIntervalMs);
  }

  #unwatchTls(): void {
    this.#stopWatching?.();
    this.#stopWatching = null;
    this.#tlsSettings = null;
  }

  /**
   * Re-reads the TLS listener's certificate, key and CA bundle and hands them to it for the
   * next connections (open associations keep theirs). Unusable files are logged and the
   * material in use stays. Resolves true when the new material is in use.
   */
  async reloadTls(why: string): Promise<boolean> {
    const settings = this.#tlsSettings;
    const receiver = this.tls;
    if (settings === null || receiver === null) return false;
    let material: TlsMaterial;
    try {
      material = await loadListenerTls(settings);
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message }, `DICOM TLS certificate not reloaded (${why}); the one in use stays`);
      return false;
    }
    if (this.tls !== receiver) return false;
    receiver.setSecureContext?.(listenerSecureContext(material));
    this.#deps.log.info({ subject: material.certificate?.subject, validTo: material.certificate?.validTo }, `DICOM TLS certificate reloaded (${why})`);
    return true;
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

  async #rebindTls(prev: Config['receive'], next: Config['receive'], material: TlsMaterial | null, changes: string[]): Promise<void> {
    const old = this.tls;
    if (next.tls.enabled && material !== null) {
      const sameAddress = old !== null && prev.host === next.host && prev.tls.port === next.tls.port;
      if (sameAddress) old.stopListening();
      let started: Receiver;
      try {
        started = await this.#listenTls(next, material);
      } catch (err) {
        if (sameAddress) await this.#restoreTls(old, prev);
        throw listenError(err, { host: next.host, port: next.tls.port }, 'receive.tls.port');
      }
      this.tls = started;
      if (old) this.#retire(old);
      const where = `${next.host}:${started.port}`;
      if (!prev.tls.enabled || old === null) changes.push(`DICOM TLS receiving now on, listening on ${where}`);
      else if (prev.host !== next.host || prev.tls.port !== next.tls.port) changes.push(`DICOM TLS receiver now listening on ${where}`);
      if (prev.tls.requireClientCert !== next.tls.requireClientCert) {
        changes.push(next.tls.requireClientCert ? 'DICOM TLS peers must now present a trusted client certificate' : 'DICOM TLS peers no longer need a client certificate');
      }
    } else if (old !== null) {
      this.tls = null;
      this.#unwatchTls();
      this.#retire(old);
      changes.push('DICOM TLS receiving now off');
    }
  }

  /** After a failed re-bind of the TLS listener's address: listen with the old settings again. */
  async #restoreTls(old: Receiver, prev: Config['receive']): Promise<void> {
    try {
      this.tls = await this.#listenTls(prev, await loadListenerTls(prev.tls));
    } catch (err) {
      this.tls = null;
      this.#unwatchTls();
      this.#deps.log.error({ err, host: prev.host, port: prev.tls.port }, 'DICOM TLS receiver could not listen again with the previous settings; TLS receiving is off');
    }
    this.#retire(old);
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
