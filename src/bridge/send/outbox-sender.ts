/**
 * Sends each claimed Outbox ZIP to the PACS (SPEC §2): every DICOM entry by C-STORE, read
 * straight from the ZIP. Transient faults (refused, timed out, aborted) are retried with
 * doubling delays, resending only what was not yet stored; after a full success the ZIP is
 * deleted, otherwise it moves to Outbox_Failed (never over a file already there). Either way
 * the log book says what happened and why; that after-work cannot undo or repeat the ZIP's
 * fate. A ZIP that cannot be opened for now (busy, network drive) is retried like a refused
 * connection. ZIPs are handled one at a time; a ZIP claimed before a crash is sent again at start.
 */
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { statusCategory } from '../../dicom/dimse/status.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import { fsyncDir } from '../durable-fs.js';
import { noteFailedMove } from '../housekeeping/failed-moves.js';
import { SerialQueue } from '../serial-queue.js';
import type { StorageLayout } from '../storage-layout.js';
import { isoDate, STUDY_FIELD_TAGS, studyFields } from '../study-fields.js';
import { originalZipName } from './outbox-watcher.js';
import { OutboxZip, OutboxZipError, transientFsError, type OpenFd, type ZipInstance } from './outbox-zip.js';
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
  /** Opens a ZIP for reading (node:fs `open` by default); a seam for fault tests. */
  openFd?: OpenFd;
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
      try {
        await this.send(claimedPath);
      } finally {
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

  private async send(claimedPath: string): Promise<void> {
    const zipName = originalZipName(claimedPath);
    const log = this.deps.log.child({ zip: zipName });
    const startedMs = Date.now();
    const opened = await this.openWithRetries(claimedPath, log);
    if (opened === null) return; // stopping: the ZIP stays claimed
    if ('reason' in opened) {
      await this.finish(claimedPath, zipName, { ...emptyProgress(), startedMs }, 0, opened.reason, log);
      return;
    }
    const { zip } = opened;
    let progress: Progress;
    try {
      for (const skipped of zip.skipped) log.info({ entry: skipped.entryName }, `entry not sent: ${skipped.reason}`);
      for (const instance of zip.instances) {
        if (instance.metaDisagrees !== undefined) log.warn({ entry: instance.entryName, sopInstanceUid: instance.sopInstanceUid }, instance.metaDisagrees);
      }
      progress = await this.sendWithRetries(zip, log);
    } finally {
      await zip.close();
    }
    if (progress.interrupted) {
      log.info({ sent: progress.results.length, of: zip.instances.length }, 'sending stopped between instances; the ZIP stays claimed and is sent again when sending resumes');
      return;
    }
    const failed = progress.results.filter((r) => statusCategory(r.status) === 'failure');
    const reason = progress.error
      ?? (failed.length > 0 ? `${failed.length} of ${zip.instances.length} instances refused; first: ${failed[0]!.text}` : undefined);
    await this.finish(claimedPath, zipName, progress, zip.instances.length, reason, log);
  }

  /**
   * Opens the ZIP; a transient file-system error (a network drive, a virus scanner holding the
   * file) is retried like a refused connection. Gives the ZIP, or the reason it failed, or
   * null when stopping.
   */
  private async openWithRetries(claimedPath: string, log: Logger): Promise<{ zip: OutboxZip } | { reason: string } | null> {
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
        await delay(waitMs, this.stopping.signal);
        if (this.stopping.signal.aborted) return null;
      }
    }
  }

  /** Sends what is not yet stored; retries transient faults with doubling delays. */
  private async sendWithRetries(zip: OutboxZip, log: Logger): Promise<Progress> {
    const settings = this.deps.settings();
    const progress: Progress = { ...emptyProgress(), startedMs: Date.now(), target: settings.target };
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

  /**
   * Settles a ZIP: first its fate (the commit: deleted after full success, else moved to
   * Outbox_Failed), then the after-work (log book row, listeners). A failing commit leaves the
   * ZIP claimed and rejects; nothing in the after-work can undo or repeat the commit.
   */
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
   * Moves the ZIP to Outbox_Failed under its original name, or a distinct one if taken: a
   * hard link fails on an existing name, so nothing there is ever overwritten. Where links are
   * not supported (some network and FAT drives) the name is reserved by an exclusive create.
   */
  private async moveToFailed(claimedPath: string, zipName: string): Promise<string> {
    const folder = this.deps.layout.outboxFailed;
    await mkdir(folder, { recursive: true });
    const stem = zipName.replace(/\.zip$/i, '');
    for (let n = 1; ; n += 1) {
      const target = join(folder, n === 1 ? zipName : `${stem} (${n}).zip`);
      if (!(await placeWithoutOverwrite(claimedPath, target))) continue;
      await fsyncDir(folder);
      noteFailedMove(this.deps, 'Outbox_Failed', target);
      return target;
    }
  }
}

/** Link errors that mean "this file system has no hard links", not "this name is taken". */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Moves `from` to `to` unless `to` exists (false then). link+unlink fails on an existing name;
 * the fallback reserves the name with an exclusive create and renames over the empty file.
 */
export async function placeWithoutOverwrite(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    await unlink(from);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === undefined || !NO_LINKS.has(code)) throw err;
  }
  try {
    await (await open(to, 'wx')).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  await rename(from, to);
  return true;
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
