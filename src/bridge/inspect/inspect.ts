/**
 * `dicombridge inspect FILE|DIR` (issue 5 point 8), the answer to "CRYPE IDs not detected": reads
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
import { createReadStream, type Dirent } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import type { Config } from '../../config/schema.js';
import { cridTag as configuredCridTag } from '../../config/load.js';
import { DatasetDecodeError } from '../../dicom/errors.js';
import { decodeText } from '../../dicom/part10/charset.js';
import { keywordOf } from '../../dicom/part10/dictionary.js';
import { readFileMeta, type FileMeta } from '../../dicom/part10/file-meta.js';
import { readPart10Attributes } from '../../dicom/part10/reader.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { formatTag, TAGS, tagElement, tagGroup } from '../../dicom/part10/tags.js';
import { transferSyntaxInfo } from '../../dicom/part10/transfer-syntax.js';
import { asciiValue } from '../../dicom/part10/values.js';
import { CHARSET_VRS } from '../../dicom/part10/vr.js';
import { extractCrids, mergeCrids } from '../crid/extract.js';
import { buildZipName, ZipNameError } from '../naming/zip-name.js';
import { DICOMDIR_SOP_CLASS_UID } from '../send/outbox-zip.js';
import { storageLayout } from '../storage-layout.js';
import { isoDate, STUDY_FIELD_TAGS, studyFields } from '../study-fields.js';
import { StudyTracker } from '../study/tracker.js';
import { assignEntryNames, type EntrySource } from '../zip/entry-names.js';
import { CridTextFinder, type CridTextHit } from './crid-text-finder.js';
import { safeText } from './safe-text.js';

/** The inboxes a study can end in (SPEC §1, §3). */
export type InboxName = 'Inbox_Auto' | 'Inbox_Manual' | 'Inbox_Failed';

/** The configured CRYPE-ID element (SPEC §5 `receive.cridTagGroup` / `cridTagElement`). */
export interface CridTagInfo {
  /** `(gggg,eeee)`. */
  tag: string;
  group: string;
  element: string;
  /** PS3.6 keyword when the compact dictionary knows it. */
  keyword: string | null;
}

/** An element other than the configured one whose text contains `CRID#`. */
export interface OtherCridElement {
  /** Where it is: enclosing sequences and items, then the element, e.g. `(0040,0275) item 1 > (0010,4000) PatientComments`. */
  location: string;
  /** `(gggg,eeee)` of the element itself. */
  tag: string;
  keyword: string | null;
  vr: string;
  /** False when it sits inside a sequence, where the bridge never looks. */
  topLevel: boolean;
  /** The value of the first instance holding it, decoded and terminal-safe. */
  value: string;
  /** Instances of the study that hold `CRID#` text at this location. */
  instances: number;
  /** For a top-level element: the IDs the bridge would take if this were the configured element. */
  wouldYield: { ids: string[]; malformed: string | null } | null;
  /** What to change, in the words of the Settings tab. */
  hint: string;
}

/** A malformed ID text in the configured element, as the receiver logs it. */
export interface MalformedId {
  file: string;
  message: string;
}

/** What inspect found for one study (patient + StudyInstanceUID, as the bridge groups). */
export interface StudyInspection {
  studyInstanceUid: string;
  patientId: string;
  instances: number;
  /** `FAMILY, Given Middle`, decoded with the Specific Character Set. */
  patientName: string;
  /** `YYYY-MM-DD` when the DA value is well formed, else as sent. */
  birthDate: string;
  sex: string;
  studyDate: string;
  studyDescription: string;
  /** Distinct, sorted. */
  modalities: string[];
  /** Valid IDs in the configured element, union over the instances in order of first appearance. */
  crids: string[];
  /** Instances whose configured element held at least one valid ID. */
  instancesWithIds: number;
  /** Instances where the configured element is present at the top level. */
  instancesWithTag: number;
  malformed: MalformedId[];
  otherElements: OtherCridElement[];
  /** The ZIP name (before any copy number for an existing file), or null when it cannot be built. */
  zipName: string | null;
  inbox: InboxName;
  /** Why the study would not go to Inbox_Auto; null when it would. */
  inboxReason: string | null;
  /** Anything that limited the search (a value too long, a sequence that could not be walked). */
  notes: string[];
}

