/**
 * A Transform that passes a received dataset through unchanged except, optionally, for one
 * top-level element whose value it edits, and that keeps copies of a few top-level values
 * (PS3.5 §7 element encoding, §7.2 group length, §A.5 deflate).
 *
 * Untouched bytes
 * leave as views of the input chunks; only the edited element and, when present, its group
 * length element are new bytes.
 *
 * Deflated Explicit VR Little Endian (PS3.5 §A.5): the input is inflated and scanned as
 * explicit VR little endian. Without a `rewrite`, the output is the original compressed bytes,
 * unchanged. With a `rewrite`, the output is the rewritten inflated dataset deflated anew (so
 * the compressed bytes differ from the input even where the dataset did not change): callers
 * that must keep such bytes check first with a `dryRun` rewrite, which validates the edit
 * exactly as a real one would but passes every input byte through.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { DatasetDecodeError } from '../errors.js';
import { DatasetScanner, UNDEFINED_LENGTH, type ElementAction, type ElementHeader } from './scanner.js';
import { formatTag } from './tags.js';
import { transferSyntaxInfo } from './transfer-syntax.js';
import { hasLongLength, paddingByte, saneMaxValueBytes } from './vr.js';

/** Limits that bound the memory an untrusted peer can make the rewriter use. */
export interface DatasetRewriterLimits {
  /** Nesting limit of undefined-length sequences and items (default 64). */
  maxSequenceDepth?: number;
  /** Largest value kept for a captured tag (default 64 KiB); longer → DatasetDecodeError. */
  maxCapturedValueBytes?: number;
  /** Output held back while a group length waits for correction (default 1 MiB). */
  maxHeldBytes?: number;
  /** Largest value buffered for the edit (default 64 KiB); longer values are kept as they are. */
  maxRewriteValueBytes?: number;
}

/** Options of {@link DatasetRewriter}. */
export interface DatasetRewriterOptions {
  /** Transfer syntax of the dataset bytes (PS3.5 §10). */
  transferSyntaxUid: string;
  /** Top-level tags whose raw values to keep in {@link DatasetRewriter.captured}. */
  capture: readonly number[];
  /** The optional edit of one top-level element. */
  rewrite?: DatasetRewriteSpec;
  /**
   * Only the checks and the captures are wanted (the caller keeps the input bytes itself):
   * nothing is pushed, so no output is made only to be dropped. The stream still ends.
   */
  checkOnly?: boolean;
  limits?: DatasetRewriterLimits;
}

/**
 * Edit of one top-level element: `edit` receives the raw value (with its padding) and the VR,
 * and returns the new raw value, or undefined to keep the element as it is.
 */
export interface DatasetRewriteSpec {
  tag: number;
  edit(value: Buffer, vr: string): Buffer | undefined;
  /**
   * Check only: every check of a real rewrite runs (and throws the same errors), and
   * {@link DatasetRewriter.rewritten} tells whether the edit would change the element, but the
   * output is the input unchanged (a deflated dataset is never deflated anew).
   */
  dryRun?: boolean;
}

/** A captured top-level element: its VR and raw value bytes as received. */
export interface CapturedElement {
  vr: string;
  value: Buffer;
}

const DEFAULT_MAX_CAPTURED = 64 * 1024;
const DEFAULT_MAX_HELD = 1024 * 1024;
const DEFAULT_MAX_REWRITE = 64 * 1024;

/**
 * Streams dataset bytes (no file meta) from input to output, byte for byte, except for the
 * optional rewrite; captures top-level values on the way (PS3.5 §7). Decode faults and broken
 * limits are emitted as a DatasetDecodeError on the stream.
 */
export class DatasetRewriter extends Transform {
  /** Raw values of the requested top-level tags; complete after 'finish'. For the rewritten
   * tag this is the value as received, before the edit. */
  readonly captured = new Map<number, CapturedElement>();
  private changed = false;

  private readonly scanner: DatasetScanner;
  private readonly captureSet: ReadonlySet<number>;
  private readonly rewriteSpec: DatasetRewriterOptions['rewrite'];
  private readonly groupLengthTag: number | undefined;
  private readonly littleEndian: boolean;
  private readonly explicitVr: boolean;
  private readonly maxCaptured: number;
  private readonly maxHeld: number;
  private readonly maxRewrite: number;
  private readonly checkOnly: boolean;

  private rewriteSeen = false;
  private holding = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private groupLengthBuf: Buffer | undefined;
  private groupLengthValueOffset = 0;

  private readonly inflater: InflateRaw | undefined;
  private readonly deflater: DeflateRaw | undefined;
  private inflateEnded = false;
  private onInflateEnd: (() => void) | undefined;

