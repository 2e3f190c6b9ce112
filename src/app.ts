/**
 * createBridge: the composition root (SPEC §1, §3). Wires the storage folders, the log book,
 * the study tracker, study completion and the DICOM receiver; used by main.ts and by tests,
 * which build the system under test on temp folders and port 0.
 */
import { EventEmitter } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cridTag } from './config/load.js';
import type { Config } from './config/schema.js';
import type { Logger } from './dicom/ul/logger.js';
import { openLogBook, type LogBook } from './logbook/logbook.js';
import { startReceiver, type Receiver } from './bridge/receive/receiver.js';
import { StudyCompletion, type StudyOutcome } from './bridge/receive/study-completion.js';
import { ensureStorageLayout, storageLayout, type StorageLayout } from './bridge/storage-layout.js';
import { StudyTracker } from './bridge/study/tracker.js';
import { isZipComplete } from './bridge/send/outbox-zip.js';
import { OutboxSender, type SendOutcome } from './bridge/send/outbox-sender.js';
import { OutboxWatcher } from './bridge/send/outbox-watcher.js';
import { createLogger } from './log.js';

/** Events a bridge emits: `study` after each completed or failed study, `send` after each Outbox ZIP. */
export interface BridgeEvents {
  study: [StudyOutcome];
  send: [SendOutcome];
}

/** A running bridge. */
export interface Bridge extends EventEmitter<BridgeEvents> {
  readonly config: Config;
  readonly layout: StorageLayout;
  readonly logBook: LogBook;
  readonly log: Logger;
  /** The DICOM port actually bound, or null when receiving is off. */
  readonly receivePort: number | null;
  /** Studies being staged or zipped. */
  readonly studiesInProgress: number;
  /** DICOM associations currently open. */
  readonly activeAssociations: number;
  /** Outbox ZIPs seen but not yet complete, plus those being sent. */
  readonly outboxWaiting: number;
  /** Completes every staged study now and waits for the ZIPs (tests, shutdown). */
  flush(): Promise<void>;
  /** Stops listening and closes the log book. Staged studies stay for the next start. */
  stop(): Promise<void>;
}

/** Optional collaborators, for tests. */
export interface BridgeDeps {
  log?: Logger;
}

class DicomBridge extends EventEmitter<BridgeEvents> implements Bridge {
  receiver: Receiver | null = null;
  watcher: OutboxWatcher | null = null;
  readonly tracker: StudyTracker;
  readonly completion: StudyCompletion;
  readonly sender: OutboxSender;

  constructor(
    readonly config: Config,
    readonly layout: StorageLayout,
    readonly logBook: LogBook,
    readonly log: Logger,
  ) {
    super();
    this.completion = new StudyCompletion({
      layout,
      logBook,
      log,
      settings: () => ({ cridTag: cridTag(config), compressionLevel: config.receive.zipCompressionLevel, fsync: config.receive.fsync }),
      onOutcome: (outcome) => this.emit('study', outcome),
    });
    this.sender = new OutboxSender({
      layout,
      logBook,
      log,
      settings: () => ({
        target: {
          host: config.send.host,
          port: config.send.port,
          callingAeTitle: config.send.callingAeTitle,
          calledAeTitle: config.send.calledAeTitle,
        },
        retries: config.send.retries,
        retryDelayMs: config.send.retryDelaySeconds * 1000,
        timeoutMs: config.send.timeoutSeconds * 1000,
        maxPduLength: config.receive.maxPduLength,
      }),
      onOutcome: (outcome) => this.emit('send', outcome),
    });
    this.tracker = new StudyTracker({
      stagingDir: layout.staging,
      quietMs: config.receive.timeoutSeconds * 1000,
      fsync: config.receive.fsync,
      onComplete: (study) => void this.completion.enqueue(study),
    });
  }

  get receivePort(): number | null {
    return this.receiver?.port ?? null;
  }

  get activeAssociations(): number {
    return this.receiver?.activeAssociations ?? 0;
  }

  get outboxWaiting(): number {
    return (this.watcher?.waiting ?? 0) + this.sender.backlog;
  }

  get studiesInProgress(): number {
    return this.tracker.size + this.completion.backlog;
  }

  async flush(): Promise<void> {
    await this.tracker.completeAll();
    await this.completion.idle();
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
    this.watcher = null;
    await this.sender.stop();
    await this.receiver?.close();
    this.receiver = null;
    await this.tracker.dispose();
    await this.completion.idle();
    this.logBook.close();
  }
}

/**
 * Builds and starts a bridge: creates the folders, recovers what an earlier run left (partial
 * instances deleted, staged studies completed after the quiet time), and starts receiving.
 */
export async function createBridge(config: Config, deps: BridgeDeps = {}): Promise<Bridge> {
  const layout = storageLayout(config.storageFolder);
  await ensureStorageLayout(layout);
  const log = deps.log ?? createLogger({ level: config.log.level, logsDir: layout.logs });
  const logBook = openLogBook(join(layout.logs, 'logbook.sqlite'));

  const bridge = new DicomBridge(config, layout, logBook, log);
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
      bridge.receiver = await startReceiver(config.receive, { incomingDir: layout.incoming, tracker, log });
    } catch (err) {
      await bridge.stop();
      throw err;
    }
  }
  if (config.send.enabled) await startSending(bridge);
  return bridge;
}

/** Sends what an earlier run had taken from Outbox_Auto, then watches it. */
async function startSending(bridge: DicomBridge): Promise<void> {
  const { layout, config, log } = bridge;
  // Claimed names start with the claim time: sorted is oldest first.
  const claimed = (await readdir(layout.outboxClaimed)).filter((n) => n.toLowerCase().endsWith('.zip')).sort();
  if (claimed.length > 0) log.info({ zips: claimed.length }, 'sending ZIPs taken before the last stop');
  for (const name of claimed) void bridge.sender.enqueue(join(layout.outboxClaimed, name));
  bridge.watcher = new OutboxWatcher({
    outboxDir: layout.outboxAuto,
    claimDir: layout.outboxClaimed,
    scanIntervalMs: config.send.scanIntervalSeconds * 1000,
    stableMs: config.send.stableSeconds * 1000,
    isComplete: isZipComplete,
    onClaimed: (path) => void bridge.sender.enqueue(path),
    log: log.child({ component: 'outbox' }),
  });
  bridge.watcher.start();
}
