/**
 * Incremental scanner of the top-level elements of a dataset (PS3.5 §7: data elements, §7.5:
 * nesting of sequences and items, §A.4: encapsulated pixel data).
 *
 * This scanner is a state machine over chunk boundaries: any split of the input gives the same
 * result. It never copies large values: bytes that go through unchanged are emitted as views
 * of the input chunks, and values it does not keep are skipped by counting. It walks into
 * undefined-length sequences, items and encapsulated pixel data only to find where they end.
 */
import { DatasetDecodeError } from '../errors.js';
import { vrForTag } from './dictionary.js';
import { formatTag } from './tags.js';
import { hasLongLength } from './vr.js';

/** Value of a length field meaning "undefined length" (PS3.5 §7.1.1). */
export const UNDEFINED_LENGTH = 0xffffffff;

const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;

/** Byte order and VR explicitness of one nesting level (PS3.5 §7.1.2, §7.1.3, §7.3). */
export interface Encoding {
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
}

/** A decoded element header at the top level of the dataset (PS3.5 §7.1). */
export interface ElementHeader {
  readonly tag: number;
  /** VR from the bytes (explicit VR) or the dictionary (implicit VR, UN when unknown). */
  readonly vr: string;
  /** Value length; {@link UNDEFINED_LENGTH} for undefined length. */
  readonly length: number;
  /** 8, or 12 for the explicit-VR long form (PS3.5 Table 7.1-1). */
  readonly headerLength: number;
  /** Offset of the first header byte in the whole input. */
  readonly offset: number;
}

/**
 * What the scanner does with a top-level element's bytes: `pass` emits them unchanged;
 * `capture` emits them unchanged and also hands a copy of the value to the handler;
 * `replace` withholds header and value and emits whatever the handler returns instead.
 */
export type ElementAction = 'pass' | 'capture' | 'replace';

/** Callbacks of {@link DatasetScanner}. */
export interface ScanHandler {
  /** Decides the fate of a top-level element; may throw a DatasetDecodeError to stop. */
  element(header: ElementHeader): ElementAction;
  /**
   * The complete value of a `capture` or `replace` element (a copy the handler may keep);
   * `headerBytes` are the original header bytes. For `replace` returns the bytes to emit in
   * place of header and value; ignored for `capture`.
   */
  value(header: ElementHeader, headerBytes: Buffer, value: Buffer): readonly Buffer[] | undefined;
  /** Bytes to store, in order. Views of the input: the handler must not modify them. */
  output(bytes: Buffer): void;
}

/** Options of {@link DatasetScanner}. */
export interface ScannerOptions extends Encoding {
  /** Nesting limit of undefined-length sequences and items (default 64). */
  readonly maxSequenceDepth?: number;
}

const enum State {
  Header,
  Skip,
  Collect,
}

interface Level {
  /** `items`: inside an undefined-length sequence or pixel data; `dataset`: inside an item. */
  readonly kind: 'items' | 'dataset';
  readonly enc: Encoding;
}

/** VRs that may carry an undefined length in explicit VR (PS3.5 §7.1.2, §A.4, §6.2.2). */
const UNDEFINED_LENGTH_VRS: ReadonlySet<string> = new Set(['SQ', 'UN', 'OB', 'OW']);

/**
 * Incremental, byte-preserving scanner of a dataset's top-level elements (PS3.5 §7).
 * Feed chunks with {@link write}, then call {@link end}. Decode faults throw DatasetDecodeError.
 */
export class DatasetScanner {
  private readonly handler: ScanHandler;
  private readonly topEnc: Encoding;
  private readonly maxDepth: number;
  private readonly levels: Level[] = [];
  private depth = 0;

  private state: State = State.Header;
  private remaining = 0;

  /** Partial header spread over chunks (never more than 12 bytes). */
  private readonly hdr = Buffer.alloc(12);
  private hdrLen = 0;
  private hdrStartInChunk = 0;

  private collectBuf: Buffer = Buffer.alloc(0);
  private collectLen = 0;
  private collectAction: ElementAction = 'pass';
  private collectHeader: ElementHeader | undefined;
  private collectHeaderBytes: Buffer = Buffer.alloc(0);

  private passing = true;
  private passStart = 0;
  private consumed = 0;
  private ended = false;

