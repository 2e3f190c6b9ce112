/**
 * Finds every element, at any nesting depth, whose text contains `CRID#` (any case), for
 * `dicombridge inspect` (SPEC §1 "Receiver IDs"): when the CRYPE IDs sit in
 * another element than the configured one, or inside a sequence where the bridge does not
 * look, the administrator sees where they are. Walks the dataset's full tree (PS3.5 §7.1
 * element encodings, §7.5 sequences and items of defined and undefined length, §A.4
 * encapsulated pixel data, §6.2.2 UN holding an implicit VR little endian sequence).
 *
 * Hand-written: the repo's byte-preserving scanner reports top-level elements only, by design,
 * and the npm DICOM parsers (dcmjs, dicom-parser) need the whole file in memory. This walker is
 * a state machine over chunk boundaries: any split of the input gives the same result. Binary
 * values are skipped by counting; text values are searched byte by byte while at most
 * `maxValueBytes` of each is kept, so memory stays bounded whatever the file size.
 */
import { DatasetDecodeError } from '../../dicom/errors.js';
import { vrForTag } from '../../dicom/part10/dictionary.js';
import { UNDEFINED_LENGTH, type Encoding } from '../../dicom/part10/scanner.js';
import { formatTag, TAGS } from '../../dicom/part10/tags.js';
import { hasLongLength, isTextVr } from '../../dicom/part10/vr.js';

/** One step of an element's path: the sequence it sits in and the item (1-based). */
export interface PathStep {
  /** Tag of the sequence (SQ, or UN holding a sequence). */
  readonly tag: number;
  /** Item number within the sequence, counted from 1. */
  readonly item: number;
}

/** An element whose text contains `CRID#`. */
export interface CridTextHit {
  /** Enclosing sequences, outermost first; empty for a top-level element. */
  readonly path: readonly PathStep[];
  readonly tag: number;
  readonly vr: string;
  /** Value length as encoded. */
  readonly length: number;
  /** The raw value, or its first `maxValueBytes` bytes when `truncated`. */
  readonly value: Buffer;
  readonly truncated: boolean;
}

/** Header of a top-level element, as noted for {@link CridTextFinderOptions.watchTag}. */
export interface WatchedElement {
  readonly vr: string;
  readonly length: number;
}

/** Options of {@link CridTextFinder}. */
export interface CridTextFinderOptions extends Encoding {
  /** Nesting limit of sequences (default 64). */
  readonly maxSequenceDepth?: number;
  /** Bytes kept of one text value (default 1 MiB); longer values are searched but cut. */
  readonly maxValueBytes?: number;
  /** Hits kept per dataset (default 100); more are counted in {@link CridTextFinder.hitsOmitted}. */
  readonly maxHits?: number;
  /** A top-level tag whose presence, VR and length to note in {@link CridTextFinder.watched}. */
  readonly watchTag?: number;
}

const ITEM = TAGS.Item;
const ITEM_DELIMITATION = TAGS.ItemDelimitationItem;
const SEQUENCE_DELIMITATION = TAGS.SequenceDelimitationItem;
const IMPLICIT_LE: Encoding = { explicitVr: false, littleEndian: true };
/** VRs that may carry an undefined length in explicit VR (PS3.5 §7.1.2, §A.4, §6.2.2). */
const UNDEFINED_LENGTH_VRS: ReadonlySet<string> = new Set(['SQ', 'UN', 'OB', 'OW']);
/** `CRID#` in upper case; the search folds a-z to upper case. */
const PATTERN = [0x43, 0x52, 0x49, 0x44, 0x23];

/**
 * Advances the `CRID#` matcher over `bytes[from, to)`; returns the new state, or
 * PATTERN.length once found. `CRID#` has no proper prefix that is also a suffix, so on a
 * mismatch the match restarts at the current byte, nothing more.
 */
