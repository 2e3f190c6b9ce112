/**
 * Writes one staged study into a ZIP under a temporary name (SPEC §1). Each entry is the
 * staged Part 10 file with the CRYPE IDs cut out of the configured element on the way
 * (staged-entry.ts), so the IDs never reach the ZIP while the staged files keep them until the
 * ZIP is safely in place — a crash at any point loses nothing and the study can be zipped
 * again. Entries are deflated side by side on zlib's thread pool and written in order under a
 * fixed memory budget (ordered-deflate.ts), ZIP64 when needed (zip-container.ts).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readPart10Attributes } from '../../dicom/part10/reader.js';
import type { CapturedElement } from '../../dicom/part10/rewrite.js';
import { TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import { mergeCrids } from '../crid/extract.js';
import type { InstanceInfo, StagedStudy } from '../study/tracker.js';
import { assignEntryNames } from './entry-names.js';
import { FileSink } from './file-sink.js';
import { SMALL_ENTRY_BYTES, writeEntriesInOrder } from './ordered-deflate.js';
import { readSmallAttributes, StagedEntry } from './staged-entry.js';
import { ZipContainer } from './zip-container.js';

/** Memory the entries in flight may use (12 CT images, or 2 streamed large instances, behind the head): the bridge's whole RSS must stay near 120 MB. */
const DEFAULT_BUDGET_BYTES = 8 * 1024 * 1024;
/** Entries read or deflated at once: enough to keep the thread pool busy with tiny files. */
const MAX_IN_FLIGHT = 8;
/** Files listed (stat, order attributes) at once. */
const LIST_CONCURRENCY = 16;

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

/** Options of {@link zipStagedStudy}. */
export interface ZipOptions {
  zipTempDir: string;
  compressionLevel: number;
  /** The CRYPE-ID element, or null when the feature is off. */
  cridTag: number | null;
  fsync: boolean;
  /** Told the entry count once the staged files are listed, then after each entry (GUI progress). */
  onEntries?(done: number, total: number): void;
  /** Memory budget of the entries in flight (default 16 MiB; tests make it small). */
  budgetBytes?: number;
  /** Write the ZIP64 records whatever the sizes (tests of that layout). */
  forceZip64?: boolean;
}

/**
 * `fn` over `items` with at most `limit` calls pending, results in order. After a failure no
 * new call starts, and it rejects once the pending ones are done (no read outlives the zip).
 */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next;
      next += 1;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = settled.find((r) => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

async function instanceInfo(path: string, fileName: string, size: number, known: InstanceInfo | undefined): Promise<InstanceInfo> {
  if (known) return known;
  const captured = size <= SMALL_ENTRY_BYTES ? await readSmallAttributes(path, ORDER_TAGS) : (await readPart10Attributes(path, ORDER_TAGS)).captured;
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
  const sources = await mapLimit(fileNames, LIST_CONCURRENCY, async (fileName) => {
    const path = join(study.dir, fileName);
    const { size } = await stat(path);
    return { fileName, size, ...(await instanceInfo(path, fileName, size, study.instances.get(fileName))) };
  });
  const named = assignEntryNames(sources).map(({ source, name }) => ({
    name,
    sizeHint: source.size,
    staged: new StagedEntry(join(study.dir, source.fileName), source.fileName, options.cridTag),
  }));

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
  const callingAeTitles = new Set<string>();
  // Merged in entry order, as each entry is written: the first instance's attributes and the
  // order of first appearance of the IDs do not depend on which entry was read first.
  const merge = (index: number) => {
    const { staged } = named[index]!;
    const aet = staged.meta?.sourceApplicationEntityTitle?.trim();
    if (aet) callingAeTitles.add(aet);
    for (const found of staged.found) {
      if (found.malformed) result.malformed.push(`${staged.fileName}: ${found.malformed}`);
      mergeCrids(result.crids, found.ids);
    }
    const captured = staged.captured ?? new Map<number, CapturedElement>();
    if (index === 0) for (const [tag, el] of captured) result.attributes.set(tag, { vr: el.vr, value: Buffer.from(el.value) });
    const modality = asciiValue(captured.get(TAGS.Modality));
    if (modality) modalities.add(modality);
    staged.release();
    options.onEntries?.(index + 1, named.length);
  };

  options.onEntries?.(0, named.length);
  const handle = await open(tempZipPath, 'wx');
  try {
    const sink = new FileSink(handle);
    const zip = new ZipContainer(sink, { mtime: new Date(), forceZip64: options.forceZip64 });
    const entries = named.map(({ name, sizeHint, staged }) => ({
      name,
      sizeHint,
      readWhole: () => staged.readWhole(),
      stream: (signal: AbortSignal) => staged.stream(signal),
    }));
    await writeEntriesInOrder(zip, sink, entries, {
      level: options.compressionLevel,
      budgetBytes: options.budgetBytes ?? DEFAULT_BUDGET_BYTES,
      maxInFlight: MAX_IN_FLIGHT,
      onWritten: merge,
    });
    await zip.finish();
    if (options.fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  result.modalities = [...modalities].sort();
  result.callingAeTitles = [...callingAeTitles].sort();
  return result;
}
