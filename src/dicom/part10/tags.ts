/**
 * Tag numbers as `(group << 16 | element) >>> 0` for the attributes the bridge reads or edits
 * (PS3.5 §7.1; numbers and keywords from PS3.6 Table 6-1 and Table 7-1).
 *
 * Hand-written: a full data dictionary package would pull in thousands of entries we never use.
 */

/** Builds the 32-bit tag number of (group,element) (PS3.5 §7.1.1). */
export function tag(group: number, element: number): number {
  return ((group << 16) | element) >>> 0;
}

/** Group number of a tag (PS3.5 §7.1.1). */
export function tagGroup(t: number): number {
  return t >>> 16;
}

/** Element number of a tag (PS3.5 §7.1.1). */
export function tagElement(t: number): number {
  return t & 0xffff;
}

/** Formats a tag as `(gggg,eeee)` in upper-case hex, the notation of PS3.6. */
export function formatTag(t: number): string {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  return `(${hex(tagGroup(t))},${hex(tagElement(t))})`;
}

/** Tags used by the bridge, keyed by PS3.6 keyword. */
export const TAGS = {
  FileMetaInformationGroupLength: 0x00020000,
  FileMetaInformationVersion: 0x00020001,
  MediaStorageSOPClassUID: 0x00020002,
  MediaStorageSOPInstanceUID: 0x00020003,
  TransferSyntaxUID: 0x00020010,
  ImplementationClassUID: 0x00020012,
  ImplementationVersionName: 0x00020013,
  SourceApplicationEntityTitle: 0x00020016,
  SpecificCharacterSet: 0x00080005,
  SOPClassUID: 0x00080016,
  SOPInstanceUID: 0x00080018,
  StudyDate: 0x00080020,
  StudyTime: 0x00080030,
  AccessionNumber: 0x00080050,
  Modality: 0x00080060,
  StudyDescription: 0x00081030,
  SeriesDescription: 0x0008103e,
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  PatientBirthDate: 0x00100030,
  PatientSex: 0x00100040,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  SeriesNumber: 0x00200011,
  InstanceNumber: 0x00200013,
  PixelData: 0x7fe00010,
  Item: 0xfffee000,
  ItemDelimitationItem: 0xfffee00d,
  SequenceDelimitationItem: 0xfffee0dd,
} as const;

/** Keyword of a tag in {@link TAGS}. */
export type TagKeyword = keyof typeof TAGS;
