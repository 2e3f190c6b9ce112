/**
 * Splits the socket's byte stream into PDUs (PS3.8 §9.3.1) with bounded memory and
 * backpressure. Modelled on ws's lib/receiver.js: a `Writable` that keeps the chunks it is
 * given and consumes exactly n bytes at a time.
 *
 * It checks each PDU's type and declared length from its 6-byte header before buffering the
 * body, so a peer cannot make us hold more than one PDU of the size we announced.
 */
import { Writable } from 'node:stream';
import { PduDecodeError } from '../errors.js';
import { PDU_HEADER_LENGTH, decodePdu, pduName } from './pdu.js';
import type { Pdu, PduName } from './pdu.js';

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
 * P-DATA-TF PDV views) are never reused, so consumers may keep them.
 */
export class PduReader extends Writable {
  readonly #options: PduReaderOptions;
  readonly #maxAssociateLength: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The PDU whose header has been read, awaiting its body. */
  #current: { name: PduName; length: number } | null = null;
  #stopped = false;
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

  /** Decodes as many whole PDUs as are buffered; pauses on a pending onPdu promise. */
  #run(): void {
    while (!this.#stopped) {
      if (this.#current === null) {
        if (this.#buffered < PDU_HEADER_LENGTH) break;
        const header = this.#consume(PDU_HEADER_LENGTH);
        if (!this.#checkHeader(header)) break;
        continue;
      }
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
      let result: Promise<void> | void;
      try {
        result = this.#options.onPdu(pdu);
      } catch (err) {
        this.#fail(new PduDecodeError(`${name}: PDU consumer failed`, { cause: err }), 0);
        break;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(
          () => this.#run(),
          (err: unknown) => {
            this.#fail(new PduDecodeError(`${name}: PDU consumer failed`, { cause: err }), 0);
            this.#release();
          },
        );
        return;
      }
    }
    this.#release();
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
    this.#current = { name, length };
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
