/**
 * CRYPE ID ("CRID") extraction from the configured element's raw value (SPEC §1). Hand-written
 * because it is a product rule, not a library concern: the IDs are found in the raw bytes so that
 * the bytes kept are exactly the bytes received (no charset decode and re-encode), and the
 * dataset rewrite can splice the shorter value into the file without touching anything else.
 *
 * Rules, in the order they are applied:
 * - Trailing padding (spaces, NULs) is ignored.
 * - The value may END with 1 to 5 IDs, each the upper-case ASCII `CRID#` followed by exactly
 *   16 ASCII digits, concatenated with nothing between them.
 * - Any other `CRID#` in the value, compared case-insensitively (`crid#`, `Crid#` look like an
 *   ID typed by hand, so they are treated as malformed rather than as ordinary text) — an ID
 *   with the wrong digit count, an ID followed by text, a 6th ID — makes the value malformed:
 *   nothing is removed and the caller logs `malformed` as a warning.
 * The search works on bytes: every character set a PACS uses for text VRs keeps ASCII
 * `CRID#` and digits as single bytes outside multi-byte sequences (ISO 2022 switches back to
 * ASCII before them; UTF-8, GB18030 and Latin code pages never reuse those bytes as trail bytes
 * of `#`), so a byte match is a character match.
 */

/** At most five receivers per value (SPEC §1). */
export const MAX_CRIDS = 5;
/** Digits in one CRYPE ID. */
export const CRID_DIGITS = 16;
/** The ID prefix, upper-case ASCII. */
export const CRID_PREFIX = 'CRID#';

const PREFIX_BYTES = [0x43, 0x52, 0x49, 0x44, 0x23]; // C R I D #
const UNIT_BYTES = PREFIX_BYTES.length + CRID_DIGITS;
const HASH = 0x23;

/** Result of extractCrids. */
export interface CridExtraction {
  /**
   * The bytes before the first ID, unchanged and not trimmed (the caller pads to even length).
   * A view of the input buffer, not a copy. The whole input when no ID was taken.
   */
  kept: Buffer;
  /** The IDs (16 digits each, without the `CRID#` prefix), duplicates removed, in value order. */
  ids: string[];
  /** One line for the log when the value holds `CRID#` text that is not a valid trailing run. */
  malformed: string | null;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function upper(b: number): number {
  return b >= 0x61 && b <= 0x7a ? b - 0x20 : b;
}

function prefixAt(v: Buffer, at: number, ignoreCase: boolean): boolean {
  if (at < 0 || at + PREFIX_BYTES.length > v.length) return false;
  for (let i = 0; i < PREFIX_BYTES.length; i++) {
    const b = ignoreCase ? upper(v[at + i]) : v[at + i];
    if (b !== PREFIX_BYTES[i]) return false;
  }
  return true;
}

function unitAt(v: Buffer, at: number): boolean {
  if (!prefixAt(v, at, false)) return false;
  for (let i = at + PREFIX_BYTES.length; i < at + UNIT_BYTES; i++) if (!isDigit(v[i])) return false;
  return true;
}

function digitRun(v: Buffer, from: number, end: number): number {
  let n = 0;
  while (from + n < end && isDigit(v[from + n])) n++;
  return n;
}

function describeStray(v: Buffer, at: number, end: number): string {
  if (!prefixAt(v, at, false)) {
    return `"${v.toString('latin1', at, at + PREFIX_BYTES.length)}" at byte ${at} is not the upper-case prefix "CRID#"; no ID taken`;
  }
  const digits = digitRun(v, at + PREFIX_BYTES.length, end);
  if (digits !== CRID_DIGITS) {
    return `"CRID#" at byte ${at} is followed by ${digits} digits instead of ${CRID_DIGITS}; no ID taken`;
  }
  return `the ID at byte ${at} is not at the end of the value (text or padding follows it); no ID taken`;
}

/**
 * Splits the raw value of the CRYPE ID element into the text kept and the trailing IDs
 * (SPEC §1 "Receiver IDs"). Never throws; a malformed value is returned whole with a reason.
 */
export function extractCrids(value: Buffer): CridExtraction {
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0x20 || value[end - 1] === 0x00)) end--;

  let start = end;
  let count = 0;
  while (start - UNIT_BYTES >= 0 && unitAt(value, start - UNIT_BYTES)) {
    start -= UNIT_BYTES;
    count++;
  }

  let misplaced = -1;
  // A `CRID#` (any case) before the trailing run is a malformed ID. Its '#' lies before `start`:
  // an occurrence overlapping the run's first prefix is impossible, as "CRID#" has no border.
  for (let hash = value.indexOf(HASH, PREFIX_BYTES.length - 1); hash !== -1 && hash < start; hash = value.indexOf(HASH, hash + 1)) {
    const at = hash - (PREFIX_BYTES.length - 1);
    if (!prefixAt(value, at, true)) continue;
    // Report a broken ID in preference to a well-formed one that is merely followed by text.
    if (!unitAt(value, at)) return { kept: value, ids: [], malformed: describeStray(value, at, end) };
    if (misplaced === -1) misplaced = at;
  }
  if (misplaced !== -1) return { kept: value, ids: [], malformed: describeStray(value, misplaced, end) };

  if (count > MAX_CRIDS) {
    return { kept: value, ids: [], malformed: `${count} IDs at the end of the value, at most ${MAX_CRIDS} allowed; no ID taken` };
  }
  if (count === 0) return { kept: value, ids: [], malformed: null };

  const ids: string[] = [];
  for (let at = start; at < end; at += UNIT_BYTES) {
    const id = value.toString('latin1', at + PREFIX_BYTES.length, at + UNIT_BYTES);
    if (!ids.includes(id)) ids.push(id);
  }
  return { kept: value.subarray(0, start), ids, malformed: null };
}

/**
 * Adds to `into` the IDs of `more` it does not hold yet, keeping the order of first appearance
 * (a study's IDs are the union over its instances, SPEC §1). Returns `into`.
 */
export function mergeCrids(into: string[], more: readonly string[]): string[] {
  for (const id of more) if (!into.includes(id)) into.push(id);
  return into;
}

/** True for one ID as extractCrids returns it: exactly 16 ASCII digits. */
export function isCrid(id: string): boolean {
  return /^[0-9]{16}$/.test(id);
}

/** The IDs as they appear in a value and in the ZIP name: `CRID#<16 digits>` concatenated. */
export function formatCrids(ids: readonly string[]): string {
  return ids.map((id) => CRID_PREFIX + id).join('');
}
