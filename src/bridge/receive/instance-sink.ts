/**
 * Receives one C-STORE dataset into a Part 10 file (SPEC §1): file meta first, then the
 * dataset bytes exactly as they arrive, scanned on the way for the attributes that group the
 * instance into its study. The C-STORE response waits until the file is written, fsynced and
 * renamed into its study folder; an aborted transfer deletes its temporary file.
 *
 * What the bridge acknowledges with 0000 can be zipped (SPEC §5): every parse zipping makes —
 * the file meta read back from the staged file, the dataset walk with the CRYPE ID edit (as a
 * dry run), the captured naming and ordering values and their decoding — runs here on the same
 * bytes, and an instance that fails one is refused with C000 and the reason. Below the
 * free-space threshold ({@link DiskGuard}) the instance is refused with A700 before a byte is
 * written; a write that fails anyway (ENOSPC, EDQUOT) deletes the partial file and answers A700.
 */
import type { WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DatasetSink, StoreOutcome, StoreRequest } from '../../dicom/dimse/service.js';
import {
  STATUS_CANNOT_UNDERSTAND,
  STATUS_DATASET_MISMATCH,
  STATUS_OUT_OF_RESOURCES,
  STATUS_PROCESSING_FAILURE,
  STATUS_SUCCESS,
} from '../../dicom/dimse/status.js';
import { DatasetDecodeError } from '../../dicom/errors.js';
import { buildFileMeta, parseFileMeta } from '../../dicom/part10/file-meta.js';
import { DatasetRewriter } from '../../dicom/part10/rewrite.js';
import { formatTag, TAGS } from '../../dicom/part10/tags.js';
import { asciiValue } from '../../dicom/part10/values.js';
import type { Logger } from '../../dicom/ul/logger.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../implementation.js';
import { STUDY_FIELD_TAGS, studyFields, type StudyFields } from '../study-fields.js';
import type { StudyTracker } from '../study/tracker.js';
import { cridRewrite } from '../zip/crid-rewrite.js';
import type { DiskGuard } from './disk-guard.js';
import type { TempFilePool } from './temp-files.js';

/**
 * Attributes captured while receiving: grouping, ZIP entry order, and the naming fields that
 * zipping captures too (the same tags under the same limits, so zipping meets no new error).
 */
const CAPTURED = [...new Set([
  TAGS.PatientID,
  TAGS.StudyInstanceUID,
  TAGS.SeriesInstanceUID,
  TAGS.SeriesNumber,
  TAGS.InstanceNumber,
  TAGS.Modality,
  TAGS.SOPInstanceUID,
  ...STUDY_FIELD_TAGS,
])];

/** Dataset bytes kept to read the staged file's head back as zipping will. */
const HEAD_BYTES = 16;

/** What every instance sink shares. */
export interface InstanceSinkContext {
  tempFiles: TempFilePool;
  tracker: StudyTracker;
  log: Logger;
  /** Refuses storing while free disk space is below the threshold; absent = no guard. */
  diskGuard?: DiskGuard;
  /** The CRYPE ID element now configured (null = off): its edit is checked while receiving. */
  cridTag?: () => number | null;
}

/** A C000 refusal: the dataset cannot be understood well enough to be zipped. */
function cannotUnderstand(reason: string): StoreOutcome {
  return { status: STATUS_CANNOT_UNDERSTAND, errorComment: reason.slice(0, 64) };
}

/** A captured ASCII value, or undefined while it has not streamed past. */
function text(rewriter: DatasetRewriter, tag: number): string | undefined {
  const element = rewriter.captured.get(tag);
  return element ? asciiValue(element) : undefined;
}

/** Waits until the stream accepts more, or fails. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', done);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
  });
}

/** Maps a failure to the C-STORE status a sender understands (PS3.4 Table B.2-1). */
export function failureOutcome(err: unknown): StoreOutcome {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE') {
    return { status: STATUS_OUT_OF_RESOURCES, errorComment: `Out of resources: ${code}` };
  }
  if (err instanceof DatasetDecodeError) {
    return { status: STATUS_CANNOT_UNDERSTAND, errorComment: err.message.slice(0, 64) };
  }
  return { status: STATUS_PROCESSING_FAILURE, errorComment: String((err as Error)?.message ?? err).slice(0, 64) };
}

