/**
 * The reason texts of PS3.8, defined once: A-ASSOCIATE-RJ result, source and reason/diag
 * (§9.3.4, Table 9-21) and A-ABORT source and reason/diag (§9.3.8, Table 9-26). Log lines,
 * errors and monitoring keys all read them from here.
 */

/** One reject source/reason of PS3.8 Table 9-21: its words and its short stable key. */
interface RejectReason {
  text: string;
  key: string;
}

/** Reject source (PS3.8 Table 9-21), as words. */
const REJECT_SOURCE_TEXT: Readonly<Record<number, string>> = {
  1: 'service user',
  2: 'service provider (ACSE)',
  3: 'service provider (presentation)',
};

/** Reject reason/diag by source (PS3.8 Table 9-21). */
const REJECT_REASONS: Readonly<Record<number, Readonly<Record<number, RejectReason>>>> = {
  1: {
    1: { text: 'no reason given', key: 'no-reason-given' },
    2: { text: 'application context name not supported', key: 'application-context-not-supported' },
    3: { text: 'calling AE title not recognised', key: 'calling-ae-title-not-recognised' },
    7: { text: 'called AE title not recognised', key: 'called-ae-title-not-recognised' },
  },
  2: {
    1: { text: 'no reason given', key: 'provider-no-reason-given' },
    2: { text: 'protocol version not supported', key: 'protocol-version-not-supported' },
  },
  3: {
    1: { text: 'temporary congestion', key: 'temporary-congestion' },
    2: { text: 'local limit exceeded', key: 'local-limit-exceeded' },
  },
};

/** Provider reason/diag of an A-ABORT (PS3.8 Table 9-26), as words. */
const ABORT_REASON_TEXT: Readonly<Record<number, string>> = {
  0: 'reason not specified',
  1: 'unrecognised PDU',
  2: 'unexpected PDU',
  4: 'unrecognised PDU parameter',
  5: 'unexpected PDU parameter',
  6: 'invalid PDU parameter value',
};

/**
 * The words of a reject reason, e.g. "called AE title not recognised" for source 1 reason 7,
 * or undefined for a pair PS3.8 Table 9-21 does not define.
 */
export function rejectReasonText(source: number, reason: number): string | undefined {
  return REJECT_REASONS[source]?.[reason]?.text;
}

/**
 * Human text for an A-ASSOCIATE-RJ, e.g. "association rejected (permanent) by the service
 * user: called AE title not recognised". PS3.8 §9.3.4, Table 9-21.
 */
export function rejectText(result: number, source: number, reason: number): string {
  const kind = result === 1 ? 'permanent' : result === 2 ? 'transient' : `result ${result}`;
  const by = REJECT_SOURCE_TEXT[source] ?? `source ${source}`;
  const why = rejectReasonText(source, reason) ?? `reason ${reason}`;
  return `association rejected (${kind}) by the ${by}: ${why}`;
}

/**
 * A short stable key for a reject (monitoring labels), e.g. `local-limit-exceeded`, or
 * `result-R-source-S-reason-N` for a pair PS3.8 Table 9-21 does not define.
 */
export function rejectKey(result: number, source: number, reason: number): string {
  return REJECT_REASONS[source]?.[reason]?.key ?? `result-${result}-source-${source}-reason-${reason}`;
}

/** The words of an A-ABORT provider reason, e.g. "unexpected PDU". PS3.8 Table 9-26. */
export function abortReasonText(reason: number): string {
  return ABORT_REASON_TEXT[reason] ?? `reason ${reason}`;
}

/**
 * Human text for an A-ABORT, e.g. "association aborted by the service provider: unexpected
 * PDU". The reason is significant only for the provider source. PS3.8 §9.3.8, Table 9-26.
 */
export function abortText(source: number, reason: number): string {
  if (source === 0) return 'association aborted by the service user';
  if (source === 2) return `association aborted by the service provider: ${abortReasonText(reason)}`;
  return `association aborted (source ${source}, reason ${reason})`;
}
