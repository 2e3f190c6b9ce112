/**
 * SOP class UIDs the DIMSE layer needs to know (PS3.4, PS3.6 Annex A).
 *
 * Hand-written: the bridge only has to tell storage SOP classes from the other services, which
 * the UID roots of PS3.4 Annex B decide; a full UID dictionary package would be dead weight.
 */

/** Verification SOP Class, the abstract syntax of C-ECHO (PS3.4 Annex A, PS3.6 Table A-1). */
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** The root under which the standard defines its UIDs (PS3.5 §9). */
const DICOM_ROOT = '1.2.840.10008.';

/**
 * Roots whose every descendant is a storage SOP class: all image, waveform, SR, encapsulated
 * document, RT, presentation-state, registration, segmentation and DICOS/DICONDE storage SOP
 * classes live under 1.2.840.10008.5.1.4.1.1 (PS3.4 Table B.5-1, PS3.6 Table A-1).
 */
const STORAGE_ROOTS = ['1.2.840.10008.5.1.4.1.1.'];

/**
 * Storage SOP classes outside that root: their siblings are query/retrieve models, so each is
 * listed by its exact UID (PS3.4 Table B.5-1, PS3.6 Table A-1).
 */
const STORAGE_EXACT: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.1.27', // Stored Print Storage (retired)
  '1.2.840.10008.5.1.1.29', // Hardcopy Grayscale Image Storage (retired)
  '1.2.840.10008.5.1.1.30', // Hardcopy Color Image Storage (retired)
  '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction Storage
  '1.2.840.10008.5.1.4.34.10', // RT Brachy Application Setup Delivery Instruction Storage
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group Storage
]);

/** A syntactically valid UID: numeric components, no leading zero, at most 64 chars (PS3.5 §9.1). */
const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/**
 * Whether a SOP class UID names a storage SOP class, i.e. one a Storage SCP accepts by C-STORE.
 * Private SOP classes (outside 1.2.840.10008) count as storage: vendors define private storage
 * classes, never private versions of the standard's other services. Standard non-storage
 * services (verification, query/retrieve, worklist, MPPS, print, storage commitment, the DICOMDIR
 * "Media Storage Directory Storage", ...) do not. PS3.4 Annex B, PS3.6 Annex A.
 */
export function isStorageSopClass(uid: string): boolean {
  if (uid.length === 0 || uid.length > 64 || !UID_PATTERN.test(uid)) return false;
  if (!uid.startsWith(DICOM_ROOT)) return true;
  if (STORAGE_EXACT.has(uid)) return true;
  return STORAGE_ROOTS.some((root) => uid.startsWith(root));
}
