/**
 * DICOM Part 10 file meta information: writing it in front of a received dataset and reading
 * it back (PS3.10 §7.1, Table 7.1-1; encoded in explicit VR little endian, PS3.5 §7.1.2).
 *
 * Hand-written: the file meta is a dozen fixed elements; a general DICOM library would decode
 * (and for writing, re-encode) far more than we need, and we must not touch the dataset bytes.
 */
import { read } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DatasetDecodeError } from '../errors.js';
import { hasLongLength } from './vr.js';

/** Values of the file meta elements we write (PS3.10 Table 7.1-1). */
export interface FileMetaInput {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  implementationClassUid: string;
  implementationVersionName: string;
  sourceApplicationEntityTitle?: string;
}

/** What {@link readFileMeta} found in a Part 10 file (PS3.10 §7.1). */
export interface FileMeta {
  transferSyntaxUid: string;
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  implementationClassUid?: string;
  implementationVersionName?: string;
  sourceApplicationEntityTitle?: string;
  /** Offset of the first dataset byte: after the preamble, "DICM" and group 0002. */
  datasetOffset: number;
}

const PREAMBLE_LENGTH = 128;
const PREFIX_END = PREAMBLE_LENGTH + 4;
const HEAD_READ_BYTES = 16 * 1024;
const MAX_META_BYTES = 1024 * 1024;

