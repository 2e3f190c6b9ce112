/**
 * Errors of the DICOM layers (ul/, dimse/, part10/), with stable codes so callers branch on
 * `code` or `instanceof`, never on message text (the pattern of undici's lib/core/errors.js).
 * Every `ERR_DICOM_*` code is defined here and nowhere else.
 */

/** A PDU or PDU item could not be decoded ({@link PduDecodeError}). */
export const ERR_PDU_DECODE = 'ERR_DICOM_PDU_DECODE';
/** The peer rejected the association ({@link AssociationRejectedError}). */
export const ERR_ASSOCIATION_REJECTED = 'ERR_DICOM_ASSOCIATION_REJECTED';
/** The association was aborted ({@link AssociationAbortedError}). */
export const ERR_ASSOCIATION_ABORTED = 'ERR_DICOM_ASSOCIATION_ABORTED';
/** A DIMSE response carried a failure status ({@link DimseStatusError}). */
export const ERR_DIMSE_STATUS = 'ERR_DICOM_DIMSE_STATUS';
/** A DIMSE message broke PS3.7 ({@link DimseProtocolError}). */
export const ERR_DIMSE_PROTOCOL = 'ERR_DICOM_DIMSE_PROTOCOL';
/** A timer ran out ({@link DicomTimeoutError}). */
export const ERR_TIMEOUT = 'ERR_DICOM_TIMEOUT';
/** A dataset could not be read ({@link DatasetDecodeError}). */
export const ERR_DATASET_DECODE = 'ERR_DICOM_DATASET_DECODE';
/** sendPData/release on an association that is not (or no longer) established. */
export const ERR_NOT_ESTABLISHED = 'ERR_DICOM_NOT_ESTABLISHED';
/** The TCP connection could not be opened (the socket error is the cause). */
export const ERR_CONNECT = 'ERR_DICOM_CONNECT';
/** The TLS handshake failed or a TLS alert ended the connection ({@link DicomTlsError}). */
export const ERR_TLS = 'ERR_DICOM_TLS';
/** The transport closed before a PDU could be handed to it. */
export const ERR_CONNECTION_CLOSED = 'ERR_DICOM_CONNECTION_CLOSED';
/** The association ended while a DIMSE exchange (a response, a data set) was still open. */
export const ERR_ASSOCIATION_CLOSED = 'ERR_DICOM_ASSOCIATION_CLOSED';
/** A wait for a DIMSE response was given up by its caller. */
export const ERR_DIMSE_CANCELLED = 'ERR_DICOM_DIMSE_CANCELLED';
/** An event dispatched where PS3.8 Table 9-10 has no entry (our bug). */
export const ERR_FSM_INVALID_EVENT = 'ERR_DICOM_FSM_INVALID_EVENT';
/** A re-entrant dispatch loop outgrew the event queue (our bug). */
export const ERR_FSM_QUEUE_OVERFLOW = 'ERR_DICOM_FSM_QUEUE_OVERFLOW';

/** Base class of every DICOM-layer error. */
export class DicomError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'DicomError';
  }
}

/** A PDU or PDU item that cannot be decoded (PS3.8 §9.3); raised as Evt19 by the state machine. */
export class PduDecodeError extends DicomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERR_PDU_DECODE, message, options);
    this.name = 'PduDecodeError';
  }
}

/** The peer rejected the association (PS3.8 §9.3.4, Table 9-21). */
export class AssociationRejectedError extends DicomError {
  readonly result: number;
  readonly source: number;
  readonly reason: number;
  constructor(result: number, source: number, reason: number, text: string) {
    super(ERR_ASSOCIATION_REJECTED, text);
    this.name = 'AssociationRejectedError';
    this.result = result;
    this.source = source;
    this.reason = reason;
  }
}

/** The association was aborted by either side or by the provider (PS3.8 §9.3.8). */
export class AssociationAbortedError extends DicomError {
  readonly source: number;
  readonly reason: number;
  constructor(source: number, reason: number, text: string) {
    super(ERR_ASSOCIATION_ABORTED, text);
    this.name = 'AssociationAbortedError';
    this.source = source;
    this.reason = reason;
  }
}

/** A DIMSE response carried a failure status (PS3.7 Annex C). */
export class DimseStatusError extends DicomError {
  readonly status: number;
  readonly errorComment: string | undefined;
  constructor(status: number, text: string, errorComment?: string) {
    super(ERR_DIMSE_STATUS, text);
    this.name = 'DimseStatusError';
    this.status = status;
    this.errorComment = errorComment;
  }
}

/**
 * A DIMSE message that breaks the rules of PS3.7: a malformed or oversized command set, or
 * fragments in an order PS3.7 §9.3.1 / PS3.8 Annex E forbids. The service aborts the
 * association on it (only that association dies).
 */
export class DimseProtocolError extends DicomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERR_DIMSE_PROTOCOL, message, options);
    this.name = 'DimseProtocolError';
  }
}

/** A timer ran out: ARTIM, a DIMSE response or the connection (PS3.8 §9.1.5). */
export class DicomTimeoutError extends DicomError {
  readonly timer: string;
  constructor(timer: string, text: string) {
    super(ERR_TIMEOUT, text);
    this.name = 'DicomTimeoutError';
    this.timer = timer;
  }
}

/** A dataset that cannot be read, or exceeds a safety bound (PS3.5 §7). */
export class DatasetDecodeError extends DicomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERR_DATASET_DECODE, message, options);
    this.name = 'DatasetDecodeError';
  }
}

/**
 * The secure transport failed (PS3.15 Annex B.1, TLS): the peer's certificate was not trusted,
 * had expired or named another host, the peer refused our certificate, no TLS version or
 * cipher suite was shared, or the peer did not answer in TLS at all. `tlsCode` is Node's or
 * OpenSSL's error code (e.g. 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED',
 * 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), or
 * 'ECONNRESET' when the connection closed during the handshake.
 */
export class DicomTlsError extends DicomError {
  readonly tlsCode: string;
  constructor(tlsCode: string, message: string, options?: { cause?: unknown }) {
    super(ERR_TLS, message, options);
    this.name = 'DicomTlsError';
    this.tlsCode = tlsCode;
  }
}
