/**
 * `dicombridge inspect FILE|DIR`, the answer to "CRYPE IDs not detected": reads
 * Part 10 files the way the bridge would receive and zip them and tells, per study, the naming
 * attributes, the IDs found in the configured element (SPEC §1 "Receiver IDs"), every other
 * element holding `CRID#` text (at any depth), and the ZIP name and inbox the study would get.
 *
 * Hand-written because it is the bridge's own rules replayed: each file streams through the
 * repo's DatasetRewriter with the same capture and CRYPE-ID edit as the study zipper, and the
 * study's outcome is decided as StudyCompletion decides it (buildZipName with the inbox folder,
 * malformed text sends the study to Inbox_Manual). Memory stays bounded per file: the dataset
 * is streamed, large values are skipped by counting.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Config } from '../../config/schema.js';
import { cridTag as configuredCridTag } from '../../config/load.js';
import { readPart10Attributes } from '../../dicom/part10/reader.js';
import type { CapturedElement } from '../../dicom/part10/rewrite.js';
import { mergeCrids } from '../crid/extract.js';
import { buildZipName, ZipNameError } from '../naming/zip-name.js';
import { storageLayout } from '../storage-layout.js';
import { isoDate, STUDY_FIELD_TAGS, studyFields } from '../study-fields.js';
import { StudyTracker } from '../study/tracker.js';
import { assignEntryNames } from '../zip/entry-names.js';
import { safeText } from './safe-text.js';
import type { InboxName, InspectOptions, InspectReport, MalformedId, OtherCridElement, SkippedFile, StudyInspection } from './report.js';
import { InspectTargetError } from './report.js';
import { errorText, filesUnder, readInstance, type InstanceRead } from './read-instance.js';
import { tagInfo } from './crid-hits.js';

export * from './report.js';

/** Collects the instances of one study. */
interface StudyAccumulator {
  patientId: string;
  studyInstanceUid: string;
  /** Without their hits, which are merged into `others` as each file is read. */
  instances: InstanceRead[];
  /** Other elements with `CRID#` text by location and VR, at most MAX_OTHER_ELEMENTS. */
  others: Map<string, OtherCridElement>;
  othersOmitted: number;
}

/** Distinct other elements listed per study; a hostile study could otherwise grow the report without end. */
const MAX_OTHER_ELEMENTS = 200;
/** Notes listed per study. */
const MAX_NOTES = 50;

