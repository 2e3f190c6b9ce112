/**
 * Safe file-name components from untrusted text (patient data and UIDs sent by a PACS, SPEC §1:
 * "names on disk are never built from raw values"). Hand-written: the npm sanitizers replace
 * with `_` or drop Unicode letters, and here `_` is the ZIP name's field separator while
 * Japanese or Greek names must survive.
 */

/** Character put in place of anything unsafe; not `_`, which separates the ZIP name's fields. */
export const REPLACEMENT = '-';

// Forbidden on Windows or Linux, C0 and C1 controls and DEL.
// eslint-disable-next-line no-control-regex -- control characters are what is being matched
const FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional overrides and isolates, marks and the BOM: they can make a name display as
// something else (`gpj.exe` shown reversed).
const INVISIBLE = /[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const RESERVED = /^(CON|PRN|AUX|NUL|COM[1-9\u00b9\u00b2\u00b3]|LPT[1-9\u00b9\u00b2\u00b3])(\.|$)/i;

/**
 * Makes `s` usable as (part of) a file name on Windows and Linux: whitespace runs become one
 * space; `<>:"/\|?*`, control characters, bidi controls and lone surrogates become `-`; leading
 * spaces and trailing dots/spaces are removed (so `.` and `..` become empty); a Windows device
 * name (`CON`, `nul.txt`, `COM1` …) gets a leading `-`. Unicode letters are kept (NFC).
 */
export function sanitizeFileNameComponent(s: string): string {
  let out = s
    .replace(LONE_SURROGATE, REPLACEMENT)
    .normalize('NFC')
    .replace(/\s+/gu, ' ')
    .replace(FORBIDDEN, REPLACEMENT)
    .replace(INVISIBLE, REPLACEMENT)
    .replace(/^ +/, '')
    .replace(/[. ]+$/, '');
  if (RESERVED.test(out)) out = REPLACEMENT + out;
  return out;
}
