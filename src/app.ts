/**
 * createBridge: the composition root (SPEC §1, §3). Wires the storage folders, the log book,
 * the study tracker, study completion and the DICOM receiver; used by main.ts and by tests,
 * which build the system under test on temp folders and port 0.
 *
 * A running bridge also applies saved settings without a restart (SPEC §7, `reconfigure`):
 * the receiver is re-bound (the new listener first, so a port that cannot be bound changes
 * nothing), associations on the old one may finish their transfer, sending is switched or
 * re-targeted (bridge/send/sending.ts), and every other setting is read afresh where it is used.
 */
import { EventEmitter } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cridTag } from './config/load.js';
import { ConfigError, configIssue } from './config/errors.js';
import type { Config, LogLevel } from './config/schema.js';
import type { Logger } from './dicom/ul/logger.js';
import { openLogBook, type LogBook } from './logbook/logbook.js';
import { DiskGuard } from './bridge/receive/disk-guard.js';
import { startReceiver, type Receiver, type ReceiverSettings } from './bridge/receive/receiver.js';
import { StudyCompletion, type StudyOutcome } from './bridge/receive/study-completion.js';
import { ensureStorageLayout, storageLayout, type StorageLayout } from './bridge/storage-layout.js';
import { StudyTracker } from './bridge/study/tracker.js';
import type { SendOutcome } from './bridge/send/outbox-sender.js';
import type { OpenFd } from './bridge/send/outbox-zip.js';
import { Sending } from './bridge/send/sending.js';
import { createLogger } from './log.js';
import { BridgeCounters } from './bridge/metrics.js';
import { startRetention, type RetentionService } from './bridge/housekeeping/retention.js';
import { retryFailedItem, type RetryKind, type RetryResult } from './bridge/housekeeping/retry.js';

/** Events a bridge emits: `study` after each completed or failed study, `send` after each Outbox ZIP. */
export interface BridgeEvents {
  study: [StudyOutcome];
  send: [SendOutcome];
}

/** A running bridge. */
export interface Bridge extends EventEmitter<BridgeEvents> {
  /** The settings in force (the last ones `reconfigure` applied). */
  readonly config: Config;
  readonly layout: StorageLayout;
  readonly logBook: LogBook;
  readonly log: Logger;
  /** The DICOM port actually bound, or null when receiving is off. */
  readonly receivePort: number | null;
  /** Studies being staged or zipped. */
  readonly studiesInProgress: number;
  /** DICOM associations currently open (on a replaced receiver still finishing too). */
  readonly activeAssociations: number;
  /** Outbox ZIPs seen but not yet complete, plus those being sent. */
  readonly outboxWaiting: number;
  /** Files in Outbox_Auto that stay unchanged but do not read as a ZIP (counted apart). */
  readonly outboxUnreadable: number;
  /** Cumulative counts for GET /metrics (received, sent, studies, associations). */
  readonly counters: BridgeCounters;
  /** Refuses C-STOREs (A700) while free space is below `minFreeDiskMegabytes` (read live). */
  readonly diskGuard: DiskGuard;
  /**
   * Applies validated settings at once, without a restart, and returns one line per change for
   * people ("DICOM receiver now listening on 127.0.0.1:11113"). The storage folder must stay
   * the same (TypeError otherwise: that needs a full stop and start). If the receiver cannot
   * listen with the new settings this rejects with a ConfigError naming `receive.port` or
   * `receive.host`, and the bridge keeps running as before. Calls run one after the other.
   * Afterwards `config` is `next` (which the caller must not change any more).
   */
  reconfigure(next: Config): Promise<string[]>;
  /** Completes every staged study now and waits for the ZIPs (tests, shutdown). */
  flush(): Promise<void>;
  /**
   * Sends a failed item through again (the GUI's Retry): an Outbox_Failed ZIP back into
   * Outbox_Auto, an Inbox_Failed study folder zipped again. Rejects with a RetryError for a name
   * that is not one item of that folder.
   */
  retry(kind: RetryKind, name: unknown): Promise<RetryResult>;
  /**
   * First step of a graceful shutdown: refuses further reconfiguration, stops accepting
   * associations at once and lets the open ones finish for up to `drainMs`, then aborts them
   * (A-ABORT; an instance cut short leaves no file). Call `stop()` afterwards.
   */
  stopReceiving(drainMs: number): Promise<void>;
  /** Stops listening and closes the log book. Staged studies stay for the next start. */
  stop(): Promise<void>;
}