/** Why a file took no part in a study. */
export type SkipKind = 'not-dicom' | 'refused' | 'unreadable';

/** A file inspect did not count as an instance. */
export interface SkippedFile {
  /** Relative to the inspected folder (or the file name). */
  file: string;
  /** `not-dicom`: not an instance (no Part 10, DICOMDIR); `refused`: a Part 10 file the bridge would not accept; `unreadable`: an I/O error. */
  kind: SkipKind;
  reason: string;
}

/** The result of {@link inspectPath}: plain data, stable for `--json`. */
export interface InspectReport {
  /** The path as given. */
  target: string;
  /** The configured element, or null when CRYPE IDs are off (0000/0000). */
  cridTag: CridTagInfo | null;
  /** Files looked at (instances and skipped). */
  files: number;
  studies: StudyInspection[];
  /** At most `maxSkippedListed` entries; the rest are counted in skippedOmitted. */
  skipped: SkippedFile[];
  skippedOmitted: number;
  /** Skipped files by kind, all of them. */
  skippedByKind: Record<SkipKind, number>;
}

/** Options of {@link inspectPath}. */
export interface InspectOptions {
  /** Skipped files listed one by one (default 200); more are only counted. */
  maxSkippedListed?: number;
  /** `CRID#` hits kept per file (default 100). */
  maxHitsPerFile?: number;
}

/** The target is neither a file nor a folder. */
export class InspectTargetError extends Error {
  readonly code = 'ERR_INSPECT_TARGET' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InspectTargetError';
  }
}

/** Top-level attributes read from each file: naming (as the zipper) and grouping/order (as the receiver). */
const CAPTURE = [
  ...STUDY_FIELD_TAGS,
  TAGS.PatientID,
  TAGS.SeriesInstanceUID,
  TAGS.SeriesNumber,
  TAGS.InstanceNumber,
  TAGS.SOPInstanceUID,
] as const;

const CHUNK_BYTES = 256 * 1024;
/** DatasetRewriter's default: a longer CRYPE-ID value is left as it is by the bridge. */
const MAX_REWRITE_VALUE_BYTES = 64 * 1024;

/** One file read as an instance. */
interface InstanceRead extends EntrySource {
  /** Where to read it again (the naming attributes of a study's first instance). */
  path: string;
  file: string;
  patientId: string;
  studyInstanceUid: string;
  /** The CRYPE-ID edit saw the element (null: absent or too long for the bridge). */
  extraction: { ids: string[]; malformed: string | null } | null;
  tagPresent: boolean;
  /** Other elements with `CRID#` text, already in display form (bounded per file). */
  hits: OtherCridElement[];
  notes: string[];
}

/** Passes dataset bytes through unchanged while the CRID# finder walks them (inflated when deflated). */
class CridTextScan extends Transform {
  problem: string | null = null;
  private readonly inflater: InflateRaw | undefined;
  private pending: (() => void) | undefined;
  private inflateEnded = false;
  private onInflateEnd: (() => void) | undefined;