  constructor(options: ScannerOptions, handler: ScanHandler) {
    this.handler = handler;
    this.topEnc = { explicitVr: options.explicitVr, littleEndian: options.littleEndian };
    this.maxDepth = options.maxSequenceDepth ?? 64;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.consumed;
  }

  /** Scans one chunk of dataset bytes; emits output through the handler. */
  write(chunk: Buffer): void {
    if (this.ended) throw new DatasetDecodeError('dataset scanner written after end');
    const n = chunk.length;
    let pos = 0;
    this.passStart = 0;
    this.hdrStartInChunk = 0;
    const hdrFromPrev = this.hdrLen;
    while (pos < n) {
      if (this.state === State.Skip) {
        const take = Math.min(this.remaining, n - pos);
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.Header;
      } else if (this.state === State.Collect) {
        const take = Math.min(this.collectBuf.length - this.collectLen, n - pos);
        chunk.copy(this.collectBuf, this.collectLen, pos, pos + take);
        this.collectLen += take;
        pos += take;
        if (this.collectLen === this.collectBuf.length) this.finishCollect(pos);
      } else if (this.hdrLen === 0 && n - pos >= 8 && n - pos >= this.headerNeed(chunk, pos)) {
        const need = this.headerNeed(chunk, pos);
        pos += need;
        this.onHeader(chunk, pos - need, chunk, pos, 0);
      } else {
        if (this.hdrLen === 0) this.hdrStartInChunk = pos;
        let need = this.hdrLen >= 8 ? this.headerNeed(this.hdr, 0) : 8;
        let take = Math.min(need - this.hdrLen, n - pos);
        chunk.copy(this.hdr, this.hdrLen, pos, pos + take);
        this.hdrLen += take;
        pos += take;
        if (this.hdrLen === 8) {
          need = this.headerNeed(this.hdr, 0);
          take = Math.min(need - this.hdrLen, n - pos);
          chunk.copy(this.hdr, this.hdrLen, pos, pos + take);
          this.hdrLen += take;
          pos += take;
        }
        if (this.hdrLen === need) {
          // A split header can only complete in the chunk after the one where it began.
          this.hdrLen = 0;
          this.onHeader(this.hdr, 0, chunk, pos, hdrFromPrev);
        }
      }
    }
    if (this.passing) {
      const withheld = this.levels.length === 0 && this.state === State.Header && this.hdrLen > 0;
      const end = withheld ? this.hdrStartInChunk : n;
      if (end > this.passStart) this.handler.output(chunk.subarray(this.passStart, end));
    }
    this.consumed += n;
  }

  /** Declares the input complete; throws when it ends inside an element, item or sequence. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.state !== State.Header || this.hdrLen !== 0 || this.levels.length !== 0) {
      throw new DatasetDecodeError(
        `dataset ends inside an element at byte ${this.consumed} (nesting depth ${this.depth})`,
      );
    }
  }

  private get enc(): Encoding {
    const top = this.levels[this.levels.length - 1];
    return top === undefined ? this.topEnc : top.enc;
  }

  /** Header size at `buf[off]` given its first 8 bytes (PS3.5 Table 7.1-1 to 7.1-3). */
  private headerNeed(buf: Buffer, off: number): number {
    const enc = this.enc;
    if (!enc.explicitVr) return 8;
    const group = enc.littleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    if (group === 0xfffe) return 8;
    const top = this.levels[this.levels.length - 1];
    if (top !== undefined && top.kind === 'items') return 8;
    return hasLongLength(buf.toString('latin1', off + 4, off + 6)) ? 12 : 8;
  }

