/**
 * Splits the socket's byte stream into PDUs (PS3.8 §9.3.1) with bounded memory and
 * backpressure. Modelled on ws's lib/receiver.js: a `Writable` that keeps the chunks it is
 * given and consumes exactly n bytes at a time.
 *
 * It checks each PDU's type and declared length from its 6-byte header before buffering the
 * body, so a peer cannot make us hold more than one PDU of the size we announced.
 *
 * P-DATA-TF bodies are not buffered at all: their PDV items (PS3.8 §9.3.5.1) are read as the
 * bytes arrive, and each item's value is handed on as views of the socket's chunks. A PDV
 * value may so come in several parts, each a `Pdv` with the item's context and command bit;
 * only the part that ends the item carries its last-fragment bit. Assembling 256 KB PDUs
 * from 64 KB socket reads used to copy every dataset byte once and doubled the garbage.
 */
import { Writable } from 'node:stream';
import { PduDecodeError } from '../errors.js';
import { PDU_HEADER_LENGTH, PDV_HEADER_LENGTH, decodePdu, pduName, pdvHeaderFault } from './pdu.js';
import type { Pdu, PduName } from './pdu.js';
import type { Pdv } from './primitives.js';

const EMPTY = Buffer.alloc(0);

/** Where the reader is in a P-DATA-TF body. */
interface PDataProgress {
  /** Body bytes not yet read. */
  remaining: number;
  /** Value bytes of the current PDV item not yet read; -1 between items. */
  itemRemaining: number;
  pcId: number;
  control: number;
  items: number;
}

/** Default cap for A-ASSOCIATE-RQ/AC bodies: far above any real request, far below harm. */
export const DEFAULT_MAX_ASSOCIATE_LENGTH = 256 * 1024;

/** A-ABORT reason for a PDU of an unknown type (PS3.8 Table 9-26: unrecognized PDU). */
export const REASON_UNRECOGNIZED_PDU = 1;
/** A-ABORT reason for a bad length or field (PS3.8 Table 9-26: invalid PDU parameter value). */
export const REASON_INVALID_PARAMETER = 6;

/** Options of {@link PduReader}. */
export interface PduReaderOptions {
  /**
   * Largest P-DATA-TF variable field we accept: the maximum length we announced. The
   * maximum length counts the variable field only (PS3.8 Annex D.1), so it bounds the header's
   * PDU length directly.
   */
  maxPDataTfLength: number;
  /** Largest A-ASSOCIATE-RQ/AC body; default {@link DEFAULT_MAX_ASSOCIATE_LENGTH}. */
  maxAssociateLength?: number;
  /**
   * Receives each decoded PDU. While a returned promise is pending the reader holds its write
   * callback, so the socket piped into it pauses (backpressure). Must not reject; if it does,
   * the reader stops and reports the failure through `onError`.
   */
  onPdu(pdu: Pdu): Promise<void> | void;
  /**
   * Called once with the first framing or decoding fault and the A-ABORT reason to use (the
   * caller raises Evt19). The reader then discards all further input.
   */
  onError(error: PduDecodeError, abortReason: number): void;
}

/**
 * Stream of bytes in, PDUs out, one at a time. PS3.8 §9.3. Buffers handed out (including
 * P-DATA-TF PDV views) are never reused, so consumers may keep them. A P-DATA-TF handed out
 * holds the PDV parts read so far, possibly of several PDUs (see the module comment).
 */
export class PduReader extends Writable {
  readonly #options: PduReaderOptions;
  readonly #maxAssociateLength: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The PDU whose header has been read, awaiting its body. */
  #current: { name: PduName; length: number } | null = null;
  #stopped = false;
  /** The P-DATA-TF whose body is being read, and the PDV parts read but not yet handed on. */
  #pdata: PDataProgress | null = null;
  #parts: Pdv[] = [];
  #pendingCallback: ((error?: Error | null) => void) | null = null;

  constructor(options: PduReaderOptions) {
    super();
    if (!(options.maxPDataTfLength > 0)) throw new RangeError('maxPDataTfLength must be positive');
    this.#options = options;
    this.#maxAssociateLength = options.maxAssociateLength ?? DEFAULT_MAX_ASSOCIATE_LENGTH;
  }

  /** True once a fault was reported or {@link stop} was called: input is discarded. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Discards all further input (after the transport is being closed). */
  stop(): void {
    this.#stopped = true;
    this.#parts = [];
    this.#chunks = [];
    this.#buffered = 0;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#stopped) {
      callback();
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#pendingCallback = callback;
    this.#run();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stop();
    const pending = this.#pendingCallback;
    this.#pendingCallback = null;
    pending?.();
    callback(error);
  }