  constructor(private readonly finder: CridTextFinder, deflated: boolean) {
    super();
    if (!deflated) return;
    this.inflater = createInflateRaw();
    this.inflater.on('data', (data: Buffer) => this.scan(data));
    // The deflate stream may end (its last block) before the input does.
    this.inflater.on('end', () => {
      this.inflateEnded = true;
      this.onInflateEnd?.();
    });
    this.inflater.on('error', (err) => {
      this.note(`the deflated dataset cannot be inflated: ${err.message}`);
      this.release();
      this.onInflateEnd?.();
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.push(chunk);
    if (this.inflater === undefined) {
      this.scan(chunk);
      callback();
    } else if (this.problem !== null || this.inflater.destroyed) {
      callback();
    } else {
      this.pending = callback;
      this.inflater.write(chunk, () => this.release());
    }
  }

  override _flush(callback: TransformCallback): void {
    const inflater = this.inflater;
    const finish = () => {
      if (this.problem === null) {
        try {
          this.finder.end();
        } catch (err) {
          this.note((err as Error).message);
        }
      }
      callback();
    };
    if (inflater === undefined || this.problem !== null || this.inflateEnded || inflater.destroyed) {
      finish();
      return;
    }
    let done = false;
    this.onInflateEnd = () => {
      if (done) return;
      done = true;
      finish();
    };
    inflater.end();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inflater?.destroy();
    callback(err);
  }

  private release(): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.();
  }

  private scan(data: Buffer): void {
    if (this.problem !== null) return;
    try {
      this.finder.write(data);
    } catch (err) {
      this.note((err as Error).message);
    }
  }

  private note(message: string): void {
    this.problem ??= message;
  }
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code && !(err instanceof DatasetDecodeError) ? `${e.code}: ${e.message}` : String(e?.message ?? err);
}

/** Reads one file as the bridge would receive and zip it; a SkippedFile when it would not. */
async function readInstance(path: string, file: string, cridTag: number | null, maxHits: number): Promise<InstanceRead | SkippedFile> {
  let meta: FileMeta;
  try {
    meta = await readFileMeta(path);
  } catch (err) {
    if (err instanceof DatasetDecodeError) return { file, kind: 'not-dicom', reason: err.message };
    return { file, kind: 'unreadable', reason: errorText(err) };
  }
  if (meta.mediaStorageSopClassUid === DICOMDIR_SOP_CLASS_UID) {
    return { file, kind: 'not-dicom', reason: 'a DICOMDIR (media directory), not an instance' };
  }
  const ts = transferSyntaxInfo(meta.transferSyntaxUid);
  if (ts === undefined) {
    return { file, kind: 'refused', reason: `transfer syntax ${meta.transferSyntaxUid} is not one the bridge reads; it would not accept the instance` };
  }
  const finder = new CridTextFinder({
    explicitVr: ts.explicitVr,
    littleEndian: ts.littleEndian,
    watchTag: cridTag ?? undefined,
    maxHits,
  });
  const scan = new CridTextScan(finder, ts.deflated);
  let extraction: InstanceRead['extraction'] = null;
  const rewriter = new DatasetRewriter({
    transferSyntaxUid: meta.transferSyntaxUid,
    capture: CAPTURE,
    // The zipper's edit, so the IDs are found exactly where and as the bridge finds them.
    rewrite: cridTag === null ? undefined : {
      tag: cridTag,
      edit: (value) => {
        const found = extractCrids(value);
        extraction = { ids: found.ids, malformed: found.malformed };
        return found.ids.length > 0 ? found.kept : undefined;
      },
    },
  });
  const discard = new Writable({
    write(_chunk: Buffer, _encoding, callback) {
      callback();
    },
  });
  try {
    await pipeline(createReadStream(path, { start: meta.datasetOffset, highWaterMark: CHUNK_BYTES }), scan, rewriter, discard);
  } catch (err) {
    if (err instanceof DatasetDecodeError) {
      return { file, kind: 'refused', reason: `the bridge cannot read the dataset: ${err.message}` };
    }
    return { file, kind: 'unreadable', reason: errorText(err) };
  }
  const captured = rewriter.captured;
  const studyInstanceUid = asciiValue(captured.get(TAGS.StudyInstanceUID));
  if (studyInstanceUid === '') {
    return { file, kind: 'refused', reason: 'no StudyInstanceUID (0020,000D): the bridge refuses the instance' };
  }
  const notes: string[] = [];
  if (scan.problem !== null) notes.push(`${file}: the CRID# search stopped early: ${scan.problem}`);
  if (finder.hitsOmitted > 0) notes.push(`${file}: ${finder.hitsOmitted} more elements with CRID# text not listed`);
  const watched = finder.watched;
  if (cridTag !== null && extraction === null && watched !== undefined && watched.length > MAX_REWRITE_VALUE_BYTES) {
    notes.push(`${file}: the configured element is ${watched.length} bytes long; the bridge leaves values over ${MAX_REWRITE_VALUE_BYTES} bytes as they are`);
  }
  const charset = asciiValue(captured.get(TAGS.SpecificCharacterSet));
  // A hit in the configured top-level element is what the IDs line reports, unless the bridge skipped it.
  const hits = finder.hits
    .filter((h) => !(h.path.length === 0 && h.tag === cridTag && extraction !== null))
    .map((h) => describeHit(h, charset, cridTag));
  return {
    path,
    file,
    patientId: asciiValue(captured.get(TAGS.PatientID)),
    studyInstanceUid,
    sopInstanceUid: asciiValue(captured.get(TAGS.SOPInstanceUID)) || meta.mediaStorageSopInstanceUid || file,
    seriesInstanceUid: asciiValue(captured.get(TAGS.SeriesInstanceUID)),
    seriesNumber: asciiValue(captured.get(TAGS.SeriesNumber)),
    instanceNumber: asciiValue(captured.get(TAGS.InstanceNumber)),
    modality: asciiValue(captured.get(TAGS.Modality)),
    extraction,
    tagPresent: watched !== undefined,
    hits,
    notes,
  };
}

/** Files under `root` in name order, depth first; symbolic links are not followed. */
async function* filesUnder(root: string): AsyncGenerator<{ path: string; file: string } | SkippedFile> {
  const dirs = [root];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    const entries: Dirent[] = [];
    try {
      for await (const entry of await opendir(dir)) entries.push(entry);
    } catch (err) {
      yield { file: relative(root, dir) || '.', kind: 'unreadable', reason: errorText(err) };
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const file = relative(root, path);
      if (entry.isDirectory()) subdirs.push(path);
      else if (entry.isFile()) yield { path, file };
      else if (entry.isSymbolicLink()) yield { file, kind: 'not-dicom', reason: 'a symbolic link, not followed' };
      else yield { file, kind: 'not-dicom', reason: 'not a regular file' };
    }
    dirs.push(...subdirs.reverse());
  }
}