  constructor(options: DatasetRewriterOptions) {
    super();
    const ts = transferSyntaxInfo(options.transferSyntaxUid);
    if (ts === undefined) {
      throw new DatasetDecodeError(`cannot read transfer syntax ${options.transferSyntaxUid}`);
    }
    const limits = options.limits ?? {};
    this.maxCaptured = limits.maxCapturedValueBytes ?? DEFAULT_MAX_CAPTURED;
    this.maxHeld = limits.maxHeldBytes ?? DEFAULT_MAX_HELD;
    this.maxRewrite = limits.maxRewriteValueBytes ?? DEFAULT_MAX_REWRITE;
    this.checkOnly = options.checkOnly === true;
    this.captureSet = new Set(options.capture);
    this.rewriteSpec = options.rewrite;
    const rewriteTag = options.rewrite?.tag;
    this.groupLengthTag =
      rewriteTag !== undefined && (rewriteTag & 0xffff) !== 0 ? (rewriteTag & 0xffff0000) >>> 0 : undefined;
    this.explicitVr = ts.explicitVr;
    this.littleEndian = ts.littleEndian;

    if (ts.deflated) {
      this.inflater = createInflateRaw();
      this.inflater.on('data', (data: Buffer) => this.scan(data));
      this.inflater.on('end', () => {
        this.inflateEnded = true;
        this.onInflateEnd?.();
      });
      this.inflater.on('error', (err) =>
        this.destroy(new DatasetDecodeError(`deflated dataset cannot be inflated: ${err.message}`, { cause: err })),
      );
      if (options.rewrite !== undefined && options.rewrite.dryRun !== true && !this.checkOnly) {
        this.deflater = createDeflateRaw();
        this.deflater.on('data', (data: Buffer) => this.push(data));
        this.deflater.on('error', (err) => this.destroy(err));
      }
    }

    this.scanner = new DatasetScanner(
      { explicitVr: ts.explicitVr, littleEndian: ts.littleEndian, maxSequenceDepth: limits.maxSequenceDepth },
      {
        element: (h) => this.onElement(h),
        value: (h, headerBytes, value) => this.onValue(h, headerBytes, value),
        output: (bytes) => this.onOutput(bytes),
      },
    );
  }