function element(tagElement: number, vr: string, value: Buffer): Buffer {
  const long = hasLongLength(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(tagElement, 2);
  head.write(vr, 4, 2, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function padded(text: string, pad: number, maxBytes: number, what: string): Buffer {
  const raw = Buffer.from(text, 'latin1');
  if (raw.length > maxBytes) throw new RangeError(`${what} is longer than ${maxBytes} bytes`);
  if (raw.length % 2 === 0) return raw;
  return Buffer.concat([raw, Buffer.from([pad])]);
}

/**
 * Builds the 128-byte zero preamble, "DICM" and file meta group 0002 with a correct
 * (0002,0000) FileMetaInformationGroupLength (PS3.10 §7.1, Table 7.1-1). UIDs are NUL-padded,
 * the version name and AE title space-padded (PS3.5 §6.2).
 */
export function buildFileMeta(input: FileMetaInput): Buffer {
  const uid = (v: string, what: string): Buffer => padded(v, 0x00, 64, what);
  const parts = [
    element(0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 'UI', uid(input.mediaStorageSopClassUid, 'MediaStorageSOPClassUID')),
    element(0x0003, 'UI', uid(input.mediaStorageSopInstanceUid, 'MediaStorageSOPInstanceUID')),
    element(0x0010, 'UI', uid(input.transferSyntaxUid, 'TransferSyntaxUID')),
    element(0x0012, 'UI', uid(input.implementationClassUid, 'ImplementationClassUID')),
    element(0x0013, 'SH', padded(input.implementationVersionName, 0x20, 16, 'ImplementationVersionName')),
  ];
  if (input.sourceApplicationEntityTitle !== undefined) {
    parts.push(element(0x0016, 'AE', padded(input.sourceApplicationEntityTitle, 0x20, 16, 'SourceApplicationEntityTitle')));
  }
  const groupLength = parts.reduce((sum, p) => sum + p.length, 0);
  const lengthValue = Buffer.alloc(4);
  lengthValue.writeUInt32LE(groupLength, 0);
  const prefix = Buffer.alloc(PREFIX_END);
  prefix.write('DICM', PREAMBLE_LENGTH, 'latin1');
  return Buffer.concat([prefix, element(0x0000, 'UL', lengthValue), ...parts]);
}

function uidText(value: Buffer): string {
  return value.toString('latin1').replace(/[\0 ]+$/, '');
}

const readFd = promisify(read);

async function readAt(file: FileHandle | number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = typeof file === 'number' ? await readFd(file, buf, 0, length, 0) : await file.read(buf, 0, length, 0);
  return buf.subarray(0, bytesRead);
}

/**
 * Reads the file meta of a Part 10 file from the head of the file only (PS3.10 §7.1). Refuses
 * a file without "DICM" after the preamble. Group 0002 is walked element by element, so a
 * file without (0002,0000) works too, and a wrong group length does not mislead us.
 * Accepts a path, a file descriptor or an open file handle (the last two are left open).
 */
export async function readFileMeta(file: string | number | FileHandle): Promise<FileMeta> {
  const owned = typeof file === 'string' ? await open(file, 'r') : undefined;
  const fh = owned ?? (file as number | FileHandle);
  try {
    let want = HEAD_READ_BYTES;
    for (;;) {
      const head = await readAt(fh, want);
      const result = parseFileMeta(head, head.length < want);
      if (result !== null) return result;
      if (want >= MAX_META_BYTES) throw new DatasetDecodeError(`file meta longer than ${MAX_META_BYTES} bytes`);
      want *= 4;
    }
  } finally {
    await owned?.close();
  }
}

/**
 * Parses the preamble, "DICM" and group 0002 from the first bytes of a Part 10 file, for
 * callers that read the head themselves (e.g. from a stream). Returns null when more bytes are
 * needed; pass `atEof` when `head` is the whole file, so a short file is an error instead.
 * Throws DatasetDecodeError for a file that is not Part 10 or whose file meta is broken or
 * lacks the TransferSyntaxUID (PS3.10 §7.1, Table 7.1-1).
 */
export function parseFileMeta(head: Buffer, atEof = false): FileMeta | null {
  if (head.length < PREFIX_END && !atEof) return null;
  if (head.length < PREFIX_END || head.toString('latin1', PREAMBLE_LENGTH, PREFIX_END) !== 'DICM') {
    throw new DatasetDecodeError('not a DICOM Part 10 file: no "DICM" after the 128-byte preamble');
  }
  const found = new Map<number, Buffer>();
  let pos = PREFIX_END;
  for (;;) {
    if (head.length - pos < 8) {
      if (!atEof) return null;
      if (head.length === pos) break;
      throw new DatasetDecodeError('file ends inside the file meta');
    }
    const group = head.readUInt16LE(pos);
    if (group !== 0x0002) break;
    const el = head.readUInt16LE(pos + 2);
    const vr = head.toString('latin1', pos + 4, pos + 6);
    let headerLength = 8;
    let length: number;
    if (hasLongLength(vr)) {
      if (head.length - pos < 12) {
        if (!atEof) return null;
        throw new DatasetDecodeError('file ends inside the file meta');
      }
      headerLength = 12;
      length = head.readUInt32LE(pos + 8);
    } else {
      length = head.readUInt16LE(pos + 6);
    }
    if (length === 0xffffffff || length > MAX_META_BYTES) {
      throw new DatasetDecodeError(`file meta element (0002,${el.toString(16).padStart(4, '0')}) has length ${length}`);
    }
    const end = pos + headerLength + length;
    if (end > head.length) {
      if (!atEof) return null;
      throw new DatasetDecodeError('file ends inside the file meta');
    }
    found.set(el, head.subarray(pos + headerLength, end));
    pos = end;
  }
  const ts = found.get(0x0010);
  if (ts === undefined) throw new DatasetDecodeError('file meta has no TransferSyntaxUID (0002,0010)');
  const text = (el: number): string | undefined => {
    const v = found.get(el);
    return v === undefined ? undefined : uidText(v);
  };
  const meta: FileMeta = {
    transferSyntaxUid: uidText(ts),
    mediaStorageSopClassUid: text(0x0002) ?? '',
    mediaStorageSopInstanceUid: text(0x0003) ?? '',
    datasetOffset: pos,
  };
  const implementationClassUid = text(0x0012);
  const implementationVersionName = text(0x0013);
  const sourceApplicationEntityTitle = text(0x0016);
  if (implementationClassUid !== undefined) meta.implementationClassUid = implementationClassUid;
  if (implementationVersionName !== undefined) meta.implementationVersionName = implementationVersionName;
  if (sourceApplicationEntityTitle !== undefined) meta.sourceApplicationEntityTitle = sourceApplicationEntityTitle;
  return meta;
}
