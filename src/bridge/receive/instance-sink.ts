/**
 * Receives one C-STORE dataset into a Part 10 file (SPEC §1): file meta first, then the
 * dataset bytes exactly as they arrive, scanned on the way for the attributes that group the
 * instance into its study. The bytes go to an instance file created ahead (instance-files.ts)
 * by positioned writes of the very buffers the socket delivered; the C-STORE response waits
 * until the file is committed (commit-record.ts: the record in its preamble and one fdatasync),
 * and the move into its study folder happens after the response. An aborted transfer deletes
 * its file.
 *
 * What the bridge acknowledges with 0000 can be zipped (SPEC §5): every parse zipping makes —
 * the file meta read back from the staged file, the dataset walk with the CRYPE ID edit (as a
 * dry run), the captured naming and ordering values and their decoding — runs here on the same
 * bytes, and an instance that fails one is refused with C000 and the reason. Below the
 * free-space threshold ({@link DiskGuard}) the instance is refused with A700 before a byte is
 * written; a write that fails anyway (ENOSPC, EDQUOT) deletes the partial file and answers A700.
 */
import { close, fdatasync, write as writeAt, writev } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
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
import { transferSyntaxInfo } from '../../dicom/part10/transfer-syntax.js';
import { asciiValue } from '../../dicom/part10/values.js';
import type { Logger } from '../../dicom/ul/logger.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../implementation.js';
import { STUDY_FIELD_TAGS, studyFields, type StudyFields } from '../study-fields.js';
import type { StudyTracker } from '../study/tracker.js';
import { cridRewrite } from '../zip/crid-rewrite.js';
import type { DiskGuard } from './disk-guard.js';
import { commitRecord, PREAMBLE_LENGTH } from './commit-record.js';
import type { InstanceFile, InstanceFilePool } from './instance-files.js';

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
  instanceFiles: InstanceFilePool;
  /** fdatasync each instance before it is acknowledged (the `receive.fsync` setting). */
  fsync: boolean;
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

const closeFd = promisify(close);
const syncData = promisify(fdatasync);
const writeAtPromise = promisify(writeAt);

/**
 * Bytes written or waiting per instance before the peer is paused: bounded memory per
 * association, with backpressure from the disk to the socket.
 */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/**
 * Bytes gathered before a write starts. An instance smaller than this goes to its file in one
 * writev at the end, commit record included: one system call where a write per fragment, and
 * the record's own write, cost more than the bytes (3,000 tiny instances).
 */
