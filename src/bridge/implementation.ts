/**
 * Who we are on the wire and in the files we write (PS3.7 Annex D.3.3.2, PS3.10 §7.1).
 * The class UID is a UUID-derived UID under the 2.25 root (PS3.5 §B.2), so it needs no
 * registered organisation root and never collides.
 */
export const IMPLEMENTATION_CLASS_UID = '2.25.310214979605633978916067350436491644708';
/** At most 16 characters (PS3.8 §D.3.3.2.3). */
export const IMPLEMENTATION_VERSION_NAME = 'DICOMBRIDGE_010';
