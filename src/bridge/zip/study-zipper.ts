/**
 * Writes one staged study into a ZIP under a temporary name (SPEC §1). Each entry is the
 * staged Part 10 file with the CRYPE IDs cut out of the configured element on the way
 * (DatasetRewriter: every other byte is copied; an instance without IDs is copied whole), so
 * the IDs never reach the ZIP while the staged files keep them until the ZIP is safely in
 * place — a crash at any point loses nothing and the study can be zipped again. yazl streams
 * entries one at a time (ZIP64 when needed), so memory stays bounded whatever the study size.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import './fast-crc32.js';
import { readFileMeta, type FileMeta } from '../../dicom/part10/file-meta.js';
import { readPart10Attributes } from '../../dicom/part10/reader.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { transferSyntaxInfo } from '../../dicom/part10/transfer-syntax.js';
import { asciiValue } from '../../dicom/part10/values.js';
import { mergeCrids, type CridExtraction } from '../crid/extract.js';
import { STUDY_FIELD_TAGS } from '../study-fields.js';
import type { InstanceInfo, StagedStudy } from '../study/tracker.js';
import { PREAMBLE_LENGTH } from '../receive/commit-record.js';
import { cridRewrite } from './crid-rewrite.js';
import { assignEntryNames } from './entry-names.js';

/** Attributes needed to order instances whose infos were lost with a restart. */
const ORDER_TAGS = [
  TAGS.SOPInstanceUID,
  TAGS.SeriesInstanceUID,
  TAGS.SeriesNumber,
  TAGS.InstanceNumber,
  TAGS.Modality,
] as const;

/** What zipping a study found out. */
export interface ZippedStudy {
  tempZipPath: string;
  instanceCount: number;
  /** Valid CRYPE IDs, union over the instances in order of first appearance. */
  crids: string[];
  /** One line per instance whose ID text was malformed (left in place). */
  malformed: string[];
  /** Raw values of the first instance (naming), by tag. */
  attributes: Map<number, CapturedElement>;
  /** Distinct modalities of the study, sorted. */
  modalities: string[];
  /** Distinct calling AE titles that sent its instances (file meta SourceApplicationEntityTitle), sorted. */
  callingAeTitles: string[];
}

/** What each entry reports back while it streams. */
interface EntryEdits {
  onValue(fileName: string, found: CridExtraction): void;
  onCaptured(captured: Map<number, CapturedElement>): void;
  onMeta(meta: FileMeta): void;
}

/** True when the dataset's CRYPE ID element holds IDs to cut (a dry run over the file). */
async function holdsCrids(path: string, meta: FileMeta, cridTag: number): Promise<boolean> {
  const check = new DatasetRewriter({ transferSyntaxUid: meta.transferSyntaxUid, capture: [], rewrite: cridRewrite(cridTag, { dryRun: true }) });
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeline(createReadStream(path, { start: meta.datasetOffset, highWaterMark: 256 * 1024 }), check, discard);
  return check.rewritten;
}

/**
 * One ZIP entry: the staged file's meta and dataset, the dataset through the CRYPE ID edit.
 * Only an instance that holds IDs is rewritten; every other one goes in byte for byte, also
 * when deflated (a rewrite would deflate it anew), so a deflated instance is checked first.
 */
async function openEntry(path: string, fileName: string, cridTag: number | null, edits: EntryEdits, fail: (err: Error) => void): Promise<Readable> {
  const meta = await readFileMeta(path);
  edits.onMeta(meta);
  let strip = cridTag !== null;
  if (cridTag !== null && transferSyntaxInfo(meta.transferSyntaxUid)?.deflated === true) strip = await holdsCrids(path, meta, cridTag);
  const rewriter = new DatasetRewriter({
    transferSyntaxUid: meta.transferSyntaxUid,
    capture: STUDY_FIELD_TAGS,
    rewrite: cridTag === null ? undefined : cridRewrite(cridTag, { dryRun: !strip, onValue: (found) => edits.onValue(fileName, found) }),
  });
  rewriter.on('finish', () => edits.onCaptured(rewriter.captured));
  const dataset = createReadStream(path, { start: meta.datasetOffset, highWaterMark: 256 * 1024 });
  dataset.on('error', (err) => rewriter.destroy(err));
  // A rewriter destroyed before it was read (the ZIP output failed first, e.g. ENOSPC)
  // must report to the zip, not as an uncaught error that ends the process.
  rewriter.on('error', fail);
  async function* bytes() {
    // The preamble holds the receiver's commit record (commit-record.ts): the ZIP gets zeros.
    yield Buffer.alloc(PREAMBLE_LENGTH);
    yield* createReadStream(path, { start: PREAMBLE_LENGTH, end: meta.datasetOffset - 1 });
    yield* dataset.pipe(rewriter);
  }
  const entry = Readable.from(bytes(), { objectMode: false });
  entry.on('error', fail);
  return entry;
}

