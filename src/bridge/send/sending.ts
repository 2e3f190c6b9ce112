/**
 * The sending side of a running bridge (SPEC §2, §7): the Outbox_Auto watcher and the sender,
 * switched on and off and re-tuned by saved settings without a restart. The sender reads the
 * target, retries and timeouts live for every ZIP and retry; the watcher is restarted when
 * its own timings change. Kept apart from the composition root so app.ts only wires.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import type { ProgressRegistry } from '../progress/registry.js';
import type { StorageLayout } from '../storage-layout.js';
import { OutboxSender, type SendOutcome, type SendSettings } from './outbox-sender.js';
import { OutboxWatcher } from './outbox-watcher.js';
import { isZipComplete, type OpenFd } from './outbox-zip.js';
import type { SendTarget } from './scu-session.js';

/**
 * ZIPs claimed ahead of the one being sent. A few keep the sender busy; the rest stay in
 * Outbox_Auto, where the CRYPE app and people still see (and may withdraw) them.
 */
export const MAX_CLAIMED_AHEAD = 2;

/** What {@link Sending} needs of the bridge. */
export interface SendingDeps {
  layout: StorageLayout;
  logBook: LogBook;
  log: Logger;
  /** The settings in force, read live. */
  config(): Config;
  onOutcome(outcome: SendOutcome): void;
  onInstanceSent?(datasetBytes: number): void;
  /** Opens Outbox ZIPs (node:fs `open` by default); a seam for fault tests. */
  openFd?: OpenFd;
  /** Where the ZIP being sent is shown (GUI). */
  progress?: ProgressRegistry;
}

/** The sender's settings as live views of the current config: a retry reads the target anew. */
function liveSendSettings(current: () => Config): SendSettings {
  return {
    get target() {
      const send = current().send;
      return sendTargetOf(send);
    },
    get retries() {
      return current().send.retries;
    },
    get retryDelayMs() {
      return current().send.retryDelaySeconds * 1000;
    },
    get timeoutMs() {
      return current().send.timeoutSeconds * 1000;
    },
    get maxPduLength() {
      return current().receive.maxPduLength;
    },
    get associations() {
      return current().send.associations;
    },
  };
}

/** Where and how to send, from the `send` settings: the PACS, the AE titles and, when on, TLS. */
export function sendTargetOf(send: Config['send']): SendTarget {
  const { host, port, callingAeTitle, calledAeTitle, tls } = send;
  return {
    host,
    port,
    callingAeTitle,
    calledAeTitle,
    ...(tls.enabled ? { tls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } } : {}),
  };
}

/** `PACS@10.0.0.1:104`: the send target as people write it. */
export function sendTarget(send: Config['send']): string {
  return `${send.calledAeTitle}@${send.host}:${send.port}`;
}