function tagInfo(t: number): CridTagInfo {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  return { tag: formatTag(t), group: hex(tagGroup(t)), element: hex(tagElement(t)), keyword: keywordOf(t) ?? null };
}

function tagLabel(t: number): string {
  const keyword = keywordOf(t);
  return keyword ? `${formatTag(t)} ${keyword}` : formatTag(t);
}

/** A hit's value for display: decoded with the instance's character set, padding removed, terminal-safe. */
function displayValue(hit: CridTextHit, charset: string): string {
  const text = CHARSET_VRS.has(hit.vr)
    ? decodeText(hit.value, charset, hit.vr)
    : hit.value.toString('latin1').replace(/[\0 ]+$/, '');
  const shown = safeText(text);
  return hit.truncated && !shown.endsWith('…') ? `${shown}…` : shown;
}

function hintFor(hit: CridTextHit, cridTag: number | null, wouldYield: OtherCridElement['wouldYield']): string {
  if (hit.path.length > 0) {
    return 'inside a sequence: the bridge takes CRYPE IDs only from a top-level element; have the PACS put them in one';
  }
  if (hit.tag === cridTag) {
    return `this is the configured element, but its value is longer than ${MAX_REWRITE_VALUE_BYTES} bytes and the bridge leaves it as it is`;
  }
  const info = tagInfo(hit.tag);
  let hint = `set Crype-ID Tag Group ${info.group} and Element ${info.element}`;
  if (wouldYield?.malformed) hint += ` (but the ID text there is malformed: ${wouldYield.malformed})`;
  else if (wouldYield !== null && wouldYield.ids.length === 0) hint += ' (but no valid ID would be taken from it)';
  return hint;
}

/** An element with `CRID#` text as shown to the administrator (values decoded, terminal-safe). */
function describeHit(hit: CridTextHit, charset: string, cridTag: number | null): OtherCridElement {
  const steps = hit.path.map((s) => `${tagLabel(s.tag)} item ${s.item}`);
  const wouldYield = hit.path.length === 0 && !hit.truncated
    ? (({ ids, malformed }) => ({ ids, malformed: malformed === null ? null : safeText(malformed) }))(extractCrids(hit.value))
    : null;
  const info = tagInfo(hit.tag);
  return {
    location: [...steps, tagLabel(hit.tag)].join(' > '),
    tag: info.tag,
    keyword: info.keyword,
    vr: safeText(hit.vr),
    topLevel: hit.path.length === 0,
    value: displayValue(hit, charset),
    instances: 1,
    wouldYield,
    hint: hintFor(hit, cridTag, wouldYield),
  };
}

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
