/**
 * Errors of the DICOM layers, with stable codes so callers branch on `code` or `instanceof`,
 * never on message text (the pattern of undici's lib/core/errors.js).
 */

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
    super('ERR_DICOM_PDU_DECODE', message, options);
    this.name = 'PduDecodeError';
  }
}

/** The peer rejected the association (PS3.8 §9.3.4, Table 9-21). */
export class AssociationRejectedError extends DicomError {
  readonly result: number;
  readonly source: number;
  readonly reason: number;
  constructor(result: number, source: number, reason: number, text: string) {
    super('ERR_DICOM_ASSOCIATION_REJECTED', text);
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
    super('ERR_DICOM_ASSOCIATION_ABORTED', text);
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
    super('ERR_DICOM_DIMSE_STATUS', text);
    this.name = 'DimseStatusError';
    this.status = status;
    this.errorComment = errorComment;
  }
}

/** A timer ran out: ARTIM, a DIMSE response or the connection (PS3.8 §9.1.5). */
export class DicomTimeoutError extends DicomError {
  readonly timer: string;
  constructor(timer: string, text: string) {
    super('ERR_DICOM_TIMEOUT', text);
    this.name = 'DicomTimeoutError';
    this.timer = timer;
  }
}

/** A dataset that cannot be read, or exceeds a safety bound (PS3.5 §7). */
export class DatasetDecodeError extends DicomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DICOM_DATASET_DECODE', message, options);
    this.name = 'DatasetDecodeError';
  }
}
