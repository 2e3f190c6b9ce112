/**
 * Reading a ZIP dropped in Outbox_Auto (SPEC §2): list the DICOM instances it holds and stream
 * each one's dataset bytes straight from the archive, never extracting anything to disk.
 *
 * yauzl does the ZIP format (central directory, ZIP64, inflate, name validation, size checks
 * while streaming). No library treats an archive as hostile as a whole, so this module adds
 * what an untrusted ZIP needs before anything is sent: caps on entries, sizes and compression
 * ratio, overlapping entries (the "overlapped files" zip bomb), encrypted and symlink entries,
 * duplicate names, local headers that contradict the central directory, and CRC-32 checks of
 * the bytes sent. The DICOM side (is an entry Part 10, which SOP instance) reuses parseFileMeta
 * on the head of each entry only (PS3.10 §7.1), so memory stays bounded whatever the archive.
 */
import { close as closeFdCallback, createReadStream, fstat, open as openFd } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { constants as zlibConstants, crc32, createInflateRaw, inflateRaw, inflateRawSync, type ZlibOptions } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { DatasetDecodeError } from '../../dicom/errors.js';
import { readDatasetIdentity, type DatasetIdentity } from '../../dicom/part10/dataset-identity.js';
import { parseFileMeta, type FileMeta } from '../../dicom/part10/file-meta.js';
import { WINDOW_BYTES, ZipWindowReader } from './zip-window-reader.js';
import { freeArrayBuffer, POOLED_MAX_BYTES } from '../free-buffer.js';
import { CENTRAL_DIRECTORY_HEADER, END_OF_CENTRAL_DIRECTORY, ZIP64_END_OF_CENTRAL_DIRECTORY, ZIP64_END_OF_CENTRAL_DIRECTORY_LOCATOR } from '../zip-signatures.js';

/** Caps applied to an Outbox ZIP before anything in it is sent (zip bomb and abuse guards). */
export interface ZipLimits {
  /** Most entries (files, folders, anything) the central directory may list. */
  maxEntries: number;
  /** Largest uncompressed size of one entry. */
  maxEntryBytes: number;
  /** Largest sum of the uncompressed sizes of all entries. */
  maxTotalBytes: number;
  /** Highest uncompressed/compressed ratio for an entry above {@link RATIO_CHECK_MIN_BYTES}. */
  maxCompressionRatio: number;
}

/** Generous defaults: a large multi-study archive passes, a zip bomb does not. */
export const DEFAULT_ZIP_LIMITS: ZipLimits = Object.freeze({
  maxEntries: 100_000,
  maxEntryBytes: 8 * 1024 ** 3,
  maxTotalBytes: 64 * 1024 ** 3,
  maxCompressionRatio: 200,
});

/** Entries up to this size are not ratio-checked: small files of zeros compress absurdly well. */
export const RATIO_CHECK_MIN_BYTES = 1024 * 1024;

/** Read size for entry data: few thread-pool round trips per instance. */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Largest entry {@link OutboxZip.readDataset} reads whole into memory: one positional read and
 * one inflate instead of a stream per instance, which is most of the cost of small instances.
 * Bounded so a few associations, each holding one instance on the wire and the next one
 * ready, stay well within the memory the bridge is allowed.
 */
export const MAX_BUFFERED_ENTRY_BYTES = 4 * 1024 * 1024;

/** Entries up to this size are inflated on the main thread: a thread-pool round trip costs more. */
const SYNC_INFLATE_MAX_BYTES = 64 * 1024;

const inflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(inflateRaw);

/** Most bytes of an entry's head read to find its file meta (PS3.10 §7.1). */
export const MAX_FILE_META_BYTES = 64 * 1024;

/** Most dataset bytes after the file meta read to find its SOP Class and Instance UIDs (group 0008). */
export const MAX_IDENTITY_BYTES = 16 * 1024;

/**
 * Error codes of opening or reading a file that say nothing about the file itself: a network
 * drive that hiccups, a virus scanner holding the file (Windows), too many open files. The same
 * ZIP can be read a moment later.
 */
export const TRANSIENT_FS_CODES: ReadonlySet<string> = new Set(['EIO', 'EBUSY', 'EPERM', 'EACCES', 'EMFILE', 'ENFILE', 'EAGAIN', 'ETIMEDOUT']);