/** Optional collaborators, for tests. */
export interface BridgeDeps {
  log?: Logger;
  /** Opens Outbox ZIPs for sending (node:fs `open` by default): fault tests inject errors. */
  openFd?: OpenFd;
}

/**
 * How long associations open on a receiver that was re-bound or switched off may still run
 * before they are aborted (a PACS in the middle of a study finishes it).
 */
const RECEIVER_DRAIN_MS = 30_000;

/** Receive settings that need a new listener when they change. */
const LISTENER_KEYS = ['enabled', 'host', 'port', 'aeTitle', 'maxAssociations', 'maxPduLength', 'fsync'] as const;

/**
 * The ConfigError for a listener that could not be bound: the host key when the address is not
 * one of this machine, else the port key. Errors without a system code are not about settings.
 */
function listenError(err: unknown, settings: ReceiverSettings): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return err;
  const issue = code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT'
    ? configIssue('receive.host', `must be an address of this machine (${code})`, settings.host)
    : configIssue('receive.port', `must be a port this machine can listen on (${code})`, settings.port);
  return new ConfigError([issue], { cause: err });
}

/** Sets the level of a logger that has a settable `level` (pino); false when it has none. */
function setLogLevel(log: Logger, level: LogLevel): boolean {
  for (let proto: object | null = log; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, 'level');
    if (!descriptor) continue;
    if (!descriptor.set && !descriptor.writable) return false;
    (log as unknown as { level: string }).level = level;
    return true;
  }
  return false;
}