function advanceMatch(state: number, bytes: Buffer, from: number, to: number): number {
  let m = state;
  for (let i = from; i < to && m < PATTERN.length; i++) {
    let b = bytes[i]!;
    if (b >= 0x61 && b <= 0x7a) b -= 0x20;
    if (b === PATTERN[m]) m++;
    else m = b === PATTERN[0] ? 1 : 0;
  }
  return m;
}

/** True when `value` contains `CRID#` in any case. */
export function containsCridText(value: Buffer): boolean {
  return advanceMatch(0, value, 0, value.length) === PATTERN.length;
}

interface DatasetLevel {
  readonly kind: 'dataset';
  readonly enc: Encoding;
  /** Absolute end offset for a defined-length item; undefined for the top level or a delimited item. */
  readonly end: number | undefined;
  readonly path: readonly PathStep[];
}

interface ItemsLevel {
  readonly kind: 'items';
  readonly enc: Encoding;
  readonly end: number | undefined;
  readonly tag: number;
  /** Encapsulated pixel data: items are fragments, not datasets (PS3.5 §A.4). */
  readonly fragments: boolean;
  readonly path: readonly PathStep[];
  count: number;
}

type Level = DatasetLevel | ItemsLevel;

interface OpenValue {
  readonly tag: number;
  readonly vr: string;
  readonly length: number;
  readonly path: readonly PathStep[];
  readonly kept: Buffer;
  keptLength: number;
  match: number;
}

const enum Mode {
  Header,
  Value,
  Skip,
}

/**
 * Streaming search for `CRID#` text in every element of a dataset (PS3.5 §7). Feed the
 * dataset bytes (no file meta, already inflated) with {@link write}, then call {@link end};
 * read {@link hits}. Malformed encodings throw DatasetDecodeError.
 */
export class CridTextFinder {
  /** Elements whose text contains `CRID#`, in dataset order (at most `maxHits`). */
  readonly hits: CridTextHit[] = [];
  /** Hits beyond `maxHits`, counted only. */
  hitsOmitted = 0;
  /** The top-level `watchTag` element, when present. */
  watched: WatchedElement | undefined;

  private readonly maxDepth: number;
  private readonly maxValue: number;
  private readonly maxHits: number;
  private readonly watchTag: number | undefined;
  private readonly levels: Level[];
  private depth: number;
  private pos = 0;
  private mode: Mode = Mode.Header;
  private remaining = 0;
  private readonly hdr = Buffer.alloc(12);
  private hdrLen = 0;
  private open: OpenValue | undefined;

  constructor(options: CridTextFinderOptions, start?: { items: { tag: number; path: readonly PathStep[] }; depth: number }) {
    this.maxDepth = options.maxSequenceDepth ?? 64;
    this.maxValue = options.maxValueBytes ?? 1024 * 1024;
    this.maxHits = options.maxHits ?? 100;
    this.watchTag = options.watchTag;
    const enc: Encoding = { explicitVr: options.explicitVr, littleEndian: options.littleEndian };
    // A nested finder (a UN value holding a sequence) starts inside the sequence's items.
    this.levels = start
      ? [{ kind: 'items', enc, end: undefined, tag: start.items.tag, fragments: false, path: start.items.path, count: 0 }]
      : [{ kind: 'dataset', enc, end: undefined, path: [] }];
    this.depth = start?.depth ?? 0;
  }

