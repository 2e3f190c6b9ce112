/**
 * Sends each claimed Outbox ZIP to the PACS (SPEC §2): every DICOM entry by C-STORE, read
 * straight from the ZIP. Transient faults (refused, timed out, aborted) are retried with
 * doubling delays, resending only what was not yet stored; after a full success the ZIP is
 * deleted, otherwise it moves to Outbox_Failed. Either way the log book says what happened and
 * why. ZIPs are handled one at a time; a ZIP claimed before a crash is sent again at start.
 */
import { existsSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { statusCategory } from '../../dicom/dimse/status.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import { durableRename } from '../durable-fs.js';
import { noteFailedMove } from '../housekeeping/failed-moves.js';
import { SerialQueue } from '../serial-queue.js';
import type { StorageLayout } from '../storage-layout.js';
import { isoDate, STUDY_FIELD_TAGS, studyFields } from '../study-fields.js';
import { originalZipName } from './outbox-watcher.js';
import { OutboxZip, OutboxZipError, type ZipInstance } from './outbox-zip.js';
import { instanceSent, SendError, sendInstances, type InstanceResult, type OutgoingInstance, type SendTarget } from './store-sender.js';

/** What the sender needs of the settings, read afresh for every ZIP. */
export interface SendSettings {
  target: SendTarget;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  maxPduLength: number;
}

/** Reported to listeners (GUI, tests) after each ZIP. */
export interface SendOutcome {
  status: 'Success' | 'Failed';
  /** The ZIP's name in Outbox_Auto. */
  zipName: string;
  /** Where it went: '' when deleted after success, else its path in Outbox_Failed. */
  path: string;
  instances: number;
  sent: number;
  reason?: string;
}

/** Everything the sender needs. */
export interface OutboxSenderDeps {
  layout: StorageLayout;
  logBook: LogBook;
  log: Logger;
  settings(): SendSettings;
  onOutcome(outcome: SendOutcome): void;
  /** Called for each instance the PACS acknowledged, with its dataset size (monitoring counters). */
  onInstanceSent?(datasetBytes: number): void;
}

/** Waits, unless stopping. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** Sends claimed ZIPs one at a time. */
export class OutboxSender {
  private readonly queue: SerialQueue;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: OutboxSenderDeps) {
    this.queue = new SerialQueue((err) => deps.log.error({ err }, 'sending failed unexpectedly; the ZIP stays claimed for the next start'));
  }

  /** ZIPs claimed and not finished. */
  get backlog(): number {
    return this.queue.size;
  }

  /** Queues a claimed ZIP; never rejects. */
  enqueue(claimedPath: string): Promise<void> {
    return this.queue.push(() => (this.stopping.signal.aborted ? Promise.resolve() : this.send(claimedPath)));
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops between instances; an unfinished ZIP stays claimed and is sent again at next start. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.queue.idle();
  }

  private async send(claimedPath: string): Promise<void> {
    const zipName = originalZipName(claimedPath);
    const log = this.deps.log.child({ zip: zipName });
    let zip: OutboxZip;
    try {
      zip = await OutboxZip.open(claimedPath);
    } catch (err) {
      const reason = err instanceof OutboxZipError ? err.reason : `cannot read the ZIP: ${(err as Error).message}`;
      await this.finish(claimedPath, zipName, { results: [], attributes: new Map(), modalities: [] }, 0, reason, log);
      return;
    }
    try {
      for (const skipped of zip.skipped) log.info({ entry: skipped.entryName }, `entry not sent: ${skipped.reason}`);
      const progress = await this.sendWithRetries(zip, log);
      if (progress.interrupted) {
        log.info({ sent: progress.results.length, of: zip.instances.length }, 'sending stopped between instances; the ZIP stays claimed and is sent again when sending resumes');
        return;
      }
      const failed = progress.results.filter((r) => statusCategory(r.status) === 'failure');
      const reason = progress.error
        ?? (failed.length > 0 ? `${failed.length} of ${zip.instances.length} instances refused; first: ${failed[0]!.text}` : undefined);
      await this.finish(claimedPath, zipName, progress, zip.instances.length, reason, log);
    } finally {
      await zip.close();
    }
  }

  /** Sends what is not yet stored; retries transient faults with doubling delays. */
  private async sendWithRetries(zip: OutboxZip, log: Logger): Promise<Progress> {
    const settings = this.deps.settings();
    const progress: Progress = { results: [], attributes: new Map(), modalities: [] };
    const done = new Set<string>();
    for (let attempt = 0; ; attempt += 1) {
      const remaining = zip.instances.filter((instance) => !done.has(instance.entryName));
      try {
        await sendInstances(settings.target, remaining.map((instance) => this.outgoing(zip, instance, progress)), {
          connectTimeoutMs: settings.timeoutMs,
          responseTimeoutMs: settings.timeoutMs,
          maxPduLength: settings.maxPduLength,
          log,
          signal: this.stopping.signal,
          onResult: (result) => {
            const instance = remaining.find((i) => i.sopInstanceUid === result.sopInstanceUid);
            if (instance) done.add(instance.entryName);
            progress.results.push(result);
            if (instance && instanceSent(result.status)) this.deps.onInstanceSent?.(instance.uncompressedSize - instance.datasetOffset);
          },
        });
        return progress;
      } catch (err) {
        const transient = err instanceof SendError && err.transient;
        const reason = err instanceof SendError ? err.reason : `sending failed: ${(err as Error).message}`;
        // Stopping is not a failure of the ZIP: it stays claimed (nothing is lost or marked failed).
        if (transient && this.stopping.signal.aborted) return { ...progress, interrupted: true };
        if (!transient || attempt >= settings.retries) {
          return { ...progress, error: attempt > 0 ? `${reason} (after ${attempt + 1} attempts)` : reason };
        }
        const waitMs = settings.retryDelayMs * 2 ** attempt;
        log.warn({ attempt: attempt + 1, waitMs, reason }, 'send failed; retrying');
        await delay(waitMs, this.stopping.signal);
        if (this.stopping.signal.aborted) return { ...progress, interrupted: true };
      }
    }
  }

  /** An instance as the sender streams it, reading the study fields on the way. */
  private outgoing(zip: OutboxZip, instance: ZipInstance, progress: Progress): OutgoingInstance {
    return {
      sopClassUid: instance.sopClassUid,
      sopInstanceUid: instance.sopInstanceUid,
      transferSyntaxUid: instance.transferSyntaxUid,
      openDataset: async () => {
        const source = await zip.openDataset(instance);
        const reader = new DatasetRewriter({ transferSyntaxUid: instance.transferSyntaxUid, capture: STUDY_FIELD_TAGS });
        source.on('error', (err: Error) => reader.destroy(err));
        reader.on('finish', () => {
          if (progress.attributes.size === 0) for (const [tag, el] of reader.captured) progress.attributes.set(tag, el);
          const modality = asciiValue(reader.captured.get(TAGS.Modality));
          if (modality && !progress.modalities.includes(modality)) progress.modalities.push(modality);
        });
        return source.pipe(reader);
      },
    };
  }

  private async finish(claimedPath: string, zipName: string, progress: Progress, instances: number, reason: string | undefined, log: Logger): Promise<void> {
    const sent = progress.results.filter((r) => statusCategory(r.status) !== 'failure').length;
    let path = '';
    if (reason === undefined) {
      await unlink(claimedPath);
      log.info({ instances, sent }, 'ZIP sent');
    } else {
      path = await this.moveToFailed(claimedPath, zipName);
      log.error({ instances, sent, reason, movedTo: path }, 'ZIP not sent');
    }
    const fields = studyFields(progress.attributes);
    this.deps.logBook.add({
      action: 'Send',
      status: reason === undefined ? 'Success' : 'Failed',
      patientName: fields.patientName,
      birthDate: isoDate(fields.birthDate),
      studyDate: isoDate(fields.studyDate),
      modality: [...progress.modalities].sort().join('-'),
      instances,
      studyDescription: fields.studyDescription,
      crids: [],
      reason: reason ?? null,
      studyInstanceUid: fields.studyInstanceUid,
      fileName: zipName,
    });
    this.deps.onOutcome({ status: reason === undefined ? 'Success' : 'Failed', zipName, path, instances, sent, reason });
  }

  /** Moves the ZIP to Outbox_Failed under its original name (a distinct one if taken). */
  private async moveToFailed(claimedPath: string, zipName: string): Promise<string> {
    const folder = this.deps.layout.outboxFailed;
    await mkdir(folder, { recursive: true });
    const stem = zipName.replace(/\.zip$/i, '');
    let target = join(folder, zipName);
    for (let n = 2; existsSync(target); n += 1) target = join(folder, `${stem} (${n}).zip`);
    await durableRename(claimedPath, target);
    noteFailedMove(this.deps, 'Outbox_Failed', target);
    return target;
  }
}

/** What sending a ZIP produced so far. */
interface Progress {
  results: InstanceResult[];
  attributes: Map<number, CapturedElement>;
  modalities: string[];
  /** Set when the ZIP could not be sent as a whole. */
  error?: string;
  /** Stopped between instances: the ZIP stays claimed and is sent again later. */
  interrupted?: boolean;
}
