/**
 * Sends each claimed Outbox ZIP to the PACS (SPEC §2): every DICOM entry by C-STORE, read
 * straight from the ZIP. Transient faults (refused, timed out, aborted) are retried with
 * doubling delays, resending only what was not yet stored; after a full success the ZIP is
 * deleted, otherwise it moves to Outbox_Failed (never over a file already there). Either way
 * the log book says what happened and why; that after-work cannot undo or repeat the ZIP's
 * fate. A ZIP that cannot be opened for now (busy, network drive) is retried like a refused
 * connection. ZIPs are handled one at a time; a ZIP claimed before a crash is sent again at start.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { basename } from 'node:path';
import { statusCategory } from '../../dicom/dimse/status.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import { publishZip } from '../publish-zip.js';
import { noteFailedMove } from '../housekeeping/failed-moves.js';
import type { ProgressRegistry, SendingHandle } from '../progress/registry.js';
import { SerialQueue } from '../serial-queue.js';
import type { StorageLayout } from '../storage-layout.js';
import { isoDate, STUDY_FIELD_TAGS, studyFields } from '../study-fields.js';
import { originalZipName } from './outbox-watcher.js';
import { MAX_BUFFERED_ENTRY_BYTES, OutboxZip, OutboxZipError, transientFsError, type OpenFd, type ZipInstance } from './outbox-zip.js';
import { instanceSent, SendError, sendInstances, type InstanceResult, type OutgoingInstance, type SendTarget } from './store-sender.js';

/** What the sender needs of the settings, read afresh for every ZIP. */
export interface SendSettings {
  target: SendTarget;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  maxPduLength: number;
  /** Parallel associations per ZIP (`send.associations`), read once when a ZIP starts. */
  associations: number;
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
  /** Opens a ZIP for reading (node:fs `open` by default); a seam for fault tests. */
  openFd?: OpenFd;
  /** Where the ZIP being sent is shown (GUI). */
  progress?: ProgressRegistry;
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
  /** Unreadable files being moved to Outbox_Failed. */
  private readonly rejecting = new Set<Promise<void>>();
  /** True while a ZIP is being sent (opened, sent, settled). */
  private busy = false;

  constructor(private readonly deps: OutboxSenderDeps) {
    this.queue = new SerialQueue((err) => deps.log.error({ err }, 'sending failed unexpectedly; the ZIP stays claimed for the next start'));
  }

  /** ZIPs claimed and not finished. */
  get backlog(): number {
    return this.queue.size;
  }

  /** ZIPs claimed and waiting for their turn (the one being sent not counted). */
  get waiting(): number {
    return this.queue.size - (this.busy ? 1 : 0);
  }

  /** Queues a claimed ZIP; never rejects. */
  enqueue(claimedPath: string): Promise<void> {
    return this.queue.push(async () => {
      if (this.stopping.signal.aborted) return;
      this.busy = true;
      const progress = this.deps.progress?.startSending(basename(claimedPath), originalZipName(claimedPath));
      try {
        await this.send(claimedPath, progress);
      } finally {
        progress?.end();
        this.busy = false;
      }
    });
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops between instances; an unfinished ZIP stays claimed and is sent again at next start. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.queue.idle();
    await Promise.all(this.rejecting);
  }

  /**
   * Moves a file that never became a readable ZIP to Outbox_Failed at once (not queued behind
   * sends): the watcher has claimed it. Never rejects.
   */
  rejectUnreadable(claimedPath: string, reason: string): Promise<void> {
    const zipName = originalZipName(claimedPath);
    const log = this.deps.log.child({ zip: zipName });
    const done = this.finish(claimedPath, zipName, emptyProgress(), 0, reason, log)
      .catch((err: unknown) => log.error({ err }, 'could not move the unreadable file to Outbox_Failed; it stays claimed for the next start'))
      .finally(() => this.rejecting.delete(done));
    this.rejecting.add(done);
    return done;
  }

  private async send(claimedPath: string, progress: SendingHandle | undefined): Promise<void> {
    const zipName = originalZipName(claimedPath);
    const log = this.deps.log.child({ zip: zipName });
    const startedMs = Date.now();
    const opened = await this.openWithRetries(claimedPath, log, progress);
    if (opened === null) return; // stopping: the ZIP stays claimed
    if ('reason' in opened) {
      await this.finish(claimedPath, zipName, { ...emptyProgress(), startedMs }, 0, opened.reason, log);
      return;
    }
    const { zip } = opened;
    progress?.opened(zip.instances.length);
    let sent: Progress;
    try {
      for (const skipped of zip.skipped) log.info({ entry: skipped.entryName }, `entry not sent: ${skipped.reason}`);
      for (const instance of zip.instances) {
        if (instance.metaDisagrees !== undefined) log.warn({ entry: instance.entryName, sopInstanceUid: instance.sopInstanceUid }, instance.metaDisagrees);
      }
      sent = await this.sendWithRetries(zip, log, progress);
    } finally {
      await zip.close();
    }
    if (sent.interrupted) {
      log.info({ sent: sent.results.length, of: zip.instances.length }, 'sending stopped between instances; the ZIP stays claimed and is sent again when sending resumes');
      return;
    }
    const failed = sent.results.filter((r) => statusCategory(r.status) === 'failure');
    const reason = sent.error
      ?? (failed.length > 0 ? `${failed.length} of ${zip.instances.length} instances refused; first: ${failed[0]!.text}` : undefined);
    await this.finish(claimedPath, zipName, sent, zip.instances.length, reason, log);
  }