const WRITE_BATCH_BYTES = 256 * 1024;

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
  /** Buffers waiting for the next writev, and bytes waiting or being written. */
  private queue: Buffer[] = [];
  private pendingBytes = 0;
  private writing = false;
  /** File offset of the next write (the preamble is written last); CRC-32 of the bytes after it so far. */
  private position = PREAMBLE_LENGTH;
  /** Set by end(): everything queued is written, whatever its size. */
  private ending = false;
  private crc: number;
  /** Resolved when pending bytes fall under the limit, or all are written (end). */
  private waiters: Array<() => void> = [];
  private fdClosed = false;
  /** Deflated transfer syntax: the rewriter inflates asynchronously and may hold input. */
  private readonly inflating: boolean;

  constructor(
    private readonly rq: StoreRequest,
    private readonly ctx: InstanceSinkContext,
    private readonly file: InstanceFile,
    private readonly rewriter: DatasetRewriter,
    private readonly fileMeta: Buffer,
  ) {
    this.inflating = transferSyntaxInfo(rq.transferSyntax)?.deflated === true;
    rewriter.on('error', (err: Error) => this.fail(err));
    rewriter.resume(); // it pushes nothing (checkOnly); reading lets it end
    this.crc = crc32(fileMeta.subarray(PREAMBLE_LENGTH));
    this.enqueue(fileMeta.subarray(PREAMBLE_LENGTH));
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return undefined;
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    this.datasetBytes += chunk.length;
    this.crc = crc32(chunk, this.crc);
    // A plain dataset is scanned synchronously within write(): its "false" for a chunk above the
    // rewriter's high-water mark holds nothing back. Only an inflating rewriter can fall behind.
    const more = this.rewriter.write(chunk) || !this.inflating;
    if (!this.releaseStudy) this.noteStudy();
    this.enqueue(chunk);
    if (this.pendingBytes <= MAX_PENDING_BYTES && more) return undefined;
    return Promise.all([
      this.pendingBytes > MAX_PENDING_BYTES ? this.written(MAX_PENDING_BYTES) : undefined,
      more ? undefined : new Promise<void>((resolve) => {
        const done = () => {
          this.rewriter.off('drain', done);
          this.rewriter.off('close', done);
          resolve();
        };
        this.rewriter.on('drain', done);
        this.rewriter.on('close', done); // destroyed (failed or aborted): nothing more to wait for
      }),
    ]).then(() => undefined);
  }

  async end(): Promise<StoreOutcome> {
    try {
      if (this.failure) throw this.failure;
      this.rewriter.end();
      await finished(this.rewriter);
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
      const patientId = text(this.rewriter, TAGS.PatientID) ?? '';
      await this.ctx.tracker.folderReady(patientId, studyInstanceUid);
      const size = this.position + this.pendingBytes;
      const record = commitRecord(size, this.crc);
      if (this.position === PREAMBLE_LENGTH && !this.writing) {
        // Nothing written yet (a small instance): record, meta and dataset in one writev. (A
        // synchronous writev here was slower: it waits on the journal beside the pool's
        // creates and the moves, measured in docs/benchmarks.md.)
        this.queue.unshift(record);
        this.pendingBytes += PREAMBLE_LENGTH;
        this.position = 0;
        this.ending = true;
        this.pump();
        await this.written(0);
      } else {
        // The record goes out beside the last data write, not after it: the CRC it carries
        // makes it worthless without the data, so their order on disk does not matter.
        this.ending = true;
        this.pump();
        await Promise.all([this.written(0), writeAtPromise(this.file.fd, record, 0, PREAMBLE_LENGTH, 0)]);
      }
      if (this.failure) throw this.failure;
      // The commit: the record is written; once synced the instance survives a power cut.
      if (this.ctx.fsync) await syncData(this.file.fd);
      const modality = text(this.rewriter, TAGS.Modality) ?? '';
      const { study, moved } = this.ctx.tracker.place({
        tempPath: this.file.path,
        size,
        beforeMove: () => this.closeFd(),
        source: { callingAeTitle: this.rq.channel.callingAeTitle, peer: this.rq.channel.peer },
        patientId,
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
      this.settled = true; // placed: the file is the study's now (a stopped tracker throws above, and it is discarded)
      moved.catch((err: unknown) => {
        this.ctx.log.error({ err, study, sop: this.rq.AffectedSOPInstanceUID, file: this.file.path },
          'acknowledged instance could not be moved into its study folder; it stays in the incoming folder and is zipped at the next start');
      });
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
    this.fail(reason);
    await this.discard();
    this.releaseStudy?.();
  }

  /** Queues bytes for the file; one writev at a time, of everything queued meanwhile. */
  private enqueue(chunk: Buffer): void {
    this.queue.push(chunk);
    this.pendingBytes += chunk.length;
    this.pump();
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0 || this.failure) return;
    if (!this.ending && this.pendingBytes < WRITE_BATCH_BYTES) return;
    const buffers = this.queue;
    this.queue = [];
    this.writing = true;
    writev(this.file.fd, buffers, this.position, (err, bytesWritten) => {
      this.writing = false;
      if (err) {
        this.fail(err);
        return;
      }
      this.position += bytesWritten;
      this.pendingBytes -= bytesWritten;
      const total = buffers.reduce((n, b) => n + b.length, 0);
      if (bytesWritten < total) this.queue.unshift(...remainder(buffers, bytesWritten));
      this.wake();
      this.pump();
    });
  }

  /** Resolves once at most `limit` bytes wait (0: all written), or on failure. */
  private written(limit: number): Promise<void> {
    if (this.pendingBytes <= limit || this.failure) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.pendingBytes <= limit || this.failure) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.rewriter.destroy();
    this.wake();
  }

  private closeFd(): Promise<void> {
    if (this.fdClosed) return Promise.resolve();
    this.fdClosed = true;
    return closeFd(this.file.fd);
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
    this.failure ??= new Error('instance discarded');
    while (this.writing) await new Promise<void>((resolve) => this.waiters.push(resolve));
    await this.closeFd().catch(() => undefined);
    await unlink(this.file.path).catch(() => undefined);
  }
}

/** The buffers after the first `skip` bytes (a short write's remainder). */
function remainder(buffers: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) skip -= buffer.length;
    else {
      rest.push(buffer.subarray(skip));
      skip = 0;
    }
  }
  return rest;
}

/**
 * Takes an instance file for a new instance and writes its File Meta Information (PS3.10 §7.1),
 * or answers at once without writing anything: A700 while the disk space guard is low, or the
 * failure status of an instance file that cannot be created (PS3.4 Table B.2-1).
 */
export async function openInstanceSink(rq: StoreRequest, ctx: InstanceSinkContext): Promise<DatasetSink | StoreOutcome> {
  const refusal = await ctx.diskGuard?.refusal();
  if (refusal) {
    // The transition is logged once by the guard; each refused instance only at debug level.
    ctx.log.debug({ assoc: rq.channel.id, sop: rq.AffectedSOPInstanceUID }, 'instance refused: free disk space below the threshold');
    return refusal;
  }
  // Built before an instance file is taken: a UID too long for the file meta or a transfer
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
      checkOnly: true, // the sink writes the bytes as they came
      rewrite: cridTag === null ? undefined : cridRewrite(cridTag, { dryRun: true }),
    });
  } catch (err) {
    ctx.log.warn({ err, assoc: rq.channel.id, sop: rq.AffectedSOPInstanceUID }, 'instance refused: no Part 10 file can be written for it');
    return cannotUnderstand((err as Error).message);
  }
  let file: InstanceFile;
  try {
    file = await ctx.instanceFiles.take();
  } catch (err) {
    rewriter.destroy();
    ctx.log.error({ err, assoc: rq.channel.id, sop: rq.AffectedSOPInstanceUID }, 'instance not stored: no instance file');
    return failureOutcome(err);
  }
  return new InstanceSink(rq, ctx, file, rewriter, fileMeta);
}
