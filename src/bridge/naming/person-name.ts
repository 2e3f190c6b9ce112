/**
 * Person names for file names and the log book (SPEC §1 "ZIP file name"). Hand-written: it is a
 * product rule (`FAMILY, Given Middle`), a few lines over the PS3.5 §6.2 PN component model;
 * character set decoding stays with the caller (dicom-character-set).
 */

/** The five components of one PN component group (PS3.5 §6.2, Table 6.2-1), already decoded. */
export interface PersonNameComponents {
  family?: string;
  given?: string;
  middle?: string;
  prefix?: string;
  suffix?: string;
}

const PADDING = /^[\s\0]+|[\s\0]+$/g;

function clean(s: string | undefined): string {
  return (s ?? '').replace(PADDING, '');
}

/**
 * Splits the decoded alphabetic group of a PN value (`Family^Given^Middle^Prefix^Suffix`;
 * anything after the first `=` belongs to the ideographic/phonetic groups and is dropped).
 * PS3.5 §6.2 PN.
 */
export function splitPersonName(value: string): PersonNameComponents {
  const alphabetic = value.split('=', 1)[0];
  const [family, given, middle, prefix, suffix] = alphabetic.split('^');
  return { family, given, middle, prefix, suffix };
}

/**
 * `FAMILY, Given Middle`: components trimmed of spaces and NULs, empty ones left out, no
 * dangling comma (`Smith` → `Smith`, `^John` → `John`). Prefix and suffix (Dr., Jr.) are left
 * out to keep file names short; the family name keeps the case it was sent in. PS3.5 §6.2 PN.
 */
export function formatPersonName(components: PersonNameComponents): string {
  const family = clean(components.family);
  const rest = [clean(components.given), clean(components.middle)].filter((s) => s !== '').join(' ');
  if (family === '') return rest;
  if (rest === '') return family;
  return `${family}, ${rest}`;
}
