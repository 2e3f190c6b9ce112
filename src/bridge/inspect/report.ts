/**
 * The shape of an `inspect` report: per study, what the bridge would take
 * and make of the files; stable, because `--json` prints it.
 */
/** The inboxes a study can end in (SPEC §1, §3). */
export type InboxName = 'Inbox_Auto' | 'Inbox_Manual' | 'Inbox_Failed';

/** The configured CRYPE-ID element (SPEC §5 `receive.cridTagGroup` / `cridTagElement`). */
export interface CridTagInfo {
  /** `(gggg,eeee)`. */
  tag: string;
  group: string;
  element: string;
  /** PS3.6 keyword when the compact dictionary knows it. */
  keyword: string | null;
}

/** An element other than the configured one whose text contains `CRID#`. */
export interface OtherCridElement {
  /** Where it is: enclosing sequences and items, then the element, e.g. `(0040,0275) item 1 > (0010,4000) PatientComments`. */
  location: string;
  /** `(gggg,eeee)` of the element itself. */
  tag: string;
  keyword: string | null;
  vr: string;
  /** False when it sits inside a sequence, where the bridge never looks. */
  topLevel: boolean;
  /** The value of the first instance holding it, decoded and terminal-safe. */
  value: string;
  /** Instances of the study that hold `CRID#` text at this location. */
  instances: number;
  /** For a top-level element: the IDs the bridge would take if this were the configured element. */
  wouldYield: { ids: string[]; malformed: string | null } | null;
  /** What to change, in the words of the Settings tab. */
  hint: string;
}

/** A malformed ID text in the configured element, as the receiver logs it. */
export interface MalformedId {
  file: string;
  message: string;
}

/** What inspect found for one study (patient + StudyInstanceUID, as the bridge groups). */
export interface StudyInspection {
  studyInstanceUid: string;
  patientId: string;
  instances: number;
  /** `FAMILY, Given Middle`, decoded with the Specific Character Set. */
  patientName: string;
  /** `YYYY-MM-DD` when the DA value is well formed, else as sent. */
  birthDate: string;
  sex: string;
  studyDate: string;
  studyDescription: string;
  /** Distinct, sorted. */
  modalities: string[];
  /** Valid IDs in the configured element, union over the instances in order of first appearance. */
  crids: string[];
  /** Instances whose configured element held at least one valid ID. */
  instancesWithIds: number;
  /** Instances where the configured element is present at the top level. */
  instancesWithTag: number;
  malformed: MalformedId[];
  otherElements: OtherCridElement[];
  /** The ZIP name (before any copy number for an existing file), or null when it cannot be built. */
  zipName: string | null;
  inbox: InboxName;
  /** Why the study would not go to Inbox_Auto; null when it would. */
  inboxReason: string | null;
  /** Anything that limited the search (a value too long, a sequence that could not be walked). */
  notes: string[];
}

/** Why a file took no part in a study. */
export type SkipKind = 'not-dicom' | 'refused' | 'unreadable';

/** A file inspect did not count as an instance. */
export interface SkippedFile {
  /** Relative to the inspected folder (or the file name). */
  file: string;
  /** `not-dicom`: not an instance (no Part 10, DICOMDIR); `refused`: a Part 10 file the bridge would not accept; `unreadable`: an I/O error. */
  kind: SkipKind;
  reason: string;
}

/** The result of {@link inspectPath}: plain data, stable for `--json`. */
export interface InspectReport {
  /** The path as given. */
  target: string;
  /** The configured element, or null when CRYPE IDs are off (0000/0000). */
  cridTag: CridTagInfo | null;
  /** Files looked at (instances and skipped). */
  files: number;
  studies: StudyInspection[];
  /** At most `maxSkippedListed` entries; the rest are counted in skippedOmitted. */
  skipped: SkippedFile[];
  skippedOmitted: number;
  /** Skipped files by kind, all of them. */
  skippedByKind: Record<SkipKind, number>;
}

/** Options of {@link inspectPath}. */
export interface InspectOptions {
  /** Skipped files listed one by one (default 200); more are only counted. */
  maxSkippedListed?: number;
  /** `CRID#` hits kept per file (default 100). */
  maxHitsPerFile?: number;
}

/** The target is neither a file nor a folder. */
export class InspectTargetError extends Error {
  readonly code = 'ERR_INSPECT_TARGET' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InspectTargetError';
  }
}