  /** Decodes as much as is buffered; pauses on a pending onPdu promise. */
  #run(): void {
    while (!this.#stopped) {
      const pdata = this.#pdata;
      if (pdata !== null) {
        const complete = this.#readPData(pdata);
        if (this.#stopped) break;
        if (!complete) {
          // Everything buffered is read: hand the parts on before waiting for more bytes.
          if (this.#parts.length > 0 && !this.#emitParts()) return;
          break;
        }
        this.#pdata = null;
        continue;
      }
      if (this.#current === null) {
        if (this.#buffered < PDU_HEADER_LENGTH) {
          if (this.#parts.length > 0 && !this.#emitParts()) return;
          break;
        }
        const header = this.#consume(PDU_HEADER_LENGTH);
        if (!this.#checkHeader(header)) break;
        continue;
      }
      // Parts of earlier P-DATA-TF PDUs go first: PDUs are handed on in arrival order.
      if (this.#parts.length > 0 && !this.#emitParts()) return;
      const { name, length } = this.#current;
      if (this.#buffered < length) break;
      const body = this.#consume(length);
      this.#current = null;
      let pdu: Pdu;
      try {
        pdu = decodePdu(name, body);
      } catch (err) {
        this.#fail(err instanceof PduDecodeError ? err : new PduDecodeError(`${name}: cannot decode`, { cause: err }),
          REASON_INVALID_PARAMETER);
        break;
      }
      if (!this.#emit(pdu)) return;
    }
    this.#release();
  }

  /** Hands the PDV parts read so far on as one P-DATA-TF; false while the consumer holds us. */
  #emitParts(): boolean {
    const pdvs = this.#parts;
    this.#parts = [];
    return this.#emit({ type: 'P-DATA-TF', pdvs });
  }

  /**
   * Hands a PDU to the consumer. Returns true to go on at once, false when the consumer's
   * promise holds the reader (it resumes when that settles) or the reader stopped.
   */
  #emit(pdu: Pdu): boolean {
    let result: Promise<void> | void;
    try {
      result = this.#options.onPdu(pdu);
    } catch (err) {
      this.#fail(new PduDecodeError(`${pdu.type}: PDU consumer failed`, { cause: err }), 0);
      return false;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(
        () => this.#run(),
        (err: unknown) => {
          this.#fail(new PduDecodeError(`${pdu.type}: PDU consumer failed`, { cause: err }), 0);
          this.#release();
        },
      );
      return false;
    }
    return !this.#stopped;
  }

  /**
   * Reads PDV items of the current P-DATA-TF body from what is buffered, checking each item
   * header against the body (PS3.8 §9.3.5.1, Annex E.2); values become parts without a copy.
   * Returns true once the body is read whole.
   */
  #readPData(p: PDataProgress): boolean {
    for (;;) {
      if (p.itemRemaining < 0) {
        if (p.remaining === 0) {
          if (p.items === 0) this.#fail(new PduDecodeError('P-DATA-TF: no PDV item'), REASON_INVALID_PARAMETER);
          return true;
        }
        const short = p.remaining < PDV_HEADER_LENGTH ? pdvHeaderFault(p.remaining, 0, 0) : null;
        if (short !== null) {
          this.#fail(new PduDecodeError(short), REASON_INVALID_PARAMETER);
          return true;
        }
        if (this.#buffered < PDV_HEADER_LENGTH) return false;
        const header = this.#consume(PDV_HEADER_LENGTH);
        const length = header.readUInt32BE(0);
        const pcId = header[4]!;
        const fault = pdvHeaderFault(p.remaining, length, pcId);
        if (fault !== null) {
          this.#fail(new PduDecodeError(fault), REASON_INVALID_PARAMETER);
          return true;
        }
        p.remaining -= PDV_HEADER_LENGTH;
        p.itemRemaining = length - 2;
        p.pcId = pcId;
        p.control = header[5]!;
        p.items += 1;
        if (p.itemRemaining === 0) this.#addPart(p, EMPTY);
        continue;
      }
      if (this.#buffered === 0) return false;
      const first = this.#chunks[0]!;
      const n = Math.min(p.itemRemaining, first.length);
      this.#buffered -= n;
      let data: Buffer;
      if (n === first.length) data = this.#chunks.shift()!;
      else {
        data = first.subarray(0, n);
        this.#chunks[0] = first.subarray(n);
      }
      p.itemRemaining -= n;
      p.remaining -= n;
      this.#addPart(p, data);
    }
  }

  /** One part of the current PDV's value; the part that ends the item carries its control bits. */
  #addPart(p: PDataProgress, data: Buffer): void {
    const ends = p.itemRemaining === 0;
    this.#parts.push({ pcId: p.pcId, isCommand: (p.control & 1) === 1, isLast: ends && (p.control & 2) === 2, data });
    if (ends) p.itemRemaining = -1;
  }

  /** Lets the writable side take the next chunk. */
  #release(): void {
    const callback = this.#pendingCallback;
    this.#pendingCallback = null;
    callback?.();
  }

  /** Checks type and declared length before any body byte is buffered. PS3.8 §9.3.1. */
  #checkHeader(header: Buffer): boolean {
    const type = header[0];
    const length = header.readUInt32BE(2);
    const name = pduName(type);
    if (name === undefined) {
      this.#fail(new PduDecodeError(`unrecognized PDU type 0x${type.toString(16).padStart(2, '0')}`), REASON_UNRECOGNIZED_PDU);
      return false;
    }
    let limit: number;
    let exact = false;
    switch (name) {
      case 'P-DATA-TF':
        limit = this.#options.maxPDataTfLength;
        break;
      case 'A-ASSOCIATE-RQ':
      case 'A-ASSOCIATE-AC':
        limit = this.#maxAssociateLength;
        break;
      default:
        limit = 4;
        exact = true;
    }
    if (exact ? length !== limit : length > limit) {
      this.#fail(new PduDecodeError(exact
        ? `${name}: PDU length ${length}, must be ${limit}`
        : `${name}: PDU length ${length} exceeds the limit of ${limit}`), REASON_INVALID_PARAMETER);
      return false;
    }
    if (name === 'P-DATA-TF') this.#pdata = { remaining: length, itemRemaining: -1, pcId: 0, control: 0, items: 0 };
    else this.#current = { name, length };
    return true;
  }

  #fail(error: PduDecodeError, reason: number): void {
    if (this.#stopped) return;
    this.stop();
    this.#options.onError(error, reason);
  }

  /**
   * Takes exactly n buffered bytes: the chunk itself or a view of it when one chunk holds
   * them (no copy), a fresh buffer only when they span chunks.
   */
  #consume(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first.length === n) return this.#chunks.shift() as Buffer;
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.#chunks[0];
      const take = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, take);
      offset += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    return out;
  }
}
