/**
 * The name of a study's ZIP in the Inbox folders (SPEC §1 "ZIP file name"):
 * `PatientName_PatientBirthDate_PatientSex_StudyDate_Modality_StudyInstanceUID[_CRID#id…].zip`.
 * Hand-written: the fields come from an untrusted peer and the name is the CRYPE app's routing
 * key, so every field is sanitized, `_` and `#` never appear inside a field (the name splits
 * into its fields at `_`, and `CRID#` appears only in the ID part), and the name is shortened
 * field by field to fit Windows' MAX_PATH and Linux' NAME_MAX without ever touching the UID or
 * the IDs.
 */
import { CRID_PREFIX, formatCrids, isCrid } from '../crid/extract.js';
import { REPLACEMENT, sanitizeFileNameComponent } from './file-name.js';

/** Room kept in every name for the copy number copyZipName may add: ` (99999)`. */
export const COPY_SUFFIX_RESERVE = 8;
/** Highest copy number of a ZIP name. */
export const MAX_COPIES = 99999;
/** A valid UID's longest form (PS3.5 §9.1). */
export const MAX_UID_LENGTH = 64;
/** Cap on sex and date fields, far above their VR lengths (CS 16, DA 8). */
export const SHORT_FIELD_MAX = 16;

/** The name cannot be made to fit, or every copy number is taken. */
export class ZipNameError extends Error {
  readonly code = 'ERR_ZIP_NAME' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ZipNameError';
  }
}

/** The study's values that make up the name; all are untrusted text already decoded. */
export interface ZipNameFields {
  /** Already formatted by formatPersonName. */
  patientName: string;
  /** DA `YYYYMMDD`; anything else is sanitized and used as is. */
  birthDate: string;
  sex: string;
  /** DA `YYYYMMDD`; anything else is sanitized and used as is. */
  studyDate: string;
  /** The modalities of the study's series, in any order, duplicates allowed. */
  modalities: readonly string[];
  studyInstanceUid: string;
  /** The study's CRYPE IDs, 16 digits each (as extractCrids returns them). */
  crids: readonly string[];
}

/** Limits of buildZipName. */
export interface ZipNameOptions {
  /** Folder the ZIP goes into; its length counts against maxPathLength. */
  folderPath: string;
  /** Longest full path in UTF-16 code units: Windows MAX_PATH (260) less the NUL. */
  maxPathLength?: number;
  /** Longest name in UTF-8 bytes: Linux NAME_MAX. */
  maxNameBytes?: number;
}

