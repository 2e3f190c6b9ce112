/**
 * The contract between the upper layer (PS3.8) and the DIMSE layer (PS3.7): what a service
 * user sees of an established association. Kept apart from the association's implementation so
 * DIMSE code and its tests depend on this small surface only.
 */

/**
 * One presentation data value: a fragment of a command or a dataset for one presentation
 * context. PS3.8 §9.3.5.1 (Table 9-22) and Annex E.2 (message control header).
 */
export interface Pdv {
  /** Presentation context ID (odd, 1–255). */
  pcId: number;
  /** Bit 0 of the message control header: 1 = command, 0 = data. */
  isCommand: boolean;
  /** Bit 1 of the message control header: 1 = last fragment of this command or dataset. */
  isLast: boolean;
  /** The fragment's bytes (may be a view into a larger buffer: copy if kept). */
  data: Buffer;
}

/** A presentation context accepted on this association (PS3.8 §9.3.3.2). */
export interface AcceptedContext {
  pcId: number;
  abstractSyntax: string;
  transferSyntax: string;
}

/** What the DIMSE layer uses of an established association, on either side. */
export interface PDataChannel {
  /** Short id for log lines, e.g. "A17". */
  readonly id: string;
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  /** "address:port" of the peer. */
  readonly peer: string;
  /** Accepted presentation contexts by ID. */
  readonly contexts: ReadonlyMap<number, AcceptedContext>;
  /** Largest P-DATA-TF PDU the peer accepts, from its Maximum Length sub-item; 0 = no limit. */
  readonly peerMaxPduLength: number;
  /**
   * Sends the PDVs in one P-DATA-TF PDU (P-DATA request, Evt9). Resolves when the socket has
   * accepted the bytes, waiting for 'drain' when its buffer is full (backpressure).
   * Rejects if the association is no longer established.
   */
  sendPData(pdvs: Pdv[]): Promise<void>;
  /** A-ABORT request (Evt15): aborts the association at once. */
  abort(): void;
  /**
   * True once abort() was called. PDV parts of one socket read come in one indication, so a
   * handler that aborts midway checks this before acting on the rest (PS3.8 Table 9-10: P-DATA
   * after an A-ABORT request is ignored, AA-6).
   */
  readonly aborted: boolean;
}

/** Why an association ended, as told to the service user. */
export type CloseReason = 'released' | 'aborted' | 'closed';

/**
 * The service user's side of an association: it receives P-DATA indications. While the
 * promise returned by onPData is pending, the upper layer reads no further PDU from the socket,
 * so a slow disk pauses the peer instead of filling memory.
 */
export interface PDataHandler {
  onPData(pdvs: Pdv[]): Promise<void> | void;
  /** Called once when the association ends, however it ends. */
  onClose(reason: CloseReason): void;
}