  /** True when the edit changed the element (with `dryRun`: would have changed it). */
  get rewritten(): boolean {
    return this.changed;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inflater === undefined) {
      try {
        this.scanner.write(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback();
      return;
    }
    if (this.deflater === undefined && !this.checkOnly) this.push(chunk);
    this.inflater.write(chunk, () => callback());
  }

  override _flush(callback: TransformCallback): void {
    const inflater = this.inflater;
    if (inflater === undefined) {
      try {
        this.finishScan();
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback();
      return;
    }
    const finish = (): void => {
      if (this.destroyed) return;
      try {
        this.finishScan();
      } catch (err) {
        callback(err as Error);
        return;
      }
      const deflater = this.deflater;
      if (deflater === undefined) {
        callback();
        return;
      }
      deflater.once('end', () => callback());
      deflater.end();
    };
    // The deflate stream may already have ended (its last block came with the last chunk).
    if (this.inflateEnded) finish();
    else {
      this.onInflateEnd = finish;
      inflater.end();
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inflater?.destroy();
    this.deflater?.destroy();
    callback(err);
  }

  private scan(data: Buffer): void {
    if (this.destroyed) return;
    try {
      this.scanner.write(data);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    // A small deflated input can inflate to a lot: stop inflating while the re-deflater is
    // full, so the write callback (and the upstream) waits instead of memory growing.
    const inflater = this.inflater;
    const deflater = this.deflater;
    if (inflater !== undefined && deflater !== undefined && deflater.writableNeedDrain && !inflater.isPaused()) {
      inflater.pause();
      deflater.once('drain', () => inflater.resume());
    }
  }

  private finishScan(): void {
    this.scanner.end();
    this.release();
  }

  private onOutput(bytes: Buffer): void {
    if (this.holding) {
      this.heldBytes += bytes.length;
      if (this.heldBytes > this.maxHeld) {
        throw new DatasetDecodeError(
          `more than ${this.maxHeld} bytes between a group length and the element to rewrite`,
        );
      }
      this.held.push(bytes);
      return;
    }
    this.emit_(bytes);
  }

  private emit_(bytes: Buffer): void {
    if (this.checkOnly) return;
    if (this.inflater === undefined) this.push(bytes);
    else if (this.deflater !== undefined) this.deflater.write(bytes);
  }

  /** Sends the held output on, unchanged or with its group length already corrected. */
  private release(): void {
    if (!this.holding) return;
    this.holding = false;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.groupLengthBuf = undefined;
    for (const b of held) this.emit_(b);
  }

  private onElement(h: ElementHeader): ElementAction {
    const spec = this.rewriteSpec;
    if (spec !== undefined && !this.rewriteSeen && h.tag > spec.tag) {
      this.rewriteSeen = true;
      this.release();
    }
    const captured = this.captureSet.has(h.tag) && h.length !== UNDEFINED_LENGTH;
    if (captured && h.length > this.maxCaptured) {
      throw new DatasetDecodeError(
        `${formatTag(h.tag)} declares ${h.length} bytes, above the ${this.maxCaptured}-byte capture limit`,
      );
    }
    if (spec !== undefined && !this.rewriteSeen && h.tag === spec.tag) {
      this.rewriteSeen = true;
      if (h.length !== UNDEFINED_LENGTH && h.length <= this.maxRewrite) return 'replace';
      const sane = saneMaxValueBytes(h.vr);
      if (h.length !== UNDEFINED_LENGTH && sane !== undefined && h.length > sane) {
        throw new DatasetDecodeError(`${formatTag(h.tag)} ${h.vr} declares an absurd length of ${h.length} bytes`);
      }
      this.release();
      return captured ? 'capture' : 'pass';
    }
    if (h.tag === this.groupLengthTag && !this.rewriteSeen && h.length === 4 && !this.holding) {
      return 'replace';
    }
    return captured ? 'capture' : 'pass';
  }

  private onValue(h: ElementHeader, headerBytes: Buffer, value: Buffer): readonly Buffer[] | undefined {
    if (this.captureSet.has(h.tag)) this.captured.set(h.tag, { vr: h.vr, value });
    const spec = this.rewriteSpec;
    if (spec === undefined) return undefined;
    if (h.tag === this.groupLengthTag && h.tag !== spec.tag) {
      const copy = Buffer.allocUnsafe(headerBytes.length + value.length);
      headerBytes.copy(copy, 0);
      value.copy(copy, headerBytes.length);
      this.groupLengthBuf = copy;
      this.groupLengthValueOffset = headerBytes.length;
      this.holding = true;
      return [copy];
    }
    if (h.tag !== spec.tag) return undefined;

    const edited = spec.edit(value, h.vr);
    if (edited === undefined) {
      this.release();
      return undefined;
    }
    const padded = padToEven(edited, paddingByte(h.vr));
    if (padded.equals(value)) {
      this.release();
      return undefined;
    }
    const newHeader = this.encodeHeader(h, padded.length);
    const delta = newHeader.length + padded.length - (headerBytes.length + value.length);
    const gl = this.groupLengthBuf;
    if (gl !== undefined) {
      const at = this.groupLengthValueOffset;
      const old = this.littleEndian ? gl.readUInt32LE(at) : gl.readUInt32BE(at);
      const next = old + delta;
      if (next < 0 || next > 0xffffffff) {
        throw new DatasetDecodeError(`group length of ${formatTag(h.tag)} cannot be corrected (${old} + ${delta})`);
      }
      if (spec.dryRun !== true) {
        if (this.littleEndian) gl.writeUInt32LE(next, at);
        else gl.writeUInt32BE(next, at);
      }
    }
    this.release();
    this.changed = true;
    return spec.dryRun === true ? undefined : [newHeader, padded];
  }

  /** Encodes an element header with a new length (PS3.5 §7.1.2 Table 7.1-1/7.1-2, §7.1.3). */
  private encodeHeader(h: ElementHeader, length: number): Buffer {
    const le = this.littleEndian;
    const long = !this.explicitVr || hasLongLength(h.vr);
    if (!long && length > 0xffff) {
      throw new DatasetDecodeError(`edited ${formatTag(h.tag)} ${h.vr} is ${length} bytes, over the 16-bit length field`);
    }
    const out = Buffer.alloc(this.explicitVr && long ? 12 : 8);
    const group = h.tag >>> 16;
    const element = h.tag & 0xffff;
    if (le) {
      out.writeUInt16LE(group, 0);
      out.writeUInt16LE(element, 2);
    } else {
      out.writeUInt16BE(group, 0);
      out.writeUInt16BE(element, 2);
    }
    if (!this.explicitVr) {
      if (le) out.writeUInt32LE(length, 4);
      else out.writeUInt32BE(length, 4);
      return out;
    }
    out.write(h.vr, 4, 2, 'latin1');
    if (long) {
      if (le) out.writeUInt32LE(length, 8);
      else out.writeUInt32BE(length, 8);
    } else if (le) {
      out.writeUInt16LE(length, 6);
    } else {
      out.writeUInt16BE(length, 6);
    }
    return out;
  }
}

/** Pads a value to even length with the VR's padding byte (PS3.5 §7.1.1). */
function padToEven(value: Buffer, pad: number): Buffer {
  if (value.length % 2 === 0) return value;
  const out = Buffer.allocUnsafe(value.length + 1);
  value.copy(out, 0);
  out[value.length] = pad;
  return out;
}
