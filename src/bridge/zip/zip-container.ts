/**
 * The records of a ZIP file (PKWARE APPNOTE 6.3.10 §4.3), written front to back for entries
 * whose data was deflated elsewhere. Written by hand because the study zipper deflates several
 * entries at once under a fixed memory budget and no npm writer does that: yazl and
 * zip-stream (archiver) take one entry at a time and deflate it themselves; fflate has no
 * ZIP64 yet; @zip.js/zip.js compresses concurrent entries with ZIP64 but holds every entry
 * behind the first whole in memory (its `bufferedWrite`), a 300 MB instance included, and
 * would be a new dependency on web streams.
 *
 * The layout is yazl's (what the bridge wrote before, read by yauzl, Info-ZIP and Windows
 * Explorer): UTF-8 names (bit 11), a data descriptor after each entry's data (bit 3), DOS
 * timestamps only, ZIP64 extra fields in the central directory and a ZIP64 data descriptor
 * when a size or offset reaches 0xFFFFFFFF, ZIP64 end records when the count, size or offset
 * of the central directory needs them.
 */
import {
  CENTRAL_DIRECTORY_HEADER,
  DATA_DESCRIPTOR,
  END_OF_CENTRAL_DIRECTORY,
  LOCAL_FILE_HEADER,
  ZIP64_END_OF_CENTRAL_DIRECTORY,
  ZIP64_END_OF_CENTRAL_DIRECTORY_LOCATOR,
} from '../zip-signatures.js';
import type { FileSink } from './file-sink.js';


const VERSION_NEEDED_UTF8 = 20;
const VERSION_NEEDED_ZIP64 = 45;
/** Unix (3), APPNOTE 6.3: as yazl, so extractors read the mode from the external attributes. */
const VERSION_MADE_BY = (3 << 8) | 63;
const FLAG_UTF8_NAME = 1 << 11;
const FLAG_DATA_DESCRIPTOR = 1 << 3;
/** A regular file, rw-rw-r-- (yazl's default). */
const EXTERNAL_ATTRIBUTES = (0o100664 << 16) >>> 0;
const ZIP64_LIMIT = 0xfffffffe;

/** Compression method: 0 stored, 8 deflated (APPNOTE §4.4.5). */
export type ZipMethod = 0 | 8;

/** What the central directory needs to know of a written entry. */
export interface ZipEntryRecord {
  /** Kept as text: a small Buffer per entry would pin a pooled 8 KiB slab each. */
  name: string;
  method: ZipMethod;
  offset: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** Options of {@link ZipContainer}. */
export interface ZipContainerOptions {
  /** Modification time of every entry (yazl's forceDosTimestamp: no extended timestamp field). */
  mtime: Date;
  /** Use the ZIP64 records whatever the sizes (tests of the ZIP64 layout). */
  forceZip64?: boolean;
}

/** MS-DOS date and time (APPNOTE §4.4.6), local time, two-second resolution, clamped. */
export function dosDateTime(date: Date): { date: number; time: number } {
  const min = new Date(1980, 0, 1);
  const max = new Date(2107, 11, 31, 23, 59, 58);
  const d = date < min ? min : date > max ? max : date;
  return {
    date: (d.getDate() & 0x1f) | (((d.getMonth() + 1) & 0xf) << 5) | (((d.getFullYear() - 1980) & 0x7f) << 9),
    time: Math.floor(d.getSeconds() / 2) | ((d.getMinutes() & 0x3f) << 5) | ((d.getHours() & 0x1f) << 11),
  };
}

function writeUInt64LE(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32LE(value % 0x100000000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x100000000), offset + 4);
}

/**
 * Writes a ZIP through `sink`: for each entry {@link beginEntry}, its (deflated) data through
 * the sink, {@link endEntry}; then {@link finish}. Calls must not overlap.
 */
export class ZipContainer {
  private readonly entries: ZipEntryRecord[] = [];
  private readonly dos: { date: number; time: number };

  constructor(private readonly sink: FileSink, private readonly options: ZipContainerOptions) {
    this.dos = dosDateTime(options.mtime);
  }

  /** Writes the local file header (APPNOTE §4.3.7); sizes and CRC follow in the data descriptor. */
  async beginEntry(name: string, method: ZipMethod): Promise<ZipEntryRecord> {
    const nameBytes = Buffer.from(name, 'utf8');
    const entry: ZipEntryRecord = { name, method, offset: this.sink.offset, crc32: 0, compressedSize: 0, uncompressedSize: 0 };
    const header = Buffer.alloc(30 + nameBytes.length);
    header.writeUInt32LE(LOCAL_FILE_HEADER, 0);
    header.writeUInt16LE(VERSION_NEEDED_UTF8, 4);
    header.writeUInt16LE(FLAG_UTF8_NAME | FLAG_DATA_DESCRIPTOR, 6);
    header.writeUInt16LE(method, 8);
    header.writeUInt16LE(this.dos.time, 10);
    header.writeUInt16LE(this.dos.date, 12);
    // CRC-32 and sizes (14..25) stay zero: bit 3 says they follow the data.
    header.writeUInt16LE(nameBytes.length, 26);
    nameBytes.copy(header, 30);
    await this.sink.write(header);
    return entry;
  }