/** One instance being received. Created by {@link openInstanceSink}. */
class InstanceSink implements DatasetSink {
  private releaseStudy: (() => void) | undefined;
  private settled = false;
  /** The first error of the rewriter or the file: later writes are dropped, end() reports it. */
  private failure: Error | undefined;
  /** The first dataset bytes, and how many came in all. */
  private head = Buffer.alloc(0);
  private datasetBytes = 0;
  /** The decoded study fields, kept from the zippability check for the progress panel. */
  private fields: StudyFields | undefined;

  constructor(
    private readonly rq: StoreRequest,
    private readonly ctx: InstanceSinkContext,
    private readonly tempPath: string,
    private readonly file: WriteStream,
    private readonly rewriter: DatasetRewriter,
    private readonly fileMeta: Buffer,
  ) {
    const record = (err: Error) => {
      this.failure ??= err;
    };
    rewriter.on('error', record);
    file.on('error', (err) => {
      record(err);
      // The pipe stops feeding a failed file: without this the rewriter would stay full and a
      // write() waiting for its 'drain' would never return (a full disk would hang the C-STORE).
      rewriter.destroy(err);
    });
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failure) return;
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    this.datasetBytes += chunk.length;
    const more = this.rewriter.write(chunk);
    if (this.file.writableCorked) process.nextTick(() => this.file.uncork());
    if (!this.releaseStudy) this.noteStudy();
    if (!more) await drained(this.rewriter).catch(() => undefined);
  }

  async end(): Promise<StoreOutcome> {
    try {
      if (this.failure) throw this.failure;
      this.rewriter.end();
      await finished(this.file); // with fsync on, 'flush' syncs before the close that finished() waits for
      if (this.failure) throw this.failure;
      const studyInstanceUid = text(this.rewriter, TAGS.StudyInstanceUID);
      if (!studyInstanceUid) {
        await this.discard();
        return { status: STATUS_DATASET_MISMATCH, errorComment: 'Study Instance UID (0020,000D) missing' };
      }
      const refusal = this.unzippable();
      if (refusal) {
        this.ctx.log.warn({ assoc: this.rq.channel.id, sop: this.rq.AffectedSOPInstanceUID, reason: refusal.errorComment },
          'instance refused: it could not be zipped');
        await this.discard();
        return refusal;
      }
      const datasetUid = text(this.rewriter, TAGS.SOPInstanceUID);
      if (datasetUid !== undefined && datasetUid !== this.rq.AffectedSOPInstanceUID) {
        this.ctx.log.warn({ assoc: this.rq.channel.id, datasetUid, commandUid: this.rq.AffectedSOPInstanceUID },
          'SOP Instance UID in the dataset differs from the C-STORE request; the request\'s is used');
      }
      const modality = text(this.rewriter, TAGS.Modality) ?? '';
      const study = await this.ctx.tracker.place({
        tempPath: this.tempPath,
        size: this.file.bytesWritten,
        source: { callingAeTitle: this.rq.channel.callingAeTitle, peer: this.rq.channel.peer },
        patientId: text(this.rewriter, TAGS.PatientID) ?? '',
        studyInstanceUid,
        info: {
          sopInstanceUid: this.rq.AffectedSOPInstanceUID,
          seriesInstanceUid: text(this.rewriter, TAGS.SeriesInstanceUID) ?? '',
          seriesNumber: text(this.rewriter, TAGS.SeriesNumber) ?? '',
          instanceNumber: text(this.rewriter, TAGS.InstanceNumber) ?? '',
          modality,
        },
        label: { patientName: this.fields?.patientName ?? '', studyDate: this.fields?.studyDate ?? '', modality },
      });
      this.settled = true;
      // The study's id on the association's line links the two in the technical log.
      return { status: STATUS_SUCCESS, logFields: { study } };
    } catch (err) {
      this.ctx.log.error({ err, assoc: this.rq.channel.id, sop: this.rq.AffectedSOPInstanceUID }, 'instance not stored');
      await this.discard();
      return failureOutcome(err);
    } finally {
      this.releaseStudy?.();
    }
  }

  async abort(reason: Error): Promise<void> {
    this.ctx.log.warn({ assoc: this.rq.channel.id, sop: this.rq.AffectedSOPInstanceUID, reason: reason.message },
      'transfer broken off: partial instance deleted');
    this.rewriter.destroy();
    this.file.destroy();
    await this.discard();
    this.releaseStudy?.();
  }

  /**
   * The refusal for an instance zipping could not read, or null. The staged file's head is read
   * back with the parser zipping uses: group 0002 elements at the start of the dataset would
   * run on from our file meta and replace its transfer syntax (PS3.10 §7.1 keeps them out of
   * the dataset). The naming values are decoded as zipping will decode them.
   */
  private unzippable(): StoreOutcome | null {
    let meta;
    try {
      meta = parseFileMeta(Buffer.concat([this.fileMeta, this.head]), this.datasetBytes <= HEAD_BYTES);
    } catch (err) {
      return cannotUnderstand(`dataset start unreadable after file meta: ${(err as Error).message}`);
    }
    if (meta === null || meta.datasetOffset !== this.fileMeta.length || meta.transferSyntaxUid !== this.rq.transferSyntax) {
      const tag = this.head.length >= 4 ? ((this.head.readUInt16LE(0) << 16) | this.head.readUInt16LE(2)) >>> 0 : 0x00020000;
      return cannotUnderstand(`dataset holds file meta element ${formatTag(tag)} (PS3.10 7.1)`);
    }
    try {
      this.fields = studyFields(this.rewriter.captured);
    } catch (err) {
      return cannotUnderstand(`patient/study values undecodable: ${(err as Error).message}`);
    }
    return null;
  }

  /** Once the grouping attributes have streamed past, hold the study open while we receive. */
  private noteStudy(): void {
    const studyInstanceUid = text(this.rewriter, TAGS.StudyInstanceUID);
    if (studyInstanceUid === undefined) return;
    this.releaseStudy = this.ctx.tracker.receiving(text(this.rewriter, TAGS.PatientID) ?? '', studyInstanceUid);
  }

  private async discard(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.file.destroy();
    if (!this.file.closed) await once(this.file, 'close').catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

/**
 * Takes a temporary file for a new instance and writes its File Meta Information (PS3.10 §7.1),
 * or answers at once without writing anything: A700 while the disk space guard is low, or the
 * failure status of a temporary file that cannot be created (PS3.4 Table B.2-1).
 */
export async function openInstanceSink(rq: StoreRequest, ctx: InstanceSinkContext): Promise<DatasetSink | StoreOutcome> {
  const refusal = await ctx.diskGuard?.refusal();
  if (refusal) {
    // The transition is logged once by the guard; each refused instance only at debug level.
    ctx.log.debug({ assoc: rq.channel.id, sop: rq.AffectedSOPInstanceUID }, 'instance refused: free disk space below the threshold');
    return refusal;
  }
  // Built before a temporary file is taken: a UID too long for the file meta or a transfer
  // syntax we cannot read refuses the instance without leaving anything behind.
  let fileMeta: Buffer;
  let rewriter: DatasetRewriter;
  try {
    fileMeta = buildFileMeta({
      mediaStorageSopClassUid: rq.AffectedSOPClassUID,
      mediaStorageSopInstanceUid: rq.AffectedSOPInstanceUID,
      transferSyntaxUid: rq.transferSyntax,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      sourceApplicationEntityTitle: rq.channel.callingAeTitle,
    });
    const cridTag = ctx.cridTag?.() ?? null;
    rewriter = new DatasetRewriter({
      transferSyntaxUid: rq.transferSyntax,
      capture: CAPTURED,
      rewrite: cridTag === null ? undefined : cridRewrite(cridTag, { dryRun: true }),
    });
  } catch (err) {
    ctx.log.warn({ err, assoc: rq.channel.id, sop: rq.AffectedSOPInstanceUID }, 'instance refused: no Part 10 file can be written for it');
    return cannotUnderstand((err as Error).message);
  }
  let taken;
  try {
    taken = await ctx.tempFiles.take();
  } catch (err) {
    rewriter.destroy();
    ctx.log.error({ err, assoc: rq.channel.id, sop: rq.AffectedSOPInstanceUID }, 'instance not stored: no temporary file');
    return failureOutcome(err);
  }
  const { path, stream: file } = taken;
  // Corked until the first dataset bytes arrive: meta and dataset go out in one writev.
  file.cork();
  file.write(fileMeta);
  rewriter.pipe(file);
  rewriter.on('error', (err) => file.destroy(err));
  return new InstanceSink(rq, ctx, path, file, rewriter, fileMeta);
}