/** Options of {@link zipStagedStudy}. */
export interface ZipOptions {
  zipTempDir: string;
  compressionLevel: number;
  /** The CRYPE-ID element, or null when the feature is off. */
  cridTag: number | null;
  fsync: boolean;
  /** Told the entry count once the staged files are listed, then after each entry (GUI progress). */
  onEntries?(done: number, total: number): void;
}

async function instanceInfo(dir: string, fileName: string, known: InstanceInfo | undefined): Promise<InstanceInfo> {
  if (known) return known;
  const { captured } = await readPart10Attributes(join(dir, fileName), ORDER_TAGS);
  return {
    sopInstanceUid: asciiValue(captured.get(TAGS.SOPInstanceUID)) || fileName,
    seriesInstanceUid: asciiValue(captured.get(TAGS.SeriesInstanceUID)),
    seriesNumber: asciiValue(captured.get(TAGS.SeriesNumber)),
    instanceNumber: asciiValue(captured.get(TAGS.InstanceNumber)),
    modality: asciiValue(captured.get(TAGS.Modality)),
  };
}

/**
 * Zips the study's staged instances into `zipTempDir`; resolves null when the folder holds no
 * instance. Rejects on any read, parse or write error (the caller moves the folder to
 * Inbox_Failed); the temporary ZIP is removed by the caller.
 */
export async function zipStagedStudy(study: StagedStudy, tempZipPath: string, options: ZipOptions): Promise<ZippedStudy | null> {
  const fileNames = (await readdir(study.dir)).filter((name) => name.endsWith('.dcm')).sort();
  if (fileNames.length === 0) return null;
  const sources = [];
  for (const fileName of fileNames) {
    sources.push({ fileName, ...(await instanceInfo(study.dir, fileName, study.instances.get(fileName))) });
  }

  const result: ZippedStudy = {
    tempZipPath,
    instanceCount: sources.length,
    crids: [],
    malformed: [],
    attributes: new Map(),
    modalities: [],
    callingAeTitles: [],
  };
  const modalities = new Set<string>();
  let entriesDone = 0;
  options.onEntries?.(0, sources.length);
  const callingAeTitles = new Set<string>();
  const zip = new yazl.ZipFile();
  const output = createWriteStream(tempZipPath, { flags: 'wx' });
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    output.destroy(err);
  };
  zip.on("error", fail);
  zip.outputStream.on("error", fail);
  zip.outputStream.pipe(output);

  const edits: EntryEdits = {
    onValue: (fileName: string, found: CridExtraction) => {
      if (found.malformed) result.malformed.push(`${fileName}: ${found.malformed}`);
      mergeCrids(result.crids, found.ids);
    },
    onCaptured: (captured: Map<number, CapturedElement>) => {
      if (result.attributes.size === 0) for (const [tag, el] of captured) result.attributes.set(tag, el);
      const modality = asciiValue(captured.get(TAGS.Modality));
      if (modality) modalities.add(modality);
    },
    onMeta: (meta: FileMeta) => {
      const aet = meta.sourceApplicationEntityTitle?.trim();
      if (aet) callingAeTitles.add(aet);
    },
  };
  for (const { source, name } of assignEntryNames(sources)) {
    const path = join(study.dir, source.fileName);
    zip.addReadStreamLazy(name, { compressionLevel: options.compressionLevel, forceDosTimestamp: true }, (callback) => {
      // Whatever an instance throws, sync or async, fails this study only (SPEC §5).
      openEntry(path, source.fileName, options.cridTag, edits, fail)
        .then((entry) => {
          entry.once('end', () => options.onEntries?.((entriesDone += 1), sources.length));
          callback(null, entry);
        }, (err: Error) => {
          fail(err);
          callback(err, undefined as unknown as Readable);
        })
        .catch(fail);
    });
  }
  zip.end();
  await finished(output).catch((err: Error) => {
    throw failure ?? err;
  });
  if (failure) throw failure;
  if (options.fsync) {
    const handle = await open(tempZipPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  result.modalities = [...modalities].sort();
  result.callingAeTitles = [...callingAeTitles].sort();
  return result;
}