/** Watches Outbox_Auto and sends, while `send.enabled`. */
export class Sending {
  private watcher: OutboxWatcher | null = null;
  private sender: OutboxSender;
  /** Senders stopped by switching sending off: resolves once their current ZIP is done. */
  private sendersStopped: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SendingDeps) {
    this.sender = this.createSender();
  }

  /** Outbox ZIPs seen but not yet complete, plus those claimed and not yet sent. */
  get waiting(): number {
    return (this.watcher?.waiting ?? 0) + this.sender.backlog;
  }

  /** Files in Outbox_Auto that stay unchanged but do not read as a ZIP (not yet given up). */
  get unreadable(): number {
    return this.watcher?.unreadable ?? 0;
  }

  /** Sends what an earlier run (or sending before it was switched off) had taken, then watches Outbox_Auto. */
  async start(): Promise<void> {
    // A stopped sender may still be finishing a ZIP that is also in the claim folder.
    await this.sendersStopped;
    const { layout, log } = this.deps;
    // Claimed names start with the claim time: sorted is oldest first.
    const claimed = (await readdir(layout.outboxClaimed)).filter((n) => n.toLowerCase().endsWith('.zip')).sort();
    if (claimed.length > 0) log.info({ zips: claimed.length }, 'sending ZIPs taken before the last stop');
    for (const name of claimed) void this.sender.enqueue(join(layout.outboxClaimed, name));
    this.startWatcher();
  }

  /** Shutdown: stops watching, lets the ZIP being sent stop between instances, waits for it. */
  async stop(): Promise<void> {
    await this.watcher?.stop();
    this.watcher = null;
    await this.sender.stop();
    await this.sendersStopped;
  }

  /**
   * Switches sending on or off, or restarts the watcher, for settings going from `prev` to
   * `next`; appends one line per change for people. The target is read per ZIP and retry.
   */
  async apply(prev: Config['send'], next: Config['send'], changes: string[]): Promise<void> {
    if (!prev.enabled && next.enabled) {
      await this.start();
      changes.push(`sending now on, to ${sendTarget(next)}`);
    } else if (prev.enabled && !next.enabled) {
      await this.switchOff();
      changes.push('sending now off (a ZIP being sent finishes)');
    } else if (next.enabled) {
      if (prev.scanIntervalSeconds !== next.scanIntervalSeconds || prev.stableSeconds !== next.stableSeconds || prev.incompleteZipSeconds !== next.incompleteZipSeconds) {
        await this.watcher?.stop();
        this.startWatcher();
      }
      if (sendTarget(prev) !== sendTarget(next)) changes.push(`sending now to ${sendTarget(next)}`);
    }
    if (prev.tls.enabled !== next.tls.enabled) changes.push(next.tls.enabled ? 'sending now over DICOM TLS' : 'sending now over plain DICOM (TLS off)');
    if (prev.callingAeTitle !== next.callingAeTitle) changes.push(`sending AE title now ${next.callingAeTitle}`);
    if (prev.retries !== next.retries) changes.push(`send retries now ${next.retries}`);
    if (prev.retryDelaySeconds !== next.retryDelaySeconds) changes.push(`first send retry now after ${next.retryDelaySeconds} s`);
    if (prev.timeoutSeconds !== next.timeoutSeconds) changes.push(`send timeout now ${next.timeoutSeconds} s`);
    if (prev.associations !== next.associations) changes.push(`parallel associations per ZIP now ${next.associations} (from the next ZIP)`);
    if (prev.scanIntervalSeconds !== next.scanIntervalSeconds) changes.push(`Outbox_Auto rescan now every ${next.scanIntervalSeconds} s`);
    if (prev.stableSeconds !== next.stableSeconds) changes.push(`Outbox ZIPs now taken after ${next.stableSeconds} s unchanged`);
    if (prev.incompleteZipSeconds !== next.incompleteZipSeconds) changes.push(`unreadable Outbox files now go to Outbox_Failed after ${next.incompleteZipSeconds} s unchanged`);
  }

  private createSender(): OutboxSender {
    return new OutboxSender({
      layout: this.deps.layout,
      logBook: this.deps.logBook,
      log: this.deps.log,
      settings: () => liveSendSettings(this.deps.config),
      onOutcome: (outcome) => {
        // A place ahead of the sender is free: take the next ZIP now, not at the next rescan.
        this.watcher?.poke();
        this.deps.onOutcome(outcome);
      },
      onInstanceSent: this.deps.onInstanceSent,
      openFd: this.deps.openFd,
      progress: this.deps.progress,
    });
  }

  private startWatcher(): void {
    const { send } = this.deps.config();
    const sender = this.sender;
    this.watcher = new OutboxWatcher({
      outboxDir: this.deps.layout.outboxAuto,
      claimDir: this.deps.layout.outboxClaimed,
      scanIntervalMs: send.scanIntervalSeconds * 1000,
      stableMs: send.stableSeconds * 1000,
      incompleteMs: send.incompleteZipSeconds * 1000,
      isComplete: isZipComplete,
      onClaimed: (path) => void sender.enqueue(path),
      onUnreadable: (path, reason) => void sender.rejectUnreadable(path, reason),
      claimBudget: () => MAX_CLAIMED_AHEAD - sender.waiting,
      log: this.deps.log.child({ component: 'outbox' }),
    });
    this.watcher.start();
  }

  /**
   * Stops watching and sending between ZIPs: the ZIP being sent finishes, queued ones stay
   * claimed and are sent when sending is switched on again (or at the next start).
   */
  private async switchOff(): Promise<void> {
    await this.watcher?.stop();
    this.watcher = null;
    const old = this.sender;
    this.sender = this.createSender();
    const stopping = old.stop().catch((err: unknown) => this.deps.log.error({ err }, 'stopping the sender failed'));
    this.sendersStopped = Promise.all([this.sendersStopped, stopping]).then(() => undefined);
  }
}
