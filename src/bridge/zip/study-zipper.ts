/**
 * Writes one staged study into a ZIP under a temporary name (SPEC §1). Each entry is the
 * staged Part 10 file with the CRYPE IDs cut out of the configured element on the way
 * (DatasetRewriter: every other byte is copied), so the IDs never reach the ZIP while the
 * staged files keep them until the ZIP is safely in place — a crash at any point loses
 * nothing and the study can be zipped again. yazl streams entries one at a time (ZIP64 when
 * needed), so memory stays bounded whatever the study size.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import './fast-crc32.js';
import { readFileMeta } from '../../dicom/part10/file-meta.js';
import { readPart10Attributes } from '../../dicom/part10/reader.js';
import { DatasetRewriter, type CapturedElement } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import { extractCrids, mergeCrids } from '../crid/extract.js';
import { STUDY_FIELD_TAGS } from '../study-fields.js';
import type { InstanceInfo, StagedStudy } from '../study/tracker.js';
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
}

/** Options of {@link zipStagedStudy}. */
export interface ZipOptions {
  zipTempDir: string;
  compressionLevel: number;
  /** The CRYPE-ID element, or null when the feature is off. */
  cridTag: number | null;
  fsync: boolean;
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
  };
  const modalities = new Set<string>();
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

  for (const { source, name } of assignEntryNames(sources)) {
    const path = join(study.dir, source.fileName);
    zip.addReadStreamLazy(name, { compressionLevel: options.compressionLevel, forceDosTimestamp: true }, (callback) => {
      readFileMeta(path).then((meta) => {
        const rewriter = new DatasetRewriter({
          transferSyntaxUid: meta.transferSyntaxUid,
          capture: STUDY_FIELD_TAGS,
          rewrite: options.cridTag === null ? undefined : {
            tag: options.cridTag,
            edit: (value) => {
              const found = extractCrids(value);
              if (found.malformed) result.malformed.push(`${source.fileName}: ${found.malformed}`);
              mergeCrids(result.crids, found.ids);
              return found.ids.length > 0 ? found.kept : undefined;
            },
          },
        });
        rewriter.on('finish', () => {
          if (result.attributes.size === 0) for (const [tag, el] of rewriter.captured) result.attributes.set(tag, el);
          const modality = asciiValue(rewriter.captured.get(TAGS.Modality));
          if (modality) modalities.add(modality);
        });
        const dataset = createReadStream(path, { start: meta.datasetOffset, highWaterMark: 256 * 1024 });
        dataset.on('error', (err) => rewriter.destroy(err));
        // A rewriter destroyed before it was read (the ZIP output failed first, e.g. ENOSPC)
        // must report to the zip, not as an uncaught error that ends the process.
        rewriter.on('error', fail);
        async function* bytes() {
          yield* createReadStream(path, { start: 0, end: meta.datasetOffset - 1 });
          yield* dataset.pipe(rewriter);
        }
        const entry = Readable.from(bytes(), { objectMode: false });
        entry.on('error', fail);
        callback(null, entry);
      }, (err: Error) => {
        fail(err);
        callback(err, undefined as unknown as Readable);
      });
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
  return result;
}
