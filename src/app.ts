/**
 * createBridge: the composition root (SPEC §1, §3). Wires the storage folders, the log book,
 * the study tracker, study completion and the DICOM receiver; used by main.ts and by tests,
 * which build the system under test on temp folders and port 0.
 *
 * A running bridge also applies saved settings without a restart (SPEC §7, `reconfigure`):
 * the receiver is re-bound where needed (bridge/receive/receiver-binding.ts), sending is
 * switched or re-targeted (bridge/send/sending.ts), and every other setting is read afresh
 * where it is used.
 */
import { EventEmitter } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cridTag } from './config/load.js';
import type { Config, LogLevel } from './config/schema.js';
import type { Logger } from './dicom/ul/logger.js';
import { openLogBook, type LogBook } from './logbook/logbook.js';
import { DiskGuard } from './bridge/receive/disk-guard.js';
import { fsyncDir } from './bridge/durable-fs.js';
import { recoverIncoming } from './bridge/receive/recover-incoming.js';
import { startReceiver, type Receiver } from './bridge/receive/receiver.js';
import { ReceiverBinding } from './bridge/receive/receiver-binding.js';
import { recoverPublishing, StudyCompletion, type StudyOutcome } from './bridge/receive/study-completion.js';
import { ensureStorageLayout, storageLayout, type StorageLayout } from './bridge/storage-layout.js';
import { StudyTracker } from './bridge/study/tracker.js';
import type { SendOutcome } from './bridge/send/outbox-sender.js';
import type { OpenFd } from './bridge/send/outbox-zip.js';
import { Sending } from './bridge/send/sending.js';
import { createLogger } from './log.js';
import { BridgeCounters } from './bridge/metrics.js';
import { startRetention, type RetentionService } from './bridge/housekeeping/retention.js';
import { ProgressRegistry } from './bridge/progress/registry.js';
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
  /** The DICOM TLS port actually bound, or null when `receive.tls` is off. */
  readonly receiveTlsPort?: number | null;
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
  /** Studies being received or zipped and the ZIP being sent, item by item (the GUI's "In progress"). */
  readonly progress: ProgressRegistry;
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
  readonly receiving: ReceiverBinding;
  retention: RetentionService | null = null;
  readonly sending: Sending;
  readonly counters = new BridgeCounters();
  readonly progress = new ProgressRegistry();
  readonly tracker: StudyTracker;
  readonly completion: StudyCompletion;
  readonly diskGuard: DiskGuard;
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
      progress: this.progress,
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
      progress: this.progress,
    });
    this.receiving = new ReceiverBinding({
      start: (settings, extras) =>
        startReceiver(settings, { incomingDir: layout.incoming, tracker: this.tracker, log, diskGuard: this.diskGuard, cridTag: () => cridTag(current()), ...extras }),
      onStarted: (receiver) => this.counters.receiverStarted(receiver),
      onEnded: (receiver) => this.counters.receiverEnded(receiver),
      log,
    });
    this.tracker = new StudyTracker({
      stagingDir: layout.staging,
      quietMs: config.receive.timeoutSeconds * 1000,
      // Read at each placement, so a changed `receive.fsync` applies to studies in progress.
      get fsync() {
        return current().receive.fsync;
      },
      syncIncoming: () => fsyncDir(layout.incoming),
      onComplete: (study) => void this.completion.enqueue(study),
      onPlaced: (bytes) => this.counters.noteInstanceReceived(bytes),
      progress: this.progress,
    });
  }

  /** The receiver taking new connections (settable for tests that simulate a failed re-bind). */
  get receiver(): Receiver | null {
    return this.receiving.current;
  }

  set receiver(receiver: Receiver | null) {
    this.receiving.current = receiver;
  }

  get receivePort(): number | null {
    return this.receiving.port;
  }

  get receiveTlsPort(): number | null {
    return this.receiving.tlsPort;
  }

  get activeAssociations(): number {
    return this.receiving.activeAssociations;
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
    this.receiving.stopListening();
    await this.reconfiguring; // a re-bind in progress may have opened a new listener
    await this.receiving.drain(drainMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.reconfiguring;
    await this.sending.stop();
    // A shutdown does not wait for the drain: what is still open is aborted now.
    await this.receiving.close();
    await this.tracker.dispose();
    await this.completion.idle();
    await this.retention?.stop();
    this.logBook.close();
  }

  private async apply(next: Config): Promise<string[]> {
    if (this.stopped) throw new Error('the bridge is stopped');
    const prev = this.config;
    if (next.storageFolder !== prev.storageFolder) {
      throw new TypeError('reconfigure cannot change storageFolder: stop the bridge and start it with the new folder');
    }
    const changes: string[] = [];
    await this.receiving.apply(prev.receive, next.receive, changes);
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

  // Recovery: a committed file in the incoming folder joins its study; any other is an
  // instance never acknowledged. Staged folders hold acknowledged instances and are completed
  // as usual.
  await recoverIncoming(layout.incoming, layout.staging, log);
  await recoverPublishing(layout, log);
  for (const name of await readdir(layout.zipTemp)) await rm(join(layout.zipTemp, name), { force: true, recursive: true });
  const staged = await readdir(layout.staging);
  for (const name of staged) tracker.adopt(join(layout.staging, name));
  if (staged.length > 0) log.info({ studies: staged.length }, 'recovered staged studies from the last run');

  await bridge.receiving.prepare(config.receive);
  if (config.receive.enabled) {
    try {
      await bridge.receiving.start(config.receive);
    } catch (err) {
      await bridge.stop();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      // Not a ConfigError (exit 78, which systemd does not restart): a port taken at boot may be free a moment later.
      throw new Error(`receive.host/receive.port: cannot listen on ${config.receive.host}:${config.receive.port} (${code})`, { cause: err });
    }
  }
  if (config.receive.tls.enabled) {
    try {
      await bridge.receiving.startTls(config.receive);
    } catch (err) {
      await bridge.stop();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined || code === 'ERR_CONFIG') throw err;
      throw new Error(`receive.host/receive.tls.port: cannot listen on ${config.receive.host}:${config.receive.tls.port} (${code})`, { cause: err });
    }
  }
  if (config.send.enabled) await bridge.sending.start();
  // SPEC §3: failed items older than keepFailedDays go, at start and then hourly.
  bridge.retention = startRetention({ layout, logBook, log: log.child({ component: 'retention' }), keepFailedDays: () => bridge.config.keepFailedDays });
  return bridge;
}