  /** Writes the data descriptor (APPNOTE §4.3.9) once the entry's data is through the sink. */
  async endEntry(entry: ZipEntryRecord, sums: { crc32: number; compressedSize: number; uncompressedSize: number }): Promise<void> {
    Object.assign(entry, sums);
    this.entries.push(entry);
    const zip64 = this.entryNeedsZip64(entry);
    const descriptor = Buffer.alloc(zip64 ? 24 : 16);
    descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(entry.crc32, 4);
    if (zip64) {
      writeUInt64LE(descriptor, entry.compressedSize, 8);
      writeUInt64LE(descriptor, entry.uncompressedSize, 16);
    } else {
      descriptor.writeUInt32LE(entry.compressedSize, 8);
      descriptor.writeUInt32LE(entry.uncompressedSize, 12);
    }
    await this.sink.write(descriptor);
  }

  /** Writes the central directory and the end records (APPNOTE §4.3.12–16), then flushes. */
  async finish(): Promise<void> {
    const start = this.sink.offset;
    for (const entry of this.entries) await this.sink.write(this.centralHeader(entry));
    const size = this.sink.offset - start;
    const count = this.entries.length;
    const force = this.options.forceZip64 === true;
    const zip64 = force || count >= 0xffff || size >= 0xffffffff || start >= 0xffffffff;
    if (zip64) {
      const record = Buffer.alloc(56);
      record.writeUInt32LE(ZIP64_END_OF_CENTRAL_DIRECTORY, 0);
      writeUInt64LE(record, 56 - 12, 4);
      record.writeUInt16LE(VERSION_MADE_BY, 12);
      record.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
      writeUInt64LE(record, count, 24);
      writeUInt64LE(record, count, 32);
      writeUInt64LE(record, size, 40);
      writeUInt64LE(record, start, 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(ZIP64_END_OF_CENTRAL_DIRECTORY_LOCATOR, 0);
      writeUInt64LE(locator, this.sink.offset, 8);
      locator.writeUInt32LE(1, 16);
      await this.sink.write(record);
      await this.sink.write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
    end.writeUInt16LE(force || count >= 0xffff ? 0xffff : count, 8);
    end.writeUInt16LE(force || count >= 0xffff ? 0xffff : count, 10);
    end.writeUInt32LE(force || size >= 0xffffffff ? 0xffffffff : size, 12);
    end.writeUInt32LE(force || start >= 0xffffffff ? 0xffffffff : start, 16);
    await this.sink.write(end);
    await this.sink.flush();
  }

  private entryNeedsZip64(entry: ZipEntryRecord): boolean {
    return this.options.forceZip64 === true || entry.uncompressedSize > ZIP64_LIMIT || entry.compressedSize > ZIP64_LIMIT || entry.offset > ZIP64_LIMIT;
  }

  /** Central directory file header (APPNOTE §4.3.12), with the ZIP64 extra field (§4.5.3) when needed. */
  private centralHeader(entry: ZipEntryRecord): Buffer {
    const zip64 = this.entryNeedsZip64(entry);
    const extraLength = zip64 ? 28 : 0;
    const nameLength = Buffer.byteLength(entry.name, 'utf8');
    const header = Buffer.alloc(46 + nameLength + extraLength);
    header.writeUInt32LE(CENTRAL_DIRECTORY_HEADER, 0);
    header.writeUInt16LE(VERSION_MADE_BY, 4);
    header.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED_UTF8, 6);
    header.writeUInt16LE(FLAG_UTF8_NAME | FLAG_DATA_DESCRIPTOR, 8);
    header.writeUInt16LE(entry.method, 10);
    header.writeUInt16LE(this.dos.time, 12);
    header.writeUInt16LE(this.dos.date, 14);
    header.writeUInt32LE(entry.crc32, 16);
    header.writeUInt32LE(zip64 ? 0xffffffff : entry.compressedSize, 20);
    header.writeUInt32LE(zip64 ? 0xffffffff : entry.uncompressedSize, 24);
    header.writeUInt16LE(nameLength, 28);
    header.writeUInt16LE(extraLength, 30);
    // File comment length, disk number start, internal attributes (32..37) stay zero.
    header.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
    header.writeUInt32LE(zip64 ? 0xffffffff : entry.offset, 42);
    header.write(entry.name, 46, 'utf8');
    if (zip64) {
      const at = 46 + nameLength;
      header.writeUInt16LE(0x0001, at);
      header.writeUInt16LE(24, at + 2);
      writeUInt64LE(header, entry.uncompressedSize, at + 4);
      writeUInt64LE(header, entry.compressedSize, at + 12);
      writeUInt64LE(header, entry.offset, at + 20);
    }
    return header;
  }
}