  /**
   * Handles a complete header found in `buf` at `off`; `chunk`/`pos` locate the byte after it
   * in the current chunk; `fromPrev` counts header bytes that arrived in earlier chunks.
   */
  private onHeader(buf: Buffer, off: number, chunk: Buffer, pos: number, fromPrev: number): void {
    const enc = this.enc;
    const le = enc.littleEndian;
    const group = le ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    const element = le ? buf.readUInt16LE(off + 2) : buf.readUInt16BE(off + 2);
    const tag = ((group << 16) | element) >>> 0;
    const level = this.levels[this.levels.length - 1];

    if (level !== undefined && level.kind === 'items') {
      const offset = this.consumed + pos - 8;
      const length = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      if (tag === ITEM) {
        if (length === UNDEFINED_LENGTH) this.levels.push({ kind: 'dataset', enc });
        else this.skip(length);
      } else if (tag === SEQUENCE_DELIMITATION) {
        this.levels.pop();
        this.depth--;
      } else {
        throw new DatasetDecodeError(
          `${formatTag(tag)} found where an item or sequence delimiter was expected at byte ${offset}`,
        );
      }
      return;
    }

    let vr: string;
    let length: number;
    let headerLength = 8;
    if (group === 0xfffe) {
      vr = '';
      length = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
    } else if (enc.explicitVr) {
      vr = buf.toString('latin1', off + 4, off + 6);
      if (hasLongLength(vr)) {
        headerLength = 12;
        length = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      } else {
        length = le ? buf.readUInt16LE(off + 6) : buf.readUInt16BE(off + 6);
      }
    } else {
      vr = vrForTag(tag);
      length = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
    }

    const offset = this.consumed + pos - headerLength;
    if (level !== undefined) {
      // Inside an item of an undefined-length sequence: find the end only.
      if (tag === ITEM_DELIMITATION) {
        this.levels.pop();
        return;
      }
      if (group === 0xfffe) {
        throw new DatasetDecodeError(`unexpected ${formatTag(tag)} inside an item at byte ${offset}`);
      }
      if (length === UNDEFINED_LENGTH) this.enterSequence(tag, vr, offset);
      else this.skip(length);
      return;
    }

    if (group === 0xfffe) {
      throw new DatasetDecodeError(`item tag ${formatTag(tag)} at the top level at byte ${offset}`);
    }
    const header: ElementHeader = { tag, vr, length, headerLength, offset };
    let action = this.handler.element(header);
    if (length === UNDEFINED_LENGTH) action = 'pass';
    const headerStart = fromPrev > 0 ? 0 : pos - headerLength;

    if (action === 'replace') {
      if (headerStart > this.passStart) this.handler.output(chunk.subarray(this.passStart, headerStart));
      this.passing = false;
    } else if (fromPrev > 0) {
      this.handler.output(Buffer.from(this.hdr.subarray(0, fromPrev)));
    }

    if (length === UNDEFINED_LENGTH) {
      this.enterSequence(tag, vr, offset);
      return;
    }
    if (action === 'pass') {
      this.skip(length);
      return;
    }
    this.collectAction = action;
    this.collectHeader = header;
    this.collectHeaderBytes = Buffer.from(buf.subarray(off, off + headerLength));
    this.collectBuf = Buffer.allocUnsafe(length);
    this.collectLen = 0;
    if (length === 0) this.finishCollect(pos);
    else this.state = State.Collect;
  }

  private skip(length: number): void {
    if (length === 0) return;
    this.remaining = length;
    this.state = State.Skip;
  }

  /** Enters an undefined-length sequence, pixel data or UN element (PS3.5 §7.5.1, §A.4). */
  private enterSequence(tag: number, vr: string, offset: number): void {
    const enc = this.enc;
    if (enc.explicitVr && !UNDEFINED_LENGTH_VRS.has(vr)) {
      throw new DatasetDecodeError(
        `${formatTag(tag)} ${vr} has an undefined length, only allowed for SQ, UN, OB, OW (byte ${offset})`,
      );
    }
    if (this.depth >= this.maxDepth) {
      throw new DatasetDecodeError(
        `sequences nested deeper than ${this.maxDepth} levels at ${formatTag(tag)} (byte ${offset})`,
      );
    }
    this.depth++;
    // A UN element of undefined length holds an implicit VR little endian sequence (PS3.5 §6.2.2).
    const inner: Encoding = enc.explicitVr && vr === 'UN' ? { explicitVr: false, littleEndian: true } : enc;
    this.levels.push({ kind: 'items', enc: inner });
  }

  private finishCollect(pos: number): void {
    this.state = State.Header;
    const header = this.collectHeader as ElementHeader;
    const value = this.collectBuf;
    const headerBytes = this.collectHeaderBytes;
    this.collectBuf = Buffer.alloc(0);
    this.collectHeaderBytes = Buffer.alloc(0);
    this.collectHeader = undefined;
    const out = this.handler.value(header, headerBytes, value);
    if (this.collectAction === 'replace') {
      for (const b of out ?? [headerBytes, value]) this.handler.output(b);
      this.passing = true;
      this.passStart = pos;
    }
  }
}