/** Adds an instance to its study, merging its hits (counted once per instance and location). */
function addInstance(acc: StudyAccumulator, read: InstanceRead): void {
  const seen = new Set<string>();
  for (const hit of read.hits) {
    const key = `${hit.location}|${hit.vr}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const known = acc.others.get(key);
    if (known) known.instances++;
    else if (acc.others.size < MAX_OTHER_ELEMENTS) acc.others.set(key, hit);
    else acc.othersOmitted++;
  }
  acc.instances.push({ ...read, hits: [] });
}

/** Decides a study's outcome as StudyCompletion would, and gathers what to show. */
async function inspectStudy(acc: StudyAccumulator, config: Config, cridTag: number | null): Promise<StudyInspection> {
  const ordered = assignEntryNames(acc.instances);
  const first = ordered[0]!.source;
  const notes: string[] = [];
  // The zipper names the study after its first entry; its attributes are read again rather than
  // kept for every instance, so memory does not grow with hostile 64 KiB values per file.
  let attributes = new Map<number, CapturedElement>();
  try {
    attributes = (await readPart10Attributes(first.path, STUDY_FIELD_TAGS)).captured;
  } catch (err) {
    notes.push(safeText(`${first.file}: could not be read again for the naming attributes: ${errorText(err)}`));
  }
  const fields = studyFields(attributes);
  const modalities = [...new Set(acc.instances.map((i) => i.modality).filter((m) => m !== ''))].sort();

  const crids: string[] = [];
  const malformed: MalformedId[] = [];
  const others = acc.others;
  if (acc.othersOmitted > 0) notes.push(`${acc.othersOmitted} more elements with CRID# text not listed`);
  let instancesWithIds = 0;
  let instancesWithTag = 0;
  for (const { source } of ordered) {
    if (source.tagPresent) instancesWithTag++;
    if (source.extraction) {
      if (source.extraction.malformed) malformed.push({ file: safeText(source.file), message: safeText(source.extraction.malformed) });
      if (source.extraction.ids.length > 0) instancesWithIds++;
      mergeCrids(crids, source.extraction.ids);
    }
    notes.push(...source.notes.map((n) => safeText(n)));
  }

  // StudyCompletion: any malformed text means no IDs for the whole study.
  const takenIds = malformed.length > 0 ? [] : crids;
  const layout = storageLayout(config.storageFolder);
  let inbox: InboxName = takenIds.length > 0 ? 'Inbox_Auto' : 'Inbox_Manual';
  let inboxReason: string | null = null;
  if (inbox === 'Inbox_Manual') {
    if (cridTag === null) inboxReason = 'CRYPE IDs are off (Crype-ID Tag 0000/0000)';
    else if (malformed.length > 0) inboxReason = `malformed CRYPE ID text in ${malformed.length} of ${acc.instances.length} instance(s)`;
    else if (others.size > 0) inboxReason = 'no CRYPE ID in the configured tag; CRID# text is elsewhere';
    else inboxReason = 'no CRYPE ID in the configured tag';
  }
  let zipName: string | null = null;
  try {
    const folderPath = inbox === 'Inbox_Auto' ? layout.inboxAuto : layout.inboxManual;
    zipName = buildZipName({ ...fields, modalities, crids: takenIds }, { folderPath });
  } catch (err) {
    if (!(err instanceof ZipNameError)) throw err;
    inbox = 'Inbox_Failed';
    inboxReason = `zipping failed: ${err.message}`;
  }

  if (notes.length > MAX_NOTES) notes.splice(MAX_NOTES, notes.length - MAX_NOTES, `… and ${notes.length - MAX_NOTES} more notes`);
  return {
    studyInstanceUid: safeText(acc.studyInstanceUid),
    patientId: safeText(acc.patientId),
    instances: acc.instances.length,
    patientName: safeText(fields.patientName),
    birthDate: safeText(isoDate(fields.birthDate)),
    sex: safeText(fields.sex),
    studyDate: safeText(isoDate(fields.studyDate)),
    studyDescription: safeText(fields.studyDescription),
    modalities: modalities.map((m) => safeText(m)),
    crids,
    instancesWithIds,
    instancesWithTag,
    malformed,
    otherElements: [...others.values()],
    zipName: zipName === null ? null : safeText(zipName, Infinity),
    inbox,
    inboxReason: inboxReason === null ? null : safeText(inboxReason, Infinity),
    notes,
  };
}

/**
 * Inspects one Part 10 file, or every file under a folder (recursively, in name order,
 * symbolic links not followed), and reports per study (patient + StudyInstanceUID, grouped as
 * the receiver groups) what the bridge would make of it: the naming attributes, the CRYPE IDs
 * in the configured element (`receive.cridTagGroup`/`cridTagElement`), malformed ID text, every
 * other element with `CRID#` text (with its sequence path), the ZIP name and the inbox
 * (SPEC §1). Files that are not instances are listed as skipped with the reason. Each file is
 * streamed with bounded memory.
 *
 * Rejects (the CLI exits with 2) when `target` cannot be read or is neither a file nor a
 * folder; problems with single files inside a folder are reported as skipped instead.
 */
export async function inspectPath(target: string, config: Config, options: InspectOptions = {}): Promise<InspectReport> {
  const maxListed = options.maxSkippedListed ?? 200;
  const maxHits = options.maxHitsPerFile ?? 100;
  const cridTag = configuredCridTag(config);
  const info = await stat(target);
  let files: AsyncIterable<{ path: string; file: string } | SkippedFile>;
  if (info.isDirectory()) files = filesUnder(target);
  else if (info.isFile()) files = (async function* () { yield { path: target, file: basename(target) }; })();
  else throw new InspectTargetError(`${target} is neither a file nor a folder`);

  const report: InspectReport = {
    target,
    cridTag: cridTag === null ? null : tagInfo(cridTag),
    files: 0,
    studies: [],
    skipped: [],
    skippedOmitted: 0,
    skippedByKind: { 'not-dicom': 0, refused: 0, unreadable: 0 },
  };
  const skip = (s: SkippedFile) => {
    report.skippedByKind[s.kind]++;
    if (report.skipped.length < maxListed) report.skipped.push({ file: safeText(s.file, Infinity), kind: s.kind, reason: safeText(s.reason, 400) });
    else report.skippedOmitted++;
  };

  const studies = new Map<string, StudyAccumulator>();
  for await (const item of files) {
    report.files++;
    if ('kind' in item) {
      skip(item);
      continue;
    }
    const read = await readInstance(item.path, item.file, cridTag, maxHits);
    if ('kind' in read) {
      skip(read);
      continue;
    }
    const key = StudyTracker.keyOf(read.patientId, read.studyInstanceUid);
    let acc = studies.get(key);
    if (!acc) {
      acc = { patientId: read.patientId, studyInstanceUid: read.studyInstanceUid, instances: [], others: new Map(), othersOmitted: 0 };
      studies.set(key, acc);
    }
    addInstance(acc, read);
  }
  for (const acc of studies.values()) report.studies.push(await inspectStudy(acc, config, cridTag));
  return report;
}

/**
 * The exit code of `dicombridge inspect` for a report:
 * - 0: at least one study was found, every study would go to Inbox_Auto, and no Part 10 file
 *   would be refused by the bridge;
 * - 1: a study would go to Inbox_Manual or Inbox_Failed, a Part 10 file would be refused, or no
 *   study was found at all;
 * - 2: a file could not be read (I/O error). The CLI also exits with 2 on a usage error or when
 *   {@link inspectPath} rejects (target missing or unreadable, invalid configuration).
 */
export function inspectExitCode(report: InspectReport): 0 | 1 | 2 {
  if (report.skippedByKind.unreadable > 0) return 2;
  if (report.studies.length === 0 || report.skippedByKind.refused > 0) return 1;
  return report.studies.every((s) => s.inbox === 'Inbox_Auto') ? 0 : 1;
}