const PADDING = /^[\s\0]+|[\s\0]+$/g;
const UID = /^[0-9]+(\.[0-9]+)*$/;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function field(s: string): string {
  return sanitizeFileNameComponent(s).replace(/[_#]/g, REPLACEMENT);
}

function firstCodePoints(s: string, max: number): string {
  const points = Array.from(s);
  return points.length <= max ? s : points.slice(0, max).join('');
}

function date(s: string): string {
  const v = s.replace(PADDING, '');
  if (/^[0-9]{8}$/.test(v)) return `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`;
  return firstCodePoints(field(v), SHORT_FIELD_MAX);
}

/** A UID is used as is only when it is digits and dots within 64 characters; else sanitized. */
function uid(s: string): string {
  const v = s.replace(PADDING, '');
  if (v.length <= MAX_UID_LENGTH && UID.test(v)) return v;
  return firstCodePoints(field(v), MAX_UID_LENGTH);
}

function modalityList(modalities: readonly string[]): string {
  const distinct = new Set<string>();
  for (const m of modalities) {
    const v = firstCodePoints(field(m), SHORT_FIELD_MAX);
    if (v !== '') distinct.add(v);
  }
  return [...distinct].sort().join('-');
}

/** Removes whole graphemes from the end until `chars` UTF-16 units and `bytes` UTF-8 bytes are gone. */
function cut(s: string, chars: number, bytes: number): string {
  const parts = Array.from(segmenter.segment(s), (x) => x.segment);
  let removedChars = 0;
  let removedBytes = 0;
  while (parts.length > 0 && (removedChars < chars || removedBytes < bytes)) {
    const last = parts.pop() as string;
    removedChars += last.length;
    removedBytes += Buffer.byteLength(last, 'utf8');
  }
  // A cut name should not end in a dangling separator: `HOLTZMANN, C` rather than `HOLTZMANN, `.
  return parts.join('').replace(/[\s,.-]+$/u, '');
}

/**
 * Builds the ZIP name of SPEC §1 within the path limits, keeping COPY_SUFFIX_RESERVE characters
 * free for copyZipName. Shortens, in this order, the patient name, the modality list, the sex,
 * the study date and the birth date; never the UID or the IDs. Throws ZipNameError when even
 * that cannot fit, TypeError when an ID is not 16 digits (a caller bug).
 */
export function buildZipName(fields: ZipNameFields, options: ZipNameOptions): string {
  for (const id of fields.crids) {
    if (!isCrid(id)) throw new TypeError(`CRYPE ID must be 16 digits, got ${JSON.stringify(id)}`);
  }
  const maxPath = options.maxPathLength ?? 259;
  const maxBytes = options.maxNameBytes ?? 255;
  const charBudget = maxPath - options.folderPath.length - 1 - COPY_SUFFIX_RESERVE;
  const byteBudget = maxBytes - COPY_SUFFIX_RESERVE;

  // Shortening order: index 0 first. The UID and IDs are outside this list on purpose.
  const parts = [
    field(fields.patientName),
    modalityList(fields.modalities),
    firstCodePoints(field(fields.sex), SHORT_FIELD_MAX),
    date(fields.studyDate),
    date(fields.birthDate),
  ];
  const tail = `_${uid(fields.studyInstanceUid)}${fields.crids.length > 0 ? `_${formatCrids(fields.crids)}` : ''}.zip`;
  const compose = () => `${parts[0]}_${parts[4]}_${parts[2]}_${parts[3]}_${parts[1]}${tail}`;

  let name = compose();
  for (let i = 0; i < parts.length; i++) {
    const overChars = name.length - charBudget;
    const overBytes = Buffer.byteLength(name, 'utf8') - byteBudget;
    if (overChars <= 0 && overBytes <= 0) return name;
    parts[i] = cut(parts[i], Math.max(0, overChars), Math.max(0, overBytes));
    name = compose();
  }
  if (name.length <= charBudget && Buffer.byteLength(name, 'utf8') <= byteBudget) return name;
  throw new ZipNameError(
    `the ZIP name cannot fit: the UID and ${fields.crids.length} CRYPE ID(s) alone need ${name.length} characters, ` +
      `${Math.max(0, charBudget)} are left after the folder "${options.folderPath}"`,
  );
}

/**
 * Copy `n` of a ZIP name: `name` itself for 1, else `stem (n).zip`, the name tried when the
 * copies before it exist (SPEC §1: an existing file is never overwritten; zip/publish.ts takes
 * the name exclusively). The copy number goes right before `.zip`, after the IDs, so the IDs
 * stay contiguous and each is still `CRID#` + 16 digits.
 */
export function copyZipName(name: string, n: number): string {
  if (!name.toLowerCase().endsWith('.zip')) throw new TypeError(`not a ZIP name: ${JSON.stringify(name)}`);
  if (n < 1 || n > MAX_COPIES) throw new ZipNameError(`all ${MAX_COPIES} copy numbers of "${name}" are taken`);
  return n === 1 ? name : `${name.slice(0, -4)} (${n})${name.slice(-4)}`;
}

/** Splits the IDs back out of a ZIP name built here (for the log book and recovery). */
export function cridsFromZipName(name: string): string[] {
  const at = name.indexOf(`_${CRID_PREFIX}`);
  if (at === -1) return [];
  const ids: string[] = [];
  const re = /CRID#([0-9]{16})/y;
  re.lastIndex = at + 1;
  for (let m = re.exec(name); m !== null; m = re.exec(name)) ids.push(m[1]);
  return ids;
}
