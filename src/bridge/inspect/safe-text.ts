/**
 * Terminal-safe text for `dicombridge inspect`: values come from untrusted DICOM files and file
 * names, and a C0/C1 control (ESC, CSI 0x9B) or a bidirectional override printed raw could
 * move the cursor, rewrite earlier lines or make text display as something else. Hand-written:
 * a few lines, and the escape format (`\xNN`, `\uNNNN`) is ours to choose.
 */

/** Longest text shown by default, in code points. */
export const MAX_SHOWN_CHARS = 200;

/**
 * Bidirectional marks, embeddings, overrides and isolates, zero-width characters, line and
 * paragraph separators and the BOM: harmless to a file system, misleading on a screen.
 */
const INVISIBLE = /^[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]$/u;

/**
 * Escapes control characters as `\xNN` (C0, DEL, C1) and invisible or direction-changing
 * characters and lone surrogates as `\uNNNN`, then cuts the text to `max` code points with a
 * trailing `…`. The result can be printed to a terminal as it is.
 */
export function safeText(text: string, max = MAX_SHOWN_CHARS): string {
  let out = '';
  let count = 0;
  for (const ch of text) {
    if (count === max) return `${out}…`;
    count++;
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0xd800 && cp <= 0xdfff) || INVISIBLE.test(ch)) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}