  /**
   * Opens the ZIP; a transient file-system error (a network drive, a virus scanner holding the
   * file) is retried like a refused connection. Gives the ZIP, or the reason it failed, or
   * null when stopping.
   */
  private async openWithRetries(claimedPath: string, log: Logger, progress: SendingHandle | undefined): Promise<{ zip: OutboxZip } | { reason: string } | null> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return { zip: await OutboxZip.open(claimedPath, {}, { open: this.deps.openFd }) };
      } catch (err) {
        if (err instanceof OutboxZipError) return { reason: err.reason };
        const fsError = transientFsError(err);
        const reason = `cannot read the ZIP: ${fsError?.code ?? (err as Error).message}`;
        if (fsError === undefined) return { reason };
        // Read only now, and afresh for each retry, like the target.
        const settings = this.deps.settings();
        if (attempt >= settings.retries) return { reason: `${reason} (after ${attempt + 1} attempts)` };
        const waitMs = settings.retryDelayMs * 2 ** attempt;
        log.warn({ attempt: attempt + 1, waitMs, code: fsError.code }, 'cannot open the ZIP for now; retrying');
        progress?.retryIn(waitMs);
        await delay(waitMs, this.stopping.signal);
        if (this.stopping.signal.aborted) return null;
      }
    }
  }

  /** Sends what is not yet stored; retries transient faults with doubling delays. */
  private async sendWithRetries(zip: OutboxZip, log: Logger, shown: SendingHandle | undefined): Promise<Progress> {
    const settings = this.deps.settings();
    const progress: Progress = { ...emptyProgress(), startedMs: Date.now(), target: settings.target };
    // Read once: a changed setting applies from the next ZIP, retries of this one keep it.
    const associations = settings.associations;
    const done = new Set<string>();
    for (let attempt = 0; ; attempt += 1) {
      const remaining = zip.instances.filter((instance) => !done.has(instance.entryName));
      // By UID, for the answers; the first entry of a UID that is twice in the ZIP answers first.
      const byUid = new Map<string, ZipInstance[]>();
      for (const instance of remaining) {
        const same = byUid.get(instance.sopInstanceUid);
        if (same === undefined) byUid.set(instance.sopInstanceUid, [instance]);
        else same.push(instance);
      }
      shown?.attempt(attempt + 1, settings.retries + 1);
      try {
        await sendInstances(settings.target, remaining.map((instance) => this.outgoing(zip, instance, progress, shown)), {
          connectTimeoutMs: settings.timeoutMs,
          responseTimeoutMs: settings.timeoutMs,
          maxPduLength: settings.maxPduLength,
          associations,
          log,
          signal: this.stopping.signal,
          onResult: (result) => {
            const instance = byUid.get(result.sopInstanceUid)?.shift();
            if (instance) done.add(instance.entryName);
            progress.results.push(result);
            const bytes = instance ? instance.uncompressedSize - instance.datasetOffset : 0;
            const stored = instanceSent(result.status);
            if (instance && stored) this.deps.onInstanceSent?.(bytes);
            shown?.answered(bytes, stored);
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
        shown?.retryIn(waitMs);
        await delay(waitMs, this.stopping.signal);
        if (this.stopping.signal.aborted) return { ...progress, interrupted: true };
      }
    }
  }

  /**
   * An instance as the sender sends it, reading the study fields on the way: a small one read
   * whole from the ZIP and checked before it is sent, a large one streamed.
   */
  private outgoing(zip: OutboxZip, instance: ZipInstance, progress: Progress, shown: SendingHandle | undefined): OutgoingInstance {
    const note = (captured: ReadonlyMap<number, CapturedElement>): void => {
      if (progress.attributes.size === 0) {
        // Copies: the dataset they were read from is freed once sent.
        for (const [tag, el] of captured) progress.attributes.set(tag, { vr: el.vr, value: Buffer.from(el.value) });
        if (shown) describeSending(shown, captured);
      }
      const modality = asciiValue(captured.get(TAGS.Modality));
      if (modality && !progress.modalities.includes(modality)) progress.modalities.push(modality);
    };
    return {
      sopClassUid: instance.sopClassUid,
      sopInstanceUid: instance.sopInstanceUid,
      transferSyntaxUid: instance.transferSyntaxUid,
      releaseDataset: (dataset) => zip.releaseDataset(dataset),
      openDataset: async () => {
        const reader = new DatasetRewriter({ transferSyntaxUid: instance.transferSyntaxUid, capture: STUDY_FIELD_TAGS });
        if (instance.uncompressedSize <= MAX_BUFFERED_ENTRY_BYTES) {
          // Opened while the instance before is sent: its PDUs leave first, then this is read.
          await new Promise<void>((resolve) => setImmediate(resolve));
          const dataset = await zip.readDataset(instance);
          // The same reading as a streamed dataset gets: a dataset that does not decode is not sent.
          reader.resume();
          reader.end(dataset);
          await finished(reader);
          note(reader.captured);
          return dataset;
        }
        const source = await zip.openDataset(instance);
        source.on('error', (err: Error) => reader.destroy(err));
        reader.on('finish', () => note(reader.captured));
        return source.pipe(reader);
      },
    };
  }

  /**
   * The PACS a ZIP goes to, for the log line the console shows (src/cli/console-pretty.ts).
   * Never throws: settling a ZIP must not depend on reading the settings once more.
   */
  private targetFields(): { calledAet?: string; peer?: string } {
    try {
      const { target } = this.deps.settings();
      return { calledAet: target.calledAeTitle, peer: `${target.host}:${target.port}` };
    } catch {
      return {};
    }
  }

  /**
   * Settles a ZIP: first its fate (the commit: deleted after full success, else moved to
   * Outbox_Failed), then the after-work (log book row, listeners). A failing commit leaves the
   * ZIP claimed and rejects; nothing in the after-work can undo or repeat the commit.
   */
  private async finish(claimedPath: string, zipName: string, progress: Progress, instances: number, reason: string | undefined, log: Logger): Promise<void> {
    const sent = progress.results.filter((r) => statusCategory(r.status) !== 'failure').length;
    const to = this.targetFields();
    let path = '';
    if (reason === undefined) {
      await unlink(claimedPath);
      log.info({ instances, sent, ...to }, 'ZIP sent');
    } else {
      path = await this.moveToFailed(claimedPath, zipName);
      log.error({ instances, sent, reason, movedTo: path, ...to }, 'ZIP not sent');
    }
    const status = reason === undefined ? 'Success' : 'Failed';
    const target = progress.target;
    try {
      const fields = studyFields(progress.attributes);
      this.deps.logBook.add({
        action: 'Send',
        status,
        patientName: fields.patientName,
        birthDate: isoDate(fields.birthDate),
        studyDate: isoDate(fields.studyDate),
        modality: [...progress.modalities].sort().join('-'),
        instances,
        studyDescription: fields.studyDescription,
        crids: [],
        reason: reason ?? null,
        studyInstanceUid: fields.studyInstanceUid,
        // Sent ZIPs are deleted: no folder. A failed one may have got a distinct name there.
        fileName: path === '' ? zipName : basename(path),
        folder: path === '' ? '' : 'Outbox_Failed',
        callingAeTitle: target?.callingAeTitle ?? '',
        peerAddress: target ? `${target.host}:${target.port}` : '',
        sendingMs: progress.startedMs === undefined ? null : Date.now() - progress.startedMs,
      });
    } catch (err) {
      log.error({ err, status }, `the log book row of this ZIP could not be written (the ZIP was ${reason === undefined ? 'sent and deleted' : 'moved to Outbox_Failed'})`);
    }
    try {
      this.deps.onOutcome({ status, zipName, path, instances, sent, reason });
    } catch (err) {
      log.error({ err }, 'a listener of the send outcome failed');
    }
  }

  /**
   * Moves the ZIP to Outbox_Failed under its original name, or a distinct copy name if taken
   * (publish-zip.ts: nothing there is ever overwritten).
   */
  private async moveToFailed(claimedPath: string, zipName: string): Promise<string> {
    const folder = this.deps.layout.outboxFailed;
    await mkdir(folder, { recursive: true });
    const { path, cleanupError } = await publishZip(claimedPath, folder, zipName, { fsync: true });
    if (cleanupError) this.deps.log.error({ err: cleanupError, path }, 'the ZIP is in Outbox_Failed, but its claimed copy could not be removed or the folder not flushed');
    noteFailedMove(this.deps, 'Outbox_Failed', path);
    return path;
  }
}

/** Shows the study of the ZIP being sent, from its first instance; undecodable values show nothing. */
function describeSending(shown: SendingHandle, captured: ReadonlyMap<number, CapturedElement>): void {
  try {
    const fields = studyFields(captured);
    shown.describe({ patientName: fields.patientName, studyDate: fields.studyDate, modality: asciiValue(captured.get(TAGS.Modality)) });
  } catch {
    // the log book row says what the study is once the ZIP is settled
  }
}

function emptyProgress(): Progress {
  return { results: [], attributes: new Map(), modalities: [] };
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
  /** When sending began (Date.now()); absent for a file rejected unread. */
  startedMs?: number;
  /** The PACS it was sent to (the log book's peer); absent when nothing was sent. */
  target?: SendTarget;
}
