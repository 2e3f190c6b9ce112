/**
 * What happens to a study once it is complete (SPEC §1): zip it, name it, drop it atomically
 * into Inbox_Auto (valid CRYPE IDs) or Inbox_Manual (none), record it in the log book, then
 * delete its staging folder. If anything fails, the staging folder moves to Inbox_Failed and
 * the log book says why. Completions run one at a time, so two ZIPs never race for one name.
 */
import { existsSync } from 'node:fs';
import { readdir, rm, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../../dicom/ul/logger.js';
import type { LogBook } from '../../logbook/logbook.js';
import { durableRename, fsyncDir } from '../durable-fs.js';
import { noteFailedMove } from '../housekeeping/failed-moves.js';
import { SerialQueue } from '../serial-queue.js';
import { buildZipName, uniqueZipPath } from '../naming/zip-name.js';
import type { StorageLayout } from '../storage-layout.js';
import { isoDate, studyFields } from '../study-fields.js';
import type { StagedStudy } from '../study/tracker.js';
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
    return this.queue.push(() => this.complete(study));
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async complete(study: StagedStudy): Promise<void> {
    const { layout } = this.deps;
    const log = studyLog(this.deps.log, study);
    const tempZipPath = join(layout.zipTemp, `${basename(study.dir)}.zip.tmp`);
    let zipped: ZippedStudy | null = null;
    try {
      await unlink(tempZipPath).catch(() => undefined);
      zipped = await zipStagedStudy(study, tempZipPath, { zipTempDir: layout.zipTemp, ...this.deps.settings() });
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
      const finalPath = join(folder, uniqueZipPath(folder, name, existsSync));
      await durableRename(tempZipPath, finalPath);
      await rm(study.dir, { recursive: true, force: true });
      await fsyncDir(layout.staging);
      const reason = zipped.malformed.length > 0 ? `malformed CRYPE ID text: ${zipped.malformed[0]}` : null;
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
      });
      log.info({ zip: finalPath, instances: zipped.instanceCount, crids }, 'study zipped');
      this.deps.onOutcome({ status: 'Success', path: finalPath, inbox, instances: zipped.instanceCount, crids });
    } catch (err) {
      await unlink(tempZipPath).catch(() => undefined);
      await this.fail(study, err as Error, zipped);
    }
  }

  private async fail(study: StagedStudy, err: Error, zipped: ZippedStudy | null): Promise<void> {
    const { layout } = this.deps;
    const log = studyLog(this.deps.log, study);
    const reason = `zipping failed: ${err.message}`;
    let path = study.dir;
    try {
      path = uniqueFolderPath(layout.inboxFailed, basename(study.dir));
      await durableRename(study.dir, path);
      noteFailedMove(this.deps, 'Inbox_Failed', path);
    } catch (moveErr) {
      // Left in staging: the next start tries again. Nothing is deleted.
      log.error({ err: moveErr }, 'could not move the study to Inbox_Failed; it stays staged');
    }
    const count = zipped?.instanceCount ?? (await readdir(path).then((f) => f.length, () => 0));
    const fields = zipped ? describe(zipped) : undefined;
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
    });
    log.error({ err, movedTo: path }, 'study failed');
    this.deps.onOutcome({ status: 'Failed', path, inbox: 'Inbox_Failed', instances: count, crids: [], reason });
  }
}

/** A folder name in `parent` that does not exist yet: `name`, `name (2)`, ... */
function uniqueFolderPath(parent: string, name: string): string {
  for (let n = 1; ; n += 1) {
    const candidate = join(parent, n === 1 ? name : `${name} (${n})`);
    if (!existsSync(candidate)) return candidate;
  }
}
