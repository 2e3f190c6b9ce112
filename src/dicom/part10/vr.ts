/**
 * Value Representation properties needed to walk and rewrite a dataset without decoding it
 * (PS3.5 §6.2, Table 6.2-1; explicit VR header forms in PS3.5 §7.1.2, Table 7.1-1/7.1-2).
 *
 * Hand-written: the byte-preserving reader only needs a handful of facts per VR (header form,
 * padding byte, text or binary); no npm library exposes these without also decoding values.
 */

/** Every VR of PS3.5 Table 6.2-1. */
export const KNOWN_VRS: ReadonlySet<string> = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL',
  'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US',
  'UT', 'UV',
]);

/**
 * VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 §7.1.2,
 * Table 7.1-1). All others use a 16-bit length.
 */
export const LONG_LENGTH_VRS: ReadonlySet<string> = new Set([
  'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV',
]);

/** VRs whose value is character text, affected or not by Specific Character Set (PS3.5 §6.2). */
export const TEXT_VRS: ReadonlySet<string> = new Set([
  'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR',
  'UT',
]);

/** Text VRs whose value is decoded with the Specific Character Set (PS3.5 §6.1.2.3). */
export const CHARSET_VRS: ReadonlySet<string> = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);

/**
 * Largest value, in bytes, that a VR with a fixed maximum can sensibly carry when it must be
 * buffered (PS3.5 Table 6.2-1 maxima, times a generous allowance for multiple values and
 * multi-byte character sets). VRs not listed (UT, UC, UR, OB, UN, …) have no such bound.
 */
const SANE_MAX_BYTES: ReadonlyMap<string, number> = new Map([
  ['AE', 16 * 1024], ['AS', 4 * 1024], ['CS', 16 * 1024], ['DA', 18 * 1024], ['DS', 16 * 1024],
  ['DT', 26 * 1024], ['IS', 12 * 1024], ['LO', 64 * 1024], ['PN', 64 * 1024], ['SH', 16 * 1024],
  ['TM', 14 * 1024], ['UI', 64 * 1024], ['ST', 4 * 1024 * 4], ['LT', 10240 * 4],
]);

/**
 * True when an explicit-VR element of this VR uses the 12-byte header with a 32-bit length
 * (PS3.5 §7.1.2). Unknown VRs also take the long form, as PS3.5 §6.2 reserves it for future VRs.
 */
export function hasLongLength(vr: string): boolean {
  return LONG_LENGTH_VRS.has(vr) || !KNOWN_VRS.has(vr);
}

/** True for text VRs (PS3.5 §6.2). */
export function isTextVr(vr: string): boolean {
  return TEXT_VRS.has(vr);
}

/**
 * Byte that pads a value to even length: NUL for UI and binary VRs, space for text
 * (PS3.5 §6.2, the notes of Table 6.2-1; §6.4 for OB/UN).
 */
export function paddingByte(vr: string): number {
  if (vr === 'UI') return 0x00;
  return TEXT_VRS.has(vr) ? 0x20 : 0x00;
}

/**
 * Upper bound on a value length that still makes sense for this VR when it has to be held in
 * memory, or undefined when the VR has no such bound (PS3.5 Table 6.2-1).
 */
export function saneMaxValueBytes(vr: string): number | undefined {
  return SANE_MAX_BYTES.get(vr);
}