/** The transient file-system error behind `err` (itself or a cause), or undefined. */
export function transientFsError(err: unknown): NodeJS.ErrnoException | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && TRANSIENT_FS_CODES.has(code)) return e as NodeJS.ErrnoException;
  }
  return undefined;
}

/** Opens a file for reading and gives its descriptor (node:fs `open`); a seam for fault tests. */
export type OpenFd = (path: string) => Promise<number>;

const defaultOpenFd: OpenFd = (path) => new Promise((resolve, reject) => openFd(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));

/** Media Storage Directory Storage: a DICOMDIR, which is never sent (PS3.4 Annex B.5, PS3.10 §8.6). */
export const DICOMDIR_SOP_CLASS_UID = '1.2.840.10008.1.3.10';

/** A DICOM instance found in the ZIP (its file meta, PS3.10 §7.1). */
export interface ZipInstance {
  entryName: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Offset of the first dataset byte inside the entry (after preamble, "DICM" and group 0002). */
  datasetOffset: number;
  /** Size of the whole entry (file meta and dataset), as checked by yauzl while streaming. */
  uncompressedSize: number;
  /**
   * Set when the file meta names another SOP class or instance than the dataset does: the
   * dataset's UIDs above are the ones sent (PS3.4 B.2.3); this says what the meta claimed.
   */
  metaDisagrees?: string;
}

/** An entry that is not sent: a directory, a non-DICOM file or a DICOMDIR. */
export interface SkippedEntry {
  entryName: string;
  reason: string;
}

/** Thrown (rejected) when the archive as a whole must not be sent; `reason` is one line for the log book. */
export class OutboxZipError extends Error {
  readonly code = 'ERR_OUTBOX_ZIP';
  /** One line saying what is wrong, naming the entry when there is one. */
  readonly reason: string;
  /** The entry at fault, when the problem is one entry. */
  readonly entryName: string | undefined;

  constructor(reason: string, options: { entryName?: string; cause?: unknown } = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutboxZipError';
    this.reason = reason;
    this.entryName = options.entryName;
  }
}

const GPB_ENCRYPTED = 0x0001;
const GPB_DATA_DESCRIPTOR = 0x0008;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const ZIP32_MAX = 0xffffffff;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const PREFIX_END = 132;
const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Quotes an entry name for a log line; JSON escaping keeps control characters visible. */
function quote(name: string): string {
  return JSON.stringify(name);
}

function entryError(name: string, problem: string, cause?: unknown): OutboxZipError {
  return new OutboxZipError(`entry ${quote(name)}: ${problem}`, { entryName: name, cause });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * yauzl on a descriptor from `open`, read through windows (zip-window-reader.ts); the ZipFile
 * closes it on close().
 */
async function openZip(path: string, open: OpenFd): Promise<{ zip: ZipFile; reader: ZipWindowReader }> {
  const fd = await open(path);
  let size: number;
  try {
    size = await new Promise<number>((resolve, reject) => fstat(fd, (err, stats) => (err ? reject(err) : resolve(stats.size))));
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  const reader = new ZipWindowReader(fd, size);
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(
      reader,
      size,
      { lazyEntries: true, strictFileNames: true, validateEntrySizes: true, autoClose: false, decodeStrings: true },
      (err, zip) => {
        if (err || !zip) {
          closeFd(fd);
          reject(err ?? new Error('no zip file'));
        } else resolve({ zip, reader });
      },
    );
  });
}

function closeFd(fd: number): void {
  closeFdCallback(fd, () => undefined);
}

