/**
 * What happens to a study once it is complete (SPEC §1): zip it, name it, publish it
 * atomically into Inbox_Auto (valid CRYPE IDs) or Inbox_Manual (none) — the commit — then
 * delete its staging folder and record it in the log book. If anything up to the commit fails,
 * the staging folder moves to Inbox_Failed and the log book says why; nothing thrown while
 * zipping, by any instance, goes further than that study (SPEC §5). What fails after the
 * commit is logged as what it is: the ZIP stays where it is and the study is not "failed".
 * Completions run one at a time, so two ZIPs never race for one name.
 */
import { mkdir, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import { durableRename, fsyncDir } from '../durable-fs.js';
import { noteFailedMove } from '../housekeeping/failed-moves.js';
import type { ProgressRegistry, ZippingHandle } from '../progress/registry.js';
import { SerialQueue } from '../serial-queue.js';
import { buildZipName } from '../naming/zip-name.js';
import type { StorageLayout } from '../storage-layout.js';
import { isoDate, studyFields } from '../study-fields.js';
import type { StagedStudy } from '../study/tracker.js';
import { publishZip } from '../publish-zip.js';
import { zipStagedStudy, type ZippedStudy } from '../zip/study-zipper.js';

/** Reported to listeners (GUI, tests) after each study. */
export interface StudyOutcome {
  status: 'Success' | 'Failed';
  /** The ZIP in its inbox, or the folder in Inbox_Failed. */
  path: string;
  inbox: 'Inbox_Auto' | 'Inbox_Manual' | 'Inbox_Failed';
  instances: number;
  crids: string[];
  reason?: string;
}

/** Everything a completion needs. */
export interface StudyCompletionDeps {
  layout: StorageLayout;
  logBook: LogBook;
  log: Logger;
  settings(): { cridTag: number | null; compressionLevel: number; fsync: boolean };
  onOutcome(outcome: StudyOutcome): void;
  /** Where the studies waiting for and being zipped are shown (GUI). */
  progress?: ProgressRegistry;
}

/**
 * The study's logger: every line carries `study`, the staging folder name (grouping key plus
 * generation), the one id shared by all lines about this study generation.
 */
const studyLog = (log: Logger, study: StagedStudy): Logger => log.child({ study: basename(study.dir) });

/** The study's descriptive fields, decoded with its Specific Character Set. */
const describe = (zipped: ZippedStudy) => studyFields(zipped.attributes);

/** Serialises completions and runs each one. */
export class StudyCompletion {
  private readonly queue: SerialQueue;

  constructor(private readonly deps: StudyCompletionDeps) {
    this.queue = new SerialQueue((err) => deps.log.error({ err }, 'study completion failed; the folder stays for the next start'));
  }

  /** Studies waiting or being zipped. */
  get backlog(): number {
    return this.queue.size;
  }

  /** Queues a complete study; never rejects (failures are handled and logged). */
  enqueue(study: StagedStudy): Promise<void> {
    const progress = this.deps.progress?.startZipping(basename(study.dir));
    return this.queue.push(() => this.complete(study, progress).finally(() => progress?.end()));
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async complete(staged: StagedStudy, progress: ZippingHandle | undefined): Promise<void> {
    let study = staged;
    const { layout } = this.deps;
    const log = studyLog(this.deps.log, study);
    const zipStartedMs = Date.now();
    const tempZipPath = join(layout.zipTemp, `${basename(study.dir)}.zip.tmp`);
    let zipped: ZippedStudy | null = null;
    let committed;
    try {
      await unlink(tempZipPath).catch(() => undefined);
      const settings = this.deps.settings();
      zipped = await zipStagedStudy(study, tempZipPath, {
        zipTempDir: layout.zipTemp,
        ...settings,
        onEntries: (done, total) => (done === 0 ? progress?.started(total) : progress?.entryDone()),
      });
      if (!zipped) {
        await rm(study.dir, { recursive: true, force: true });
        return;
      }
      const fields = describe(zipped);
      for (const line of zipped.malformed) log.warn({}, `malformed CRYPE ID text left in place: ${line}`);
      const crids = zipped.malformed.length > 0 ? [] : zipped.crids;
      const inbox = crids.length > 0 ? 'Inbox_Auto' : 'Inbox_Manual';
      const folder = inbox === 'Inbox_Auto' ? layout.inboxAuto : layout.inboxManual;
      const name = buildZipName({ ...fields, modalities: zipped.modalities, crids }, { folderPath: folder });
      // The folder leaves staging before the ZIP is published: a crash after the publish must
      // not zip it again at the next start (recoverZipping decides from the temporary ZIP).
      study = { ...study, dir: await leaveStaging(layout, study.dir, settings.fsync) };
      const published = await publishZip(tempZipPath, folder, name, { fsync: settings.fsync });
      committed = { zipped, fields, crids, inbox, finalPath: published.path } as const;
      if (published.cleanupError) log.warn({ err: published.cleanupError, zip: published.path }, 'ZIP published; removing its temporary file or syncing the folder failed');
    } catch (err) {
      // The folder goes first: the temporary ZIP tells recovery whether a ZIP was published.
      await this.fail(study, err as Error, zipped, Date.now() - zipStartedMs);
      await unlink(tempZipPath).catch(() => undefined);
      return;
    }
    await this.afterCommit(study, committed, Date.now() - zipStartedMs);
  }

  /**
   * The ZIP is in its inbox: each remaining step is tried on its own, and a failure is logged
   * as itself. A folder left behind in Work/zip/published is removed at the next start.
   */
  private async afterCommit(
    study: StagedStudy,
    done: { zipped: ZippedStudy; fields: ReturnType<typeof describe>; crids: string[]; inbox: StudyOutcome['inbox']; finalPath: string },
    zippingMs: number,
  ): Promise<void> {
    const log = studyLog(this.deps.log, study);
    const { zipped, fields, crids, inbox, finalPath } = done;
    try {
      await rm(study.dir, { recursive: true, force: true });
      await fsyncDir(dirname(study.dir));
      await leftPublishing(this.deps.layout);
    } catch (err) {
      log.error({ err, zip: finalPath }, 'ZIP published, but its staging folder could not be removed');
    }
    const reason = zipped.malformed.length > 0 ? `malformed CRYPE ID text: ${zipped.malformed[0]}` : null;
    try {
      this.deps.logBook.add({
        action: 'Receive',
        status: reason ? 'Warning' : 'Success',
        patientName: fields.patientName,
        birthDate: isoDate(fields.birthDate),
        studyDate: isoDate(fields.studyDate),
        modality: zipped.modalities.join('-'),
        instances: zipped.instanceCount,
        studyDescription: fields.studyDescription,
        crids,
        reason,
        studyInstanceUid: fields.studyInstanceUid,
        fileName: basename(finalPath),
        folder: inbox,
        ...deliveryFields(study),
        zippingMs,
      });
    } catch (err) {
      log.error({ err, zip: finalPath }, 'ZIP published, but the log book row could not be written');
    }
    // The fields the console's readable line shows (src/cli/console-pretty.ts).
    log.info(
      { zip: finalPath, inbox, instances: zipped.instanceCount, crids, patientName: fields.patientName, modality: zipped.modalities.join('-'), callingAet: zipped.callingAeTitles },
      'study zipped',
    );
    this.report(log, { status: 'Success', path: finalPath, inbox, instances: zipped.instanceCount, crids });
  }

  /** Tells the listeners; a listener's throw is theirs, not the study's. */
  private report(log: Logger, outcome: StudyOutcome): void {
    try {
      this.deps.onOutcome(outcome);
    } catch (err) {
      log.error({ err }, 'a study outcome listener failed');
    }
  }

  private async fail(study: StagedStudy, err: Error, zipped: ZippedStudy | null, zippingMs: number): Promise<void> {
    const { layout } = this.deps;
    const log = studyLog(this.deps.log, study);
    const reason = `zipping failed: ${err instanceof Error ? err.message : String(err)}`;
    let path = study.dir;
    let folder = '';
    try {
      path = await uniqueFolderPath(layout.inboxFailed, basename(study.dir));
      await durableRename(study.dir, path);
      folder = 'Inbox_Failed';
      noteFailedMove(this.deps, 'Inbox_Failed', path);
      await leftPublishing(layout);
    } catch (moveErr) {
      // Left in staging: the next start tries again. Nothing is deleted.
      log.error({ err: moveErr }, 'could not move the study to Inbox_Failed; it stays staged');
      path = study.dir;
    }
    const count = zipped?.instanceCount ?? (await readdir(path).then((f) => f.length, () => 0));
    let fields: ReturnType<typeof describe> | undefined;
    try {
      fields = zipped ? describe(zipped) : undefined;
    } catch {
      fields = undefined; // the reason says what failed; the row keeps what is known
    }
    try {
      this.deps.logBook.add({
        action: 'Receive',
        status: 'Failed',
        patientName: fields?.patientName ?? '',
        birthDate: isoDate(fields?.birthDate ?? ''),
        studyDate: isoDate(fields?.studyDate ?? ''),
        modality: zipped?.modalities.join('-') ?? '',
        instances: count,
        studyDescription: fields?.studyDescription ?? '',
        crids: zipped?.crids ?? [],
        reason,
        studyInstanceUid: fields?.studyInstanceUid ?? '',
        fileName: basename(path),
        folder,
        ...deliveryFields(study),
        zippingMs,
      });
    } catch (bookErr) {
      log.error({ err: bookErr }, 'the log book row of a failed study could not be written');
    }
    log.error(
      { err, movedTo: path, inbox: 'Inbox_Failed', instances: count, reason, patientName: fields?.patientName ?? '', modality: zipped?.modalities.join('-') ?? '', callingAet: zipped?.callingAeTitles ?? [] },
      'study failed',
    );
    this.report(log, { status: 'Failed', path, inbox: 'Inbox_Failed', instances: count, crids: [], reason });
  }
}

/** The log book's account of who delivered the study and how long it took (empty when recovered). */
function deliveryFields(study: StagedStudy): { callingAeTitle: string; peerAddress: string; receivingMs: number | null } {
  const d = study.delivery;
  if (!d) return { callingAeTitle: '', peerAddress: '', receivingMs: null };
  return { callingAeTitle: d.callingAeTitles.join(', '), peerAddress: d.peerAddresses.join(', '), receivingMs: Math.max(0, d.lastPlacedMs - d.firstPlacedMs) };
}

/** A folder name in `parent` that does not exist yet: `name`, `name (2)`, ... */
async function uniqueFolderPath(parent: string, name: string): Promise<string> {
  for (let n = 1; ; n += 1) {
    const candidate = join(parent, n === 1 ? name : `${name} (${n})`);
    if (!(await stat(candidate).then(() => true, () => false))) return candidate;
  }
}

/** Where a study's folder waits while its ZIP is published: `Work/zip/published/<folder>`. */
function publishingDir(layout: StorageLayout): string {
  return join(layout.zipTemp, 'published');
}

/** Moves a study folder out of staging (durably with fsync on); returns its new path. */
async function leaveStaging(layout: StorageLayout, dir: string, fsync: boolean): Promise<string> {
  const parent = publishingDir(layout);
  await mkdir(parent, { recursive: true });
  const to = join(parent, basename(dir));
  await rm(to, { recursive: true, force: true }); // a leftover of an earlier run, already dealt with
  await rename(dir, to);
  if (fsync) {
    await fsyncDir(parent);
    await fsyncDir(dirname(dir));
  }
  return to;
}

/** Removes Work/zip/published once its study left (completions run one at a time). */
async function leftPublishing(layout: StorageLayout): Promise<void> {
  await rmdir(publishingDir(layout)).catch(() => undefined); // absent, or not empty: nothing to do
}

/**
 * Start-up recovery of the studies whose ZIP was being published when the bridge stopped. Its
 * temporary ZIP (`Work/zip/<folder>.zip.tmp`) tells: linked into an inbox (two names) or gone,
 * the ZIP was published and the folder is removed; there alone, it was not, and the folder goes
 * back to staging to be zipped again. So a study is never zipped twice, nor lost. Runs before
 * the rest of `Work/zip` is cleared.
 */
export async function recoverPublishing(layout: StorageLayout, log: Logger): Promise<void> {
  const parent = publishingDir(layout);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    const dir = join(parent, name);
    const temp = await stat(join(layout.zipTemp, `${name}.zip.tmp`)).catch(() => null);
    if (temp !== null && temp.nlink < 2) {
      await rename(dir, join(layout.staging, name));
      log.info({ study: name }, 'study whose ZIP was not yet published goes back to staging');
    } else {
      await rm(dir, { recursive: true, force: true });
      log.info({ study: name }, 'study whose ZIP was published before the stop: its folder is removed');
    }
  }
  if (names.length > 0) {
    await fsyncDir(layout.staging);
    await fsyncDir(parent);
  }
}
