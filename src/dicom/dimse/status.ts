/**
 * DIMSE status codes and their classification (PS3.7 Annex C).
 *
 * Hand-written: a status is a 16-bit number whose meaning depends on ranges defined by the
 * standard; a table of a dozen constants and a range classifier needs no library.
 */

/** Success (PS3.7 §C.1.1). */
export const STATUS_SUCCESS = 0x0000;

/** Warning: coercion of data elements (PS3.4 Table B.2-1). */
export const STATUS_WARNING_COERCION = 0xb000;
/** Warning: elements discarded (PS3.4 Table B.2-1). */
export const STATUS_WARNING_ELEMENTS_DISCARDED = 0xb006;
/** Warning: data set does not match SOP class (PS3.4 Table B.2-1). */
export const STATUS_WARNING_DATASET_MISMATCH = 0xb007;

/** Refused: out of resources; the A7xx range (PS3.4 Table B.2-1). */
export const STATUS_OUT_OF_RESOURCES = 0xa700;
/** Error: data set does not match SOP class; the A9xx range (PS3.4 Table B.2-1). */
export const STATUS_DATASET_MISMATCH = 0xa900;
/** Error: cannot understand; the Cxxx range (PS3.4 Table B.2-1). */
export const STATUS_CANNOT_UNDERSTAND = 0xc000;
/** Refused: SOP class not supported (PS3.7 §C.5.20). */
export const STATUS_SOP_CLASS_NOT_SUPPORTED = 0x0122;
/** Processing failure (PS3.7 §C.5.13). */
export const STATUS_PROCESSING_FAILURE = 0x0110;
/** Unrecognized operation (PS3.7 §C.5.26). */
export const STATUS_UNRECOGNIZED_OPERATION = 0x0211;
/** Refused: not authorized (PS3.7 §C.5.24). */
export const STATUS_NOT_AUTHORIZED = 0x0124;
/** Cancel (PS3.7 §C.3). */
export const STATUS_CANCEL = 0xfe00;
/** Pending (PS3.7 §C.4). */
export const STATUS_PENDING = 0xff00;
/** Pending with warnings: optional keys not supported (PS3.4 Table C.4-1). */
export const STATUS_PENDING_WARNING = 0xff01;

/** The five status classes of PS3.7 Annex C. */
export type StatusCategory = 'success' | 'warning' | 'failure' | 'cancel' | 'pending';

/**
 * Classifies a status code. Codes outside every range the standard names count as failures,
 * so an unexpected answer is never taken for success. PS3.7 Annex C (Table C-1 ranges).
 */
export function statusCategory(code: number): StatusCategory {
  if (code === STATUS_SUCCESS) return 'success';
  if (code === STATUS_CANCEL) return 'cancel';
  if (code === STATUS_PENDING || code === STATUS_PENDING_WARNING) return 'pending';
  // 0001, 0107 (attribute list error), 0116 (attribute value out of range) and Bxxx are warnings.
  if (code === 0x0001 || code === 0x0107 || code === 0x0116) return 'warning';
  if (code >= 0xb000 && code <= 0xbfff) return 'warning';
  return 'failure';
}

const KNOWN: ReadonlyMap<number, string> = new Map([
  [STATUS_SUCCESS, 'Success'],
  [0x0001, 'Warning: requested optional attributes are not supported'],
  [0x0107, 'Warning: attribute list error'],
  [0x0116, 'Warning: attribute value out of range'],
  [STATUS_WARNING_COERCION, 'Warning: coercion of data elements'],
  [STATUS_WARNING_ELEMENTS_DISCARDED, 'Warning: elements discarded'],
  [STATUS_WARNING_DATASET_MISMATCH, 'Warning: data set does not match SOP class'],
  [STATUS_PROCESSING_FAILURE, 'Failure: processing failure'],
  [0x0117, 'Failure: invalid object instance'],
  [0x0118, 'Failure: no such SOP class'],
  [0x0119, 'Failure: class-instance conflict'],
  [0x0120, 'Failure: missing attribute'],
  [0x0121, 'Failure: missing attribute value'],
  [STATUS_SOP_CLASS_NOT_SUPPORTED, 'Refused: SOP class not supported'],
  [STATUS_NOT_AUTHORIZED, 'Refused: not authorized'],
  [0x0210, 'Failure: duplicate invocation'],
  [STATUS_UNRECOGNIZED_OPERATION, 'Failure: unrecognized operation'],
  [0x0212, 'Failure: mistyped argument'],
  [0x0213, 'Failure: resource limitation'],
  [STATUS_CANCEL, 'Cancel: operation terminated'],
  [STATUS_PENDING, 'Pending'],
  [STATUS_PENDING_WARNING, 'Pending: optional keys not supported'],
]);

/** Formats a code as the standard writes it, e.g. `0xA700`. */
export function formatStatus(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Readable text for a status, e.g. `0xA701 Refused: out of resources`, for logs and the log
 * book. Range codes (A7xx, A9xx, Cxxx) are named by their range. PS3.7 Annex C, PS3.4 Table B.2-1.
 */
export function describeStatus(code: number): string {
  const known = KNOWN.get(code);
  let text: string;
  if (known !== undefined) text = known;
  else if ((code & 0xff00) === 0xa700) text = 'Refused: out of resources';
  else if ((code & 0xff00) === 0xa900) text = 'Error: data set does not match SOP class';
  else if ((code & 0xf000) === 0xc000) text = 'Error: cannot understand';
  else if ((code & 0xf000) === 0xb000) text = 'Warning';
  else if ((code & 0xf000) === 0xa000) text = 'Failure';
  else text = statusCategory(code) === 'failure' ? 'Failure (unknown status)' : 'Warning';
  return `${formatStatus(code)} ${text}`;
}
