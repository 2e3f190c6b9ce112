/**
 * Reads one Part 10 file as `inspect` needs it: the attributes the bridge captures, the
 * CRYPE-ID edit the zipper would make, and every other element with `CRID#` text, in one
 * streamed pass (the dataset goes through the repo's DatasetRewriter, with the CRID# finder
 * beside it; deflated data is inflated for the finder only). Memory stays bounded per file.
 */
import { createReadStream, type Dirent } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import { DatasetDecodeError } from '../../dicom/errors.js';
import { readFileMeta, type FileMeta } from '../../dicom/part10/file-meta.js';
import { DatasetRewriter } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { transferSyntaxInfo } from '../../dicom/part10/transfer-syntax.js';
import { asciiValue } from '../../dicom/part10/values.js';
import { extractCrids } from '../crid/extract.js';
import { DICOMDIR_SOP_CLASS_UID } from '../send/outbox-zip.js';
import { STUDY_FIELD_TAGS } from '../study-fields.js';
import type { EntrySource } from '../zip/entry-names.js';
import { CridTextFinder } from './crid-text-finder.js';
import type { OtherCridElement, SkippedFile } from './report.js';
import { describeHit, MAX_REWRITE_VALUE_BYTES } from './crid-hits.js';

/** Top-level attributes read from each file: naming (as the zipper) and grouping/order (as the receiver). */
export const CAPTURE = [
  ...STUDY_FIELD_TAGS,
  TAGS.PatientID,
  TAGS.SeriesInstanceUID,
  TAGS.SeriesNumber,
  TAGS.InstanceNumber,
  TAGS.SOPInstanceUID,
] as const;

const CHUNK_BYTES = 256 * 1024;

/** One file read as an instance. */
export interface InstanceRead extends EntrySource {
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

export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code && !(err instanceof DatasetDecodeError) ? `${e.code}: ${e.message}` : String(e?.message ?? err);
}

/** Reads one file as the bridge would receive and zip it; a SkippedFile when it would not. */
export async function readInstance(path: string, file: string, cridTag: number | null, maxHits: number): Promise<InstanceRead | SkippedFile> {
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
export async function* filesUnder(root: string): AsyncGenerator<{ path: string; file: string } | SkippedFile> {
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