  /** Scans one chunk of dataset bytes. */
  write(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.mode === Mode.Skip) {
        const take = Math.min(this.remaining, n - i);
        i += take;
        this.pos += take;
        this.remaining -= take;
        if (this.remaining === 0) this.mode = Mode.Header;
      } else if (this.mode === Mode.Value) {
        const take = Math.min(this.remaining, n - i);
        this.feedValue(chunk, i, i + take);
        i += take;
        this.pos += take;
        this.remaining -= take;
        if (this.remaining === 0) this.finishValue();
      } else {
        if (this.hdrLen === 0) this.closeEndedLevels();
        const need = this.headerNeed();
        const take = Math.min(need - this.hdrLen, n - i);
        chunk.copy(this.hdr, this.hdrLen, i, i + take);
        this.hdrLen += take;
        i += take;
        this.pos += take;
        if (this.hdrLen === this.headerNeed()) {
          this.hdrLen = 0;
          this.onHeader();
        }
      }
    }
  }

  /** Declares the input complete; throws when it ends inside an element, item or sequence. */
  end(): void {
    if (this.mode === Mode.Header && this.hdrLen === 0) this.closeEndedLevels();
    if (this.mode !== Mode.Header || this.hdrLen !== 0 || this.levels.length !== 1) {
      throw new DatasetDecodeError(`dataset ends inside an element at byte ${this.pos}`);
    }
  }

  private get top(): Level {
    return this.levels[this.levels.length - 1]!;
  }

  /** Leaves the defined-length items and sequences that end where the next header starts. */
  private closeEndedLevels(): void {
    for (;;) {
      const level = this.top;
      if (this.levels.length === 1 || level.end === undefined || this.pos < level.end) return;
      if (this.pos > level.end) {
        throw new DatasetDecodeError(`an element overruns its ${level.kind === 'items' ? 'sequence' : 'item'} at byte ${this.pos}`);
      }
      this.pop();
    }
  }

  private pop(): void {
    const level = this.levels.pop();
    if (level?.kind === 'items') this.depth--;
  }

  /** Header size given the bytes seen so far (PS3.5 Table 7.1-1 to 7.1-3, §7.5). */
  private headerNeed(): number {
    if (this.hdrLen < 8) return 8;
    const level = this.top;
    if (level.kind === 'items' || !level.enc.explicitVr) return 8;
    const group = level.enc.littleEndian ? this.hdr.readUInt16LE(0) : this.hdr.readUInt16BE(0);
    if (group === 0xfffe) return 8;
    return hasLongLength(this.hdr.toString('latin1', 4, 6)) ? 12 : 8;
  }

  private onHeader(): void {
    const level = this.top;
    const le = level.enc.littleEndian;
    const h = this.hdr;
    const group = le ? h.readUInt16LE(0) : h.readUInt16BE(0);
    const element = le ? h.readUInt16LE(2) : h.readUInt16BE(2);
    const tag = ((group << 16) | element) >>> 0;

    if (level.kind === 'items') {
      const length = le ? h.readUInt32LE(4) : h.readUInt32BE(4);
      if (tag === ITEM) {
        if (level.fragments) {
          if (length === UNDEFINED_LENGTH) throw new DatasetDecodeError(`pixel data fragment of undefined length at byte ${this.pos - 8}`);
          this.skip(length);
        } else {
          level.count++;
          this.levels.push({
            kind: 'dataset',
            enc: level.enc,
            end: length === UNDEFINED_LENGTH ? undefined : this.pos + length,
            path: [...level.path, { tag: level.tag, item: level.count }],
          });
        }
      } else if (tag === SEQUENCE_DELIMITATION && this.levels.length > 1) {
        this.pop();
      } else {
        throw new DatasetDecodeError(`${formatTag(tag)} where an item was expected at byte ${this.pos - 8}`);
      }
      return;
    }

    if (group === 0xfffe) {
      if (tag === ITEM_DELIMITATION && this.levels.length > 1 && level.end === undefined) {
        this.levels.pop();
        return;
      }
      throw new DatasetDecodeError(`unexpected ${formatTag(tag)} at byte ${this.pos - 8}`);
    }

    const explicit = level.enc.explicitVr;
    let vr: string;
    let length: number;
    let headerLength = 8;
    if (explicit) {
      vr = h.toString('latin1', 4, 6);
      if (hasLongLength(vr)) {
        headerLength = 12;
        length = le ? h.readUInt32LE(8) : h.readUInt32BE(8);
      } else {
        length = le ? h.readUInt16LE(6) : h.readUInt16BE(6);
      }
    } else {
      vr = vrForTag(tag);
      length = le ? h.readUInt32LE(4) : h.readUInt32BE(4);
    }
    const offset = this.pos - headerLength;
    if (this.levels.length === 1 && tag === this.watchTag) this.watched = { vr, length };

    if (length === UNDEFINED_LENGTH) {
      if (explicit && !UNDEFINED_LENGTH_VRS.has(vr)) {
        throw new DatasetDecodeError(`${formatTag(tag)} ${vr} has an undefined length (byte ${offset})`);
      }
      const fragments = tag === TAGS.PixelData || (explicit && (vr === 'OB' || vr === 'OW'));
      this.enterSequence(tag, fragments, explicit && vr === 'UN' ? IMPLICIT_LE : level.enc, undefined, level.path);
      return;
    }
    if (vr === 'SQ') {
      this.enterSequence(tag, false, level.enc, this.pos + length, level.path);
      return;
    }
    if (vr !== 'UN' && !isTextVr(vr)) {
      this.skip(length);
      return;
    }
    this.open = { tag, vr, length, path: level.path, kept: Buffer.allocUnsafe(Math.min(length, this.maxValue)), keptLength: 0, match: 0 };
    if (length === 0) this.finishValue();
    else {
      this.remaining = length;
      this.mode = Mode.Value;
    }
  }

  private enterSequence(tag: number, fragments: boolean, enc: Encoding, end: number | undefined, path: readonly PathStep[]): void {
    if (this.depth >= this.maxDepth) {
      throw new DatasetDecodeError(`sequences nested deeper than ${this.maxDepth} levels at ${formatTag(tag)}`);
    }
    this.depth++;
    this.levels.push({ kind: 'items', enc, end, tag, fragments, path, count: 0 });
  }

  private skip(length: number): void {
    if (length === 0) return;
    this.remaining = length;
    this.mode = Mode.Skip;
  }

  private feedValue(chunk: Buffer, from: number, to: number): void {
    const v = this.open!;
    if (v.keptLength < v.kept.length) {
      const copied = chunk.copy(v.kept, v.keptLength, from, Math.min(to, from + v.kept.length - v.keptLength));
      v.keptLength += copied;
    }
    if (v.match < PATTERN.length) v.match = advanceMatch(v.match, chunk, from, to);
  }

  private finishValue(): void {
    this.mode = Mode.Header;
    const v = this.open!;
    this.open = undefined;
    // A UN value that starts with an item tag holds a sequence in implicit VR little endian
    // (PS3.5 §6.2.2); implicit VR files also show unknown sequences as UN.
    if (v.vr === 'UN' && v.length === v.kept.length && v.length >= 8 && v.kept.readUInt16LE(0) === 0xfffe && v.kept.readUInt16LE(2) === 0xe000) {
      if (this.searchNested(v)) return;
    }
    if (v.match === PATTERN.length) {
      this.addHit({ path: v.path, tag: v.tag, vr: v.vr, length: v.length, value: v.kept, truncated: v.kept.length < v.length });
    }
  }

  /** Walks a UN value as a sequence; false when it does not parse as one. */
  private searchNested(v: OpenValue): boolean {
    const child = new CridTextFinder(
      { ...IMPLICIT_LE, maxSequenceDepth: this.maxDepth, maxValueBytes: this.maxValue, maxHits: this.maxHits },
      { items: { tag: v.tag, path: v.path }, depth: this.depth + 1 },
    );
    try {
      child.write(v.kept);
      child.end();
    } catch (err) {
      if (err instanceof DatasetDecodeError) return false;
      throw err;
    }
    for (const hit of child.hits) this.addHit(hit);
    this.hitsOmitted += child.hitsOmitted;
    return true;
  }

  private addHit(hit: CridTextHit): void {
    if (this.hits.length < this.maxHits) this.hits.push(hit);
    else this.hitsOmitted++;
  }
}