/** The next central directory entry, or null at the end (yauzl lazyEntries). */
function nextEntry(zip: ZipFile): Promise<Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: Entry): void => {
      cleanup();
      resolve(entry);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/** Why an entry name is refused beyond yauzl's strictFileNames checks, or null. */
function nameProblem(name: string): string | null {
  if (name.length === 0) return 'empty entry name';
  if (/^[A-Za-z]:/.test(name)) return 'name starts with a drive letter';
  if (CONTROL_CHARACTERS.test(name)) return 'name contains control characters';
  return null;
}

/** Maps a yauzl error message to a reason a person understands. */
function yauzlReason(err: unknown): string {
  const text = messageOf(err);
  if (/^(absolute path|invalid relative path|invalid characters in fileName)/.test(text)) {
    return `unsafe entry name (${text})`;
  }
  if (/strong encryption/.test(text)) return `encrypted entry (${text})`;
  return `corrupt or truncated ZIP (${text})`;
}

/** The head of an entry: its file meta and what its dataset says of itself. */
interface EntryHead {
  meta: FileMeta | null;
  dicm: boolean;
  /** null when the dataset's UIDs were not within {@link MAX_IDENTITY_BYTES}. */
  identity: DatasetIdentity | null;
}

/** Uncompressed bytes of an entry's head looked at first; most file metas and UIDs fit. */
const FIRST_HEAD_BYTES = 2048;

/**
 * At least `want` bytes of the entry's start (all of it when shorter), more when they come
 * with the same inflate. A deflated head is inflated from a prefix of the compressed data
 * (sync flush), taking less input when it would inflate past the head cap. Throws yauzl-like
 * "too many/few bytes" errors when the data contradicts the declared size.
 */
async function headBytes(reader: ZipWindowReader, start: number, entry: Entry, want: number): Promise<Buffer> {
  const size = entry.uncompressedSize;
  const n = Math.min(size, want);
  if (entry.compressionMethod === METHOD_STORED) return reader.use(start, n, (bytes) => Buffer.from(bytes));
  const maxOutputLength = 2 * (MAX_FILE_META_BYTES + MAX_IDENTITY_BYTES);
  // Deflate adds a few bytes per block: a little more input than output wanted suffices.
  let input = Math.min(entry.compressedSize, n + 1024);
  for (;;) {
    const head = await reader.use(start, input, (compressed) => {
      try {
        // An output chunk the size of the head wanted: small ones come from Node's buffer pool.
        return inflateRawSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength, chunkSize: Math.max(64, n + 512) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' && input > 64) return null;
        throw err;
      }
    });
    if (head === null) {
      input = Math.floor(input / 4);
      continue;
    }
    if (head.length > size) throw new Error(`too many bytes in the stream. expected ${size}. got at least ${head.length}`);
    if (input === entry.compressedSize && head.length < size) throw new Error(`too few bytes in the stream. expected ${size}. got ${head.length}`);
    return head;
  }
}

/**
 * Reads the head of an entry until the file meta is complete and the dataset's SOP Class and
 * Instance UIDs are found or passed, the entry ends or the cap is hit. The bytes come from the
 * reader's windows and, deflated, from one synchronous inflate of a prefix: a stream per
 * entry cost more than everything else of a small instance.
 */
async function readHead(reader: ZipWindowReader, start: number, entry: Entry): Promise<EntryHead> {
  const size = entry.uncompressedSize;
  const cap = Math.min(size, MAX_FILE_META_BYTES + MAX_IDENTITY_BYTES);
  const isDicm = (head: Buffer): boolean => head.length >= PREFIX_END && head.toString('latin1', 128, PREFIX_END) === 'DICM';
  const identityIn = async (head: Buffer, m: FileMeta, atEnd: boolean): Promise<DatasetIdentity | null> => {
    const end = Math.min(head.length, m.datasetOffset + MAX_IDENTITY_BYTES);
    // A dataset that does not parse is still sent as it is, under the meta's UIDs (the PACS judges it).
    return readDatasetIdentity(head.subarray(m.datasetOffset, end), m.transferSyntaxUid, atEnd || end < head.length)
      .catch(() => ({ sopClassUid: undefined, sopInstanceUid: undefined }));
  };
  let meta: FileMeta | null = null;
  for (let want = Math.min(cap, FIRST_HEAD_BYTES); ; want = Math.min(cap, want * 4)) {
    const all = await headBytes(reader, start, entry, want);
    const head = all.length > cap ? all.subarray(0, cap) : all;
    const atEnd = head.length === size;
    // Whatever is asked for next is no more than this: the last round.
    const last = atEnd || head.length >= cap || want >= cap;
    if (!isDicm(head)) {
      if (head.length < PREFIX_END && !last) continue;
      return { meta: null, dicm: false, identity: null };
    }
    meta ??= parseFileMeta(head, atEnd);
    if (meta === null) {
      if (head.length >= Math.min(cap, MAX_FILE_META_BYTES)) return { meta: null, dicm: true, identity: null };
      if (!last) continue;
      meta = parseFileMeta(head, true);
      if (meta === null) return { meta: null, dicm: true, identity: null };
    }
    const identity = await identityIn(head, meta, atEnd || last);
    if (identity !== null || last) return { meta, dicm: true, identity };
  }
}

/**
 * Drops the first `skip` bytes of an entry (its preamble and file meta) and checks the CRC-32
 * of the whole entry at its end, so a corrupt stored entry never passes as complete.
 */
class DatasetSlice extends Transform {
  private remainingSkip: number;
  private crc = 0;

  private bytes = 0;

  constructor(
    skip: number,
    private readonly expectedCrc: number | undefined,
    private readonly entryName: string,
    private readonly expectedBytes?: number,
  ) {
    super();
    this.remainingSkip = skip;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedBytes !== undefined && this.bytes > this.expectedBytes) {
      callback(entryError(this.entryName, `more data than the ${this.expectedBytes} bytes its header declares (archive is corrupt)`));
      return;
    }
    if (this.expectedCrc !== undefined) this.crc = crc32(chunk, this.crc);
    if (this.remainingSkip >= chunk.length) {
      this.remainingSkip -= chunk.length;
      callback();
      return;
    }
    const out = this.remainingSkip > 0 ? chunk.subarray(this.remainingSkip) : chunk;
    this.remainingSkip = 0;
    callback(null, out);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedBytes !== undefined && this.bytes !== this.expectedBytes) {
      callback(entryError(this.entryName, `${this.bytes} bytes instead of the ${this.expectedBytes} its header declares (archive is corrupt)`));
      return;
    }
    if (this.expectedCrc !== undefined && this.crc !== this.expectedCrc) {
      callback(entryError(this.entryName, `CRC-32 mismatch (archive is corrupt): expected ${hex(this.expectedCrc)}, got ${hex(this.crc)}`));
      return;
    }
    callback();
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

interface DataRange {
  name: string;
  start: number;
  end: number;
}

/**
 * An Outbox ZIP, validated as a whole by {@link OutboxZip.open}: its DICOM instances, the
 * entries it skips, and a streaming reader for each instance's dataset (PS3.10 §7.1; the
 * dataset bytes are sent as they are, PS3.7 §9.3.1 C-STORE).
 */
export class OutboxZip {
  private readonly reading = new Set<Readable>();
  /** Memory that datasets from {@link readDataset} own alone (see {@link releaseDataset}). */
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private closed = false;
  private data: Promise<FileHandle> | undefined;

  private constructor(
    private readonly path: string,
    private readonly zip: ZipFile,
    private readonly reader: ZipWindowReader,
    private readonly entries: ReadonlyMap<string, Entry>,
    /** Where each entry's data starts in the file (after its local header), checked by the scan. */
    private readonly dataStarts: ReadonlyMap<string, number>,
    /** The DICOM instances, in central directory order. */
    readonly instances: readonly ZipInstance[],
    /** Entries that are not sent, with why. */
    readonly skipped: readonly SkippedEntry[],
  ) {}

  /**
   * Opens and validates the whole archive before anything is sent: every central directory
   * entry, its local header and the head of each file (up to {@link MAX_FILE_META_BYTES}).
   * Rejects with an OutboxZipError naming the entry and the problem, or with the file system's
   * own error when it is transient ({@link TRANSIENT_FS_CODES}: try again later). `io.open`
   * replaces node:fs `open` (fault tests).
   */
  static async open(path: string, limits: Partial<ZipLimits> = {}, io: { open?: OpenFd } = {}): Promise<OutboxZip> {
    const lim: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
    let zip: ZipFile;
    let reader: ZipWindowReader;
    try {
      ({ zip, reader } = await openZip(path, io.open ?? defaultOpenFd));
    } catch (err) {
      // A busy or unreachable file says nothing of the ZIP: the caller retries it.
      const transient = transientFsError(err);
      if (transient !== undefined) throw transient;
      throw new OutboxZipError(`not a readable ZIP, truncated or still being written (${messageOf(err)})`, { cause: err });
    }
    // yauzl may report a late error (e.g. on closing the file); the scan below handles its own.
    zip.on('error', () => undefined);
    try {
      return await OutboxZip.scan(path, zip, reader, lim);
    } catch (err) {
      zip.close();
      const transient = transientFsError(err);
      if (transient !== undefined) throw transient;
      if (err instanceof OutboxZipError) throw err;
      throw new OutboxZipError(yauzlReason(err), { cause: err });
    }
  }

  private static async scan(path: string, zip: ZipFile, reader: ZipWindowReader, lim: ZipLimits): Promise<OutboxZip> {
    if (zip.entryCount > lim.maxEntries) {
      throw new OutboxZipError(`too many entries: ${zip.entryCount} (limit ${lim.maxEntries})`);
    }
    const entries = new Map<string, Entry>();
    const instances: ZipInstance[] = [];
    const skipped: SkippedEntry[] = [];
    const ranges: DataRange[] = [];
    const dataStarts = new Map<string, number>();
    let total = 0;
    let count = 0;
    for (;;) {
      let entry: Entry | null;
      try {
        entry = await nextEntry(zip);
      } catch (err) {
        throw new OutboxZipError(yauzlReason(err), { cause: err });
      }
      if (entry === null) break;
      const name = entry.fileName;
      count += 1;
      if (count > lim.maxEntries) throw new OutboxZipError(`too many entries: more than ${lim.maxEntries}`);
      const badName = nameProblem(name);
      if (badName !== null) throw entryError(name, `unsafe entry name (${badName})`);
      if (entries.has(name)) throw entryError(name, 'duplicate entry name');
      entries.set(name, entry);
      if ((entry.generalPurposeBitFlag & GPB_ENCRYPTED) !== 0) throw entryError(name, 'encrypted entry');
      const fileType = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (fileType === S_IFLNK) throw entryError(name, 'symbolic link entry');
      if (fileType !== 0 && fileType !== S_IFREG && fileType !== S_IFDIR) {
        throw entryError(name, `special file entry (Unix mode ${fileType.toString(8)})`);
      }
      if (name.endsWith('/')) {
        skipped.push({ entryName: name, reason: 'directory' });
        continue;
      }
      if (entry.compressionMethod !== METHOD_STORED && entry.compressionMethod !== METHOD_DEFLATED) {
        throw entryError(name, `unsupported compression method ${entry.compressionMethod}`);
      }
      const size = entry.uncompressedSize;
      if (size > lim.maxEntryBytes) throw entryError(name, `too large: ${size} bytes uncompressed (limit ${lim.maxEntryBytes})`);
      total += size;
      if (total > lim.maxTotalBytes) throw entryError(name, `archive too large: over ${lim.maxTotalBytes} bytes uncompressed in total`);
      if (size > RATIO_CHECK_MIN_BYTES && size > lim.maxCompressionRatio * entry.compressedSize) {
        const ratio = entry.compressedSize === 0 ? 'infinite' : `${Math.round(size / entry.compressedSize)}:1`;
        throw entryError(name, `compression ratio ${ratio} over the limit ${lim.maxCompressionRatio}:1 (zip bomb?)`);
      }
      const range = await checkLocalHeader(zip, entry);
      ranges.push(range);
      dataStarts.set(name, range.end - entry.compressedSize);
      await OutboxZip.classify(reader, range.end - entry.compressedSize, entry, instances, skipped);
    }
    checkOverlaps(ranges);
    if (instances.length === 0) throw new OutboxZipError('no DICOM instance in the ZIP');
    return new OutboxZip(path, zip, reader, entries, dataStarts, instances, skipped);
  }

  private static async classify(reader: ZipWindowReader, dataStart: number, entry: Entry, instances: ZipInstance[], skipped: SkippedEntry[]): Promise<void> {
    const name = entry.fileName;
    if (entry.uncompressedSize < PREFIX_END) {
      skipped.push({ entryName: name, reason: 'not DICOM (shorter than a Part 10 preamble)' });
      return;
    }
    let found: EntryHead;
    try {
      found = await readHead(reader, dataStart, entry);
    } catch (err) {
      if (err instanceof DatasetDecodeError) throw entryError(name, `claims to be DICOM but is not (${err.message})`, err);
      throw entryError(name, yauzlReason(err), err);
    }
    if (!found.dicm) {
      skipped.push({ entryName: name, reason: 'not DICOM (no "DICM" at offset 128)' });
      return;
    }
    const meta = found.meta;
    if (meta === null) throw entryError(name, `claims to be DICOM but is not (file meta longer than ${MAX_FILE_META_BYTES} bytes)`);
    const missing = ([
      ['MediaStorageSOPClassUID', meta.mediaStorageSopClassUid],
      ['MediaStorageSOPInstanceUID', meta.mediaStorageSopInstanceUid],
      ['TransferSyntaxUID', meta.transferSyntaxUid],
    ] as const).find(([, v]) => v.length > 64 || !UID_PATTERN.test(v));
    if (missing !== undefined) {
      const [keyword, value] = missing;
      const problem = value === '' ? `no ${keyword}` : `${keyword} ${quote(value)} is not a valid UID`;
      throw entryError(name, `claims to be DICOM but is not (${problem} in the file meta)`);
    }
    if (meta.mediaStorageSopClassUid === DICOMDIR_SOP_CLASS_UID) {
      skipped.push({ entryName: name, reason: 'DICOMDIR' });
      return;
    }
    if (meta.datasetOffset >= entry.uncompressedSize) {
      throw entryError(name, 'claims to be DICOM but is not (no dataset after the file meta)');
    }
    // The dataset's own UIDs are what a C-STORE names (PS3.4 B.2.3); the meta's copies only
    // stand in when the dataset's cannot be read from its head.
    const valid = (v: string | undefined): v is string => v !== undefined && v.length <= 64 && UID_PATTERN.test(v);
    const sopClassUid = valid(found.identity?.sopClassUid) ? found.identity.sopClassUid : meta.mediaStorageSopClassUid;
    const sopInstanceUid = valid(found.identity?.sopInstanceUid) ? found.identity.sopInstanceUid : meta.mediaStorageSopInstanceUid;
    const instance: ZipInstance = {
      entryName: name,
      sopClassUid,
      sopInstanceUid,
      transferSyntaxUid: meta.transferSyntaxUid,
      datasetOffset: meta.datasetOffset,
      uncompressedSize: entry.uncompressedSize,
    };
    const differs: string[] = [];
    if (sopClassUid !== meta.mediaStorageSopClassUid) differs.push(`MediaStorageSOPClassUID ${meta.mediaStorageSopClassUid} but SOPClassUID ${sopClassUid}`);
    if (sopInstanceUid !== meta.mediaStorageSopInstanceUid) differs.push(`MediaStorageSOPInstanceUID ${meta.mediaStorageSopInstanceUid} but SOPInstanceUID ${sopInstanceUid}`);
    if (differs.length > 0) instance.metaDisagrees = `file meta disagrees with the dataset (${differs.join('; ')}); sent as the dataset says`;
    instances.push(instance);
  }

  /**
   * The dataset bytes (after the file meta) of one instance, streamed from the archive with
   * backpressure. The stream fails with an OutboxZipError if the entry's data is corrupt:
   * inflate error, size other than the central directory says, or CRC-32 mismatch.
   */
  async openDataset(instance: ZipInstance): Promise<Readable> {
    if (this.closed) throw new OutboxZipError('the ZIP is closed');
    const entry = this.entries.get(instance.entryName);
    if (entry === undefined) throw entryError(instance.entryName, 'no such entry in this ZIP');
    // Read from byte 0 even when stored: the CRC-32 covers the file meta too, and deflated
    // data can only be inflated from its start. The skipped head is a few hundred bytes.
    let source: Readable;
    let raw: Readable;
    try {
      ({ source, raw } = await this.openEntryData(entry));
    } catch (err) {
      throw entryError(instance.entryName, yauzlReason(err), err);
    }
    const slice = new DatasetSlice(instance.datasetOffset, entry.crc32, instance.entryName, entry.uncompressedSize);
    if (raw !== source) raw.on('error', (err) => slice.destroy(entryError(instance.entryName, yauzlReason(err), err)));
    source.on('error', (err) => {
      slice.destroy(err instanceof OutboxZipError ? err : entryError(instance.entryName, yauzlReason(err), err));
    });
    slice.on('close', () => {
      this.reading.delete(slice);
      source.unpipe(slice);
      // The raw stream reads the shared descriptor: destroying it would close that, so it is
      // only stopped; the inflater, if any, is destroyed.
      raw.unpipe();
      raw.pause();
      if (source !== raw) source.destroy();
    });
    this.reading.add(slice);
    source.pipe(slice);
    return slice;
  }

  /**
   * The entry's data as stored, read straight from the file in large chunks (yauzl's own
   * stream reads 16 KiB at a time, a thread-pool round trip each) and inflated when deflated.
   * Sizes and CRC are checked by the DatasetSlice that follows.
   */
  private async openEntryData(entry: Entry): Promise<{ source: Readable; raw: Readable }> {
    const fileDataStart = this.dataStarts.get(entry.fileName)!;
    const raw: Readable = entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream('', { fd: (await this.dataHandle()).fd, autoClose: false, emitClose: false, start: fileDataStart, end: fileDataStart + entry.compressedSize - 1, highWaterMark: READ_CHUNK_BYTES });
    if (entry.compressionMethod === 0) return { source: raw, raw };
    return { source: raw.pipe(createInflateRaw({ chunkSize: READ_CHUNK_BYTES })), raw };
  }

  /**
   * The dataset bytes (after the file meta) of an instance of at most
   * {@link MAX_BUFFERED_ENTRY_BYTES}, read whole: one positional read, one inflate, then the
   * same checks as {@link openDataset} (size as declared, CRC-32), failing with an
   * OutboxZipError that says the same. The result is a view of the entry's bytes.
   */
  async readDataset(instance: ZipInstance): Promise<Buffer> {
    if (this.closed) throw new OutboxZipError('the ZIP is closed');
    const name = instance.entryName;
    const entry = this.entries.get(name);
    if (entry === undefined) throw entryError(name, 'no such entry in this ZIP');
    const size = entry.uncompressedSize;
    if (size > MAX_BUFFERED_ENTRY_BYTES) throw new RangeError(`entry ${quote(name)} is too large to read whole (${size} bytes)`);
    const start = this.dataStarts.get(name)!;
    const stored = entry.compressionMethod === METHOD_STORED;
    // One output chunk a little larger than declared: no concatenation, and more than
    // declared shows as a too-large output instead of being read on.
    const options: ZlibOptions = { chunkSize: Math.max(64, size + 64), maxOutputLength: size + 1 };
    const inflateFailed = (err: unknown): OutboxZipError => (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
      ? entryError(name, `more data than the ${size} bytes its header declares (archive is corrupt)`, err)
      : entryError(name, yauzlReason(err), err);
    let bytes: Buffer;
    if (entry.compressedSize <= WINDOW_BYTES) {
      // Small: from the shared window, copied or inflated at once (window memory is reused).
      bytes = await this.reader.use(start, entry.compressedSize, (compressed) => {
        if (compressed.length < entry.compressedSize) throw entryError(name, 'corrupt or truncated ZIP (the file ends inside the entry)');
        if (stored) return Buffer.from(compressed);
        try {
          return inflateRawSync(compressed, options);
        } catch (err) {
          throw inflateFailed(err);
        }
      });
    } else {
      const compressed = await this.reader.readOwn(start, entry.compressedSize);
      if (compressed.length < entry.compressedSize) throw entryError(name, 'corrupt or truncated ZIP (the file ends inside the entry)');
      if (stored) bytes = compressed;
      else {
        try {
          bytes = size <= SYNC_INFLATE_MAX_BYTES ? inflateRawSync(compressed, options) : await inflateRawAsync(compressed, options);
        } catch (err) {
          throw inflateFailed(err);
        } finally {
          freeArrayBuffer(compressed.buffer);
        }
      }
    }
    // Larger than a pool slab: memory of its own (read or inflated for this entry alone).
    if (bytes.buffer.byteLength > POOLED_MAX_BYTES) this.owned.add(bytes.buffer);
    if (bytes.length !== size) throw entryError(name, `${bytes.length} bytes instead of the ${size} its header declares (archive is corrupt)`);
    const crc = crc32(bytes);
    if (crc !== entry.crc32) {
      this.releaseDataset(bytes);
      throw entryError(name, `CRC-32 mismatch (archive is corrupt): expected ${hex(entry.crc32)}, got ${hex(crc)}`);
    }
    return bytes.subarray(instance.datasetOffset);
  }

  /**
   * Frees at once the memory of a dataset {@link readDataset} gave, when it has memory of its
   * own (a large entry), instead of leaving it to a later full collection: hundreds of large
   * instances would otherwise hold tens of MB of garbage. Only for a dataset nothing reads any
   * more (the PACS answered for it); its views become empty.
   */
  releaseDataset(dataset: Buffer): void {
    if (this.owned.delete(dataset.buffer)) freeArrayBuffer(dataset.buffer);
  }

  /** One descriptor for every entry's data (positional reads), opened on first use. */
  private dataHandle(): Promise<FileHandle> {
    this.data ??= openFile(this.path, 'r');
    return this.data;
  }

  /** Closes the archive; datasets still being read are ended with an error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.reading) stream.destroy(new OutboxZipError('the ZIP was closed while an instance was being read'));
    const closedEvent = new Promise<void>((resolve) => this.zip.once('close', () => resolve()));
    this.zip.close();
    await closedEvent;
    await this.data?.then((handle) => handle.close(), () => undefined);
  }
}

/**
 * Compares an entry's local header with its central directory record: a ZIP whose two name
 * or flag copies differ is built to fool one reader or another (APPNOTE 4.3.7, 4.4.4).
 * Returns the byte range of the entry's data for the overlap check.
 */
async function checkLocalHeader(zip: ZipFile, entry: Entry): Promise<DataRange> {
  const name = entry.fileName;
  let local;
  try {
    local = await zip.readLocalFileHeaderPromise(entry);
  } catch (err) {
    throw entryError(name, yauzlReason(err), err);
  }
  const differs: string[] = [];
  if (!local.fileName.equals(entry.fileNameRaw)) differs.push('name');
  if ((local.generalPurposeBitFlag & GPB_ENCRYPTED) !== (entry.generalPurposeBitFlag & GPB_ENCRYPTED)) differs.push('encryption flag');
  if (local.compressionMethod !== entry.compressionMethod) differs.push('compression method');
  if ((local.generalPurposeBitFlag & GPB_DATA_DESCRIPTOR) === 0) {
    if (local.compressedSize !== ZIP32_MAX && local.compressedSize !== entry.compressedSize) differs.push('compressed size');
    if (local.uncompressedSize !== ZIP32_MAX && local.uncompressedSize !== entry.uncompressedSize) differs.push('uncompressed size');
  }
  if (differs.length > 0) throw entryError(name, `local header disagrees with the central directory (${differs.join(', ')})`);
  return { name, start: entry.relativeOffsetOfLocalHeader, end: local.fileDataStart + entry.compressedSize };
}

/** Refuses entries whose data overlap: the same compressed bytes counted many times is a zip bomb. */
function checkOverlaps(ranges: DataRange[]): void {
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i += 1) {
    const previous = ranges[i - 1]!;
    const current = ranges[i]!;
    if (current.start < previous.end) {
      throw entryError(current.name, `data overlaps entry ${quote(previous.name)} (zip bomb?)`);
    }
  }
}

const EOCD_LENGTH = 22;
const ZIP64_LOCATOR_LENGTH = 20;
const ZIP64_EOCD_LENGTH = 56;

/**
 * True when the file ends with a readable end of central directory record whose central
 * directory ends right where the record (or its ZIP64 form) starts, i.e. the writer has
 * finished (APPNOTE 4.3.14–4.3.16). A ZIP stored inside a ZIP that is still being written
 * ends with an inner record whose offsets do not line up, so it is not taken for complete.
 * False for a missing, short, truncated or growing file.
 */
export async function isZipComplete(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await openFile(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size < EOCD_LENGTH) return false;
    const tailLength = Math.min(size, EOCD_LENGTH + 0xffff);
    const tail = Buffer.alloc(tailLength);
    const tailStart = size - tailLength;
    await fh.read(tail, 0, tailLength, tailStart);
    let eocd = -1;
    for (let i = tailLength - EOCD_LENGTH; i >= 0; i -= 1) {
      if (tail.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY && i + EOCD_LENGTH + tail.readUInt16LE(i + 20) === tailLength) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) return false;
    const eocdOffset = tailStart + eocd;
    let entryCount = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    let cdEnd = eocdOffset;
    if (entryCount === 0xffff || cdSize === ZIP32_MAX || cdOffset === ZIP32_MAX) {
      const locatorOffset = eocdOffset - ZIP64_LOCATOR_LENGTH;
      if (locatorOffset < 0) return false;
      const locator = Buffer.alloc(ZIP64_LOCATOR_LENGTH);
      await fh.read(locator, 0, ZIP64_LOCATOR_LENGTH, locatorOffset);
      if (locator.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY_LOCATOR) return false;
      const zip64Offset = Number(locator.readBigUInt64LE(8));
      if (zip64Offset + ZIP64_EOCD_LENGTH > locatorOffset) return false;
      const record = Buffer.alloc(ZIP64_EOCD_LENGTH);
      await fh.read(record, 0, ZIP64_EOCD_LENGTH, zip64Offset);
      if (record.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY) return false;
      entryCount = Number(record.readBigUInt64LE(32));
      cdSize = Number(record.readBigUInt64LE(40));
      cdOffset = Number(record.readBigUInt64LE(48));
      cdEnd = zip64Offset;
    }
    if (cdOffset + cdSize !== cdEnd) return false;
    if (entryCount === 0) return cdSize === 0;
    const signature = Buffer.alloc(4);
    const { bytesRead } = await fh.read(signature, 0, 4, cdOffset);
    return bytesRead === 4 && signature.readUInt32LE(0) === CENTRAL_DIRECTORY_HEADER;
  } finally {
    await fh.close();
  }
}