class DicomBridge extends EventEmitter<BridgeEvents> implements Bridge {
  receiver: Receiver | null = null;
  retention: RetentionService | null = null;
  readonly sending: Sending;
  readonly counters = new BridgeCounters();
  readonly tracker: StudyTracker;
  readonly completion: StudyCompletion;
  readonly diskGuard: DiskGuard;
  /** Receivers replaced or switched off, letting their associations finish: their close. */
  private readonly draining = new Map<Receiver, Promise<void>>();
  /** The last reconfiguration (settled, never rejects): the next one waits for it. */
  private reconfiguring: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    public config: Config,
    readonly layout: StorageLayout,
    readonly logBook: LogBook,
    readonly log: Logger,
    openFd?: OpenFd,
  ) {
    super();
    const current = (): Config => this.config;
    this.diskGuard = new DiskGuard({ dir: layout.root, minFreeMegabytes: () => current().minFreeDiskMegabytes, log });
    this.completion = new StudyCompletion({
      layout,
      logBook,
      log,
      settings: () => ({
        cridTag: cridTag(current()),
        compressionLevel: current().receive.zipCompressionLevel,
        fsync: current().receive.fsync,
      }),
      onOutcome: (outcome) => {
        this.counters.noteStudyCompleted(outcome.inbox);
        this.emit('study', outcome);
      },
    });
    this.sending = new Sending({
      layout,
      logBook,
      log,
      config: current,
      onOutcome: (outcome) => {
        this.counters.noteZipSent(outcome.status === 'Success');
        this.emit('send', outcome);
      },
      onInstanceSent: (bytes) => this.counters.noteInstanceSent(bytes),
      openFd,
    });
    this.tracker = new StudyTracker({
      stagingDir: layout.staging,
      quietMs: config.receive.timeoutSeconds * 1000,
      // Read at each placement, so a changed `receive.fsync` applies to studies in progress.
      get fsync() {
        return current().receive.fsync;
      },
      onComplete: (study) => void this.completion.enqueue(study),
      onPlaced: (bytes) => this.counters.noteInstanceReceived(bytes),
    });
  }

  get receivePort(): number | null {
    return this.receiver?.port ?? null;
  }

  get activeAssociations(): number {
    let count = this.receiver?.activeAssociations ?? 0;
    for (const receiver of this.draining.keys()) count += receiver.activeAssociations;
    return count;
  }

  get outboxWaiting(): number {
    return this.sending.waiting;
  }

  get outboxUnreadable(): number {
    return this.sending.unreadable;
  }

  get studiesInProgress(): number {
    return this.tracker.size + this.completion.backlog;
  }

  async flush(): Promise<void> {
    await this.tracker.completeAll();
    await this.completion.idle();
  }

  retry(kind: RetryKind, name: unknown): Promise<RetryResult> {
    if (this.stopped) return Promise.reject(new Error('the bridge is stopped'));
    const { layout, logBook, log, completion } = this;
    return retryFailedItem({ layout, logBook, log, enqueueStudy: (study) => completion.enqueue(study) }, kind, name);
  }

  reconfigure(next: Config): Promise<string[]> {
    const run = this.reconfiguring.then(() => this.apply(next));
    this.reconfiguring = run.catch(() => undefined);
    return run;
  }

  async stopReceiving(drainMs: number): Promise<void> {
    this.stopped = true;
    const receivers = (): Receiver[] => [...(this.receiver ? [this.receiver] : []), ...this.draining.keys()];
    for (const receiver of receivers()) receiver.stopListening();
    await this.reconfiguring; // a re-bind in progress may have opened a new listener
    await Promise.all(receivers().map((receiver) => receiver.close({ drainMs })));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.reconfiguring;
    await this.sending.stop();
    await this.receiver?.close();
    if (this.receiver) this.counters.receiverEnded(this.receiver);
    this.receiver = null;
    // A shutdown does not wait for the drain: what is still open is aborted now.
    await Promise.all([...this.draining].map(([receiver, drained]) => Promise.all([receiver.close(), drained])));
    await this.tracker.dispose();
    await this.completion.idle();
    await this.retention?.stop();
    this.logBook.close();
  }

  /** Starts the DICOM listener with these settings. */
  listen(settings: ReceiverSettings): Promise<Receiver> {
    return startReceiver(settings, { incomingDir: this.layout.incoming, tracker: this.tracker, log: this.log, diskGuard: this.diskGuard, cridTag: () => cridTag(this.config) }).then((receiver) => {
      this.counters.receiverStarted(receiver);
      return receiver;
    });
  }

  /** Lets a replaced receiver's associations finish (bounded), then closes it. */
  private retire(receiver: Receiver): void {
    receiver.stopListening();
    const drained = receiver
      .close({ drainMs: RECEIVER_DRAIN_MS })
      .catch((err: unknown) => this.log.error({ err }, 'closing the replaced DICOM receiver failed'))
      .finally(() => {
        this.draining.delete(receiver);
        this.counters.receiverEnded(receiver);
      });
    this.draining.set(receiver, drained);
  }

  private async apply(next: Config): Promise<string[]> {
    if (this.stopped) throw new Error('the bridge is stopped');
    const prev = this.config;
    if (next.storageFolder !== prev.storageFolder) {
      throw new TypeError('reconfigure cannot change storageFolder: stop the bridge and start it with the new folder');
    }
    const changes: string[] = [];
    await this.applyReceiver(prev.receive, next.receive, changes);
    // From here on nothing can refuse the settings.
    this.config = next;

    const r0 = prev.receive;
    const r1 = next.receive;
    if (r0.timeoutSeconds !== r1.timeoutSeconds) {
      this.tracker.setQuietMs(r1.timeoutSeconds * 1000);
      changes.push(`study timeout now ${r1.timeoutSeconds} s`);
    }
    if (r0.cridTagGroup !== r1.cridTagGroup || r0.cridTagElement !== r1.cridTagElement) {
      changes.push(cridTag(next) === null ? 'CRYPE IDs now off' : `CRYPE ID tag now (${r1.cridTagGroup},${r1.cridTagElement})`);
    }
    if (r0.zipCompressionLevel !== r1.zipCompressionLevel) changes.push(`ZIP compression level now ${r1.zipCompressionLevel}`);
    if (prev.minFreeDiskMegabytes !== next.minFreeDiskMegabytes) {
      changes.push(next.minFreeDiskMegabytes === 0 ? 'disk space guard now off' : `DICOM storing now refused below ${next.minFreeDiskMegabytes} MB free disk space`);
    }

    await this.sending.apply(prev.send, next.send, changes);

    if (prev.log.level !== next.log.level) {
      changes.push(setLogLevel(this.log, next.log.level) ? `log level now ${next.log.level}` : `log level ${next.log.level} applies at the next start`);
    }
    if (changes.length > 0) this.log.info({ changes }, 'settings applied');
    return changes;
  }

  /**
   * Re-binds the receiver when a listener setting changed. A new address is bound before the
   * old listener stops, so a failure changes nothing; the same address is freed first, and if
   * it cannot be bound again the old settings are restored. Throws ConfigError on failure.
   */
  private async applyReceiver(prev: Config['receive'], next: Config['receive'], changes: string[]): Promise<void> {
    if (LISTENER_KEYS.every((key) => prev[key] === next[key])) return;
    const old = this.receiver;
    if (next.enabled) {
      const sameAddress = old !== null && prev.host === next.host && prev.port === next.port;
      if (sameAddress) old.stopListening();
      try {
        this.receiver = await this.listen(next);
      } catch (err) {
        if (sameAddress) await this.restoreReceiver(old, prev);
        throw listenError(err, next);
      }
      if (old) this.retire(old);
      const where = `${next.host}:${this.receiver.port}`;
      if (!prev.enabled) changes.push(`DICOM receiving now on, listening on ${where}`);
      else if (prev.host !== next.host || prev.port !== next.port) changes.push(`DICOM receiver now listening on ${where}`);
    } else if (prev.enabled) {
      this.receiver = null;
      if (old) this.retire(old);
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
  private async restoreReceiver(old: Receiver, prev: Config['receive']): Promise<void> {
    try {
      this.receiver = await this.listen(prev);
    } catch (err) {
      this.receiver = null;
      this.log.error({ err, host: prev.host, port: prev.port }, 'DICOM receiver could not listen again with the previous settings; receiving is off');
    }
    this.retire(old);
  }

}

/**
 * Builds and starts a bridge: creates the folders, recovers what an earlier run left (partial
 * instances deleted, staged studies completed after the quiet time), and starts receiving.
 */
export async function createBridge(config: Config, deps: BridgeDeps = {}): Promise<Bridge> {
  const layout = storageLayout(config.storageFolder);
  await ensureStorageLayout(layout);
  const log = deps.log ?? createLogger({ level: config.log.level, logsDir: layout.logs, maxFileBytes: config.log.maxFileMegabytes * 1024 * 1024, keepFiles: config.log.keepFiles });
  const logBook = openLogBook(join(layout.logs, 'logbook.sqlite'));

  const bridge = new DicomBridge(config, layout, logBook, log, deps.openFd);
  const { tracker } = bridge;

  // Recovery: a .part file is an instance that was never acknowledged; staged folders hold
  // acknowledged instances and are completed as usual.
  for (const name of await readdir(layout.incoming)) await rm(join(layout.incoming, name), { force: true, recursive: true });
  for (const name of await readdir(layout.zipTemp)) await rm(join(layout.zipTemp, name), { force: true, recursive: true });
  const staged = await readdir(layout.staging);
  for (const name of staged) tracker.adopt(join(layout.staging, name));
  if (staged.length > 0) log.info({ studies: staged.length }, 'recovered staged studies from the last run');

  if (config.receive.enabled) {
    try {
      bridge.receiver = await bridge.listen(config.receive);
    } catch (err) {
      await bridge.stop();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      // Not a ConfigError (exit 78, which systemd does not restart): a port taken at boot may be free a moment later.
      throw new Error(`receive.host/receive.port: cannot listen on ${config.receive.host}:${config.receive.port} (${code})`, { cause: err });
    }
  }
  if (config.send.enabled) await bridge.sending.start();
  // SPEC §3: failed items older than keepFailedDays go, at start and then hourly.
  bridge.retention = startRetention({ layout, logBook, log: log.child({ component: 'retention' }), keepFailedDays: () => bridge.config.keepFailedDays });
  return bridge;
}
