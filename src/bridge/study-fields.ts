/**
 * The patient and study attributes the bridge shows (ZIP names, log book), read from the
 * captured values of an instance and decoded with its Specific Character Set.
 */
import { decodePersonName, decodeText } from '../dicom/part10/charset.js';
import type { CapturedElement } from '../dicom/part10/rewrite.js';
import { TAGS } from '../dicom/part10/tags.js';
import { asciiValue } from '../dicom/part10/values.js';
import { formatPersonName } from './naming/person-name.js';

/** Tags to capture for {@link studyFields}. */
export const STUDY_FIELD_TAGS = [
  TAGS.SpecificCharacterSet,
  TAGS.PatientName,
  TAGS.PatientBirthDate,
  TAGS.PatientSex,
  TAGS.StudyDate,
  TAGS.StudyDescription,
  TAGS.StudyInstanceUID,
  TAGS.Modality,
] as const;

/** Decoded descriptive fields of a study. */
export interface StudyFields {
  /** `FAMILY, Given Middle` (alphabetic group). */
  patientName: string;
  /** DA as sent (YYYYMMDD). */
  birthDate: string;
  sex: string;
  studyDate: string;
  studyDescription: string;
  studyInstanceUid: string;
}

/** Reads the fields from captured elements. */
export function studyFields(attributes: ReadonlyMap<number, CapturedElement>): StudyFields {
  const charset = asciiValue(attributes.get(TAGS.SpecificCharacterSet));
  const name = attributes.get(TAGS.PatientName);
  const description = attributes.get(TAGS.StudyDescription);
  return {
    patientName: name ? formatPersonName(decodePersonName(name.value, charset).alphabetic) : '',
    birthDate: asciiValue(attributes.get(TAGS.PatientBirthDate)),
    sex: asciiValue(attributes.get(TAGS.PatientSex)),
    studyDate: asciiValue(attributes.get(TAGS.StudyDate)),
    studyDescription: description ? decodeText(description.value, charset, 'LO') : '',
    studyInstanceUid: asciiValue(attributes.get(TAGS.StudyInstanceUID)),
  };
}

/** DA `YYYYMMDD` as `YYYY-MM-DD` (the log book's form); anything else as it is. */
export function isoDate(da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : da;
}
