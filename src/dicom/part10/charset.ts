/**
 * Decoding of text values per Specific Character Set (0008,0005) (PS3.5 §6.1, PS3.3
 * §C.12.1.1.2), and splitting of Person Name values (PS3.5 §6.2, Table 6.2-1 "PN").
 *
 * The character repertoires and ISO 2022 escape handling come from the `dicom-character-set`
 * package (no need to hand-roll them); this module adds the DICOM defaults around it: padding
 * removal, the default repertoire when (0008,0005) is absent, and the PN structure.
 */
import { createRequire } from 'node:module';

interface CharsetLib {
  convertBytes(specificCharacterSet: string | undefined, bytes: Uint8Array, options?: { vr?: string }): string;
}

// The package ships no type declarations; load its CommonJS build through createRequire and
// give it the one signature we use.
const lib = createRequire(import.meta.url)('dicom-character-set') as CharsetLib;

/** The components of one PN component group (PS3.5 §6.2, Table 6.2-1). */
export interface PersonNameComponents {
  family: string;
  given: string;
  middle: string;
  prefix: string;
  suffix: string;
}

/** A Person Name split into its three component groups (PS3.5 §6.2.1). */
export interface PersonName {
  alphabetic: PersonNameComponents;
  ideographic: PersonNameComponents;
  phonetic: PersonNameComponents;
}

/** Removes trailing space and NUL padding bytes (PS3.5 §6.2). */
function trimPadding(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x00)) end--;
  return bytes.subarray(0, end);
}

/** Normalises (0008,0005) given as raw bytes or a string; '' when absent or empty. */
function normaliseCharset(scs: string | Uint8Array | undefined): string {
  if (scs === undefined) return '';
  const text = typeof scs === 'string' ? scs : Buffer.from(scs.buffer, scs.byteOffset, scs.length).toString('latin1');
  return text.replace(/[\0 ]+$/, '');
}

/** True when every value of (0008,0005) names the default repertoire (PS3.3 §C.12.1.1.2). */
function isDefaultRepertoire(scs: string): boolean {
  return scs.split('\\').every((term) => {
    const t = term.trim().toUpperCase();
    return t === '' || t === 'ISO_IR 6' || t === 'ISO 2022 IR 6';
  });
}

/** The single-byte repertoires without code extensions (PS3.3 Table C.12-2), all ISO 8859 or TIS 620. */
const SINGLE_BYTE_SETS = new Set([
  'ISO_IR 100', 'ISO_IR 101', 'ISO_IR 109', 'ISO_IR 110', 'ISO_IR 144', 'ISO_IR 127', 'ISO_IR 126', 'ISO_IR 138',
  'ISO_IR 148', 'ISO_IR 166',
]);

/** True for the C1 control range, 0x80–0x9F, of an ISO 8859 single-byte set. */
const isC1 = (byte: number): boolean => byte >= 0x80 && byte <= 0x9f;

/**
 * Decodes a value in one single-byte set. WHATWG's TextDecoder (Node 22+, and the labels
 * `dicom-character-set` uses) reads ISO 8859-1, -9 and TIS 620 as windows-1252, -1254 and -874,
 * which put printable characters at 0x80–0x9F; ISO 8859 has the C1 controls there. The sets
 * are stateless, so the C1 bytes are mapped to U+0080–U+009F and the runs between are decoded
 * by the library.
 */
function decodeSingleByte(value: Uint8Array, scs: string, vr: string): string {
  let text = '';
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && !isC1(value[i])) continue;
    if (i > start) text += lib.convertBytes(scs, value.subarray(start, i), { vr });
    if (i < value.length) text += String.fromCharCode(value[i]);
    start = i + 1;
  }
  return text;
}

/**
 * Decodes a text value with the Specific Character Set (0008,0005) of its dataset (PS3.5
 * §6.1.2, §6.1.2.5 code extensions). `scs` is the raw (0008,0005) value, multiple values
 * separated by backslash. Trailing spaces and NULs are removed. With no (0008,0005), or only
 * the default repertoire, bytes ≥ 0x80 are read as Latin-1 rather than failing. Unknown
 * defined terms or broken escape sequences fall back to Latin-1 too, so a bad value never
 * stops a transfer.
 */
export function decodeText(bytes: Uint8Array, specificCharacterSet: string | Uint8Array | undefined, vr: string): string {
  const value = trimPadding(bytes);
  const scs = normaliseCharset(specificCharacterSet);
  const latin1 = (): string => Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1');
  if (isDefaultRepertoire(scs)) return latin1();
  try {
    if (SINGLE_BYTE_SETS.has(scs.trim().toUpperCase())) return decodeSingleByte(value, scs, vr);
    return lib.convertBytes(scs, value, { vr });
  } catch {
    return latin1();
  }
}

function splitComponents(group: string): PersonNameComponents {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^');
  return { family, given, middle, prefix, suffix };
}

/**
 * Decodes a Person Name and splits it into alphabetic, ideographic and phonetic groups ('=')
 * and their five components ('^') (PS3.5 §6.2, Table 6.2-1). The decoder returns to the
 * initial character set at each '=' and '^' delimiter, as PS3.5 §6.1.2.5.3 requires, so each
 * group is decoded with its own escape state. The delimiters are split after decoding: in
 * every repertoire DICOM allows, '=' and '^' only decode from the single-byte ASCII codes.
 * Only the first value of a multi-valued PN is split.
 */
export function decodePersonName(bytes: Uint8Array, specificCharacterSet: string | Uint8Array | undefined): PersonName {
  const text = decodeText(bytes, specificCharacterSet, 'PN');
  const first = text.split('\\')[0] ?? '';
  const [alphabetic = '', ideographic = '', phonetic = ''] = first.split('=');
  return {
    alphabetic: splitComponents(alphabetic),
    ideographic: splitComponents(ideographic),
    phonetic: splitComponents(phonetic),
  };
}
