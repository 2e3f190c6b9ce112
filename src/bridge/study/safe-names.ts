/**
 * File-system names built from values a peer sent. UIDs are used as names only when they are
 * real UIDs (PS3.5 §9.1: digits and dots, no empty or zero-led component, at most 64 chars);
 * anything else becomes a hash, so `../../x` can never reach a path.
 */
import { createHash } from 'node:crypto';

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/** True for a syntactically valid UID (PS3.5 §9.1). */
export function isValidUid(value: string): boolean {
  return value.length > 0 && value.length <= 64 && UID_PATTERN.test(value);
}

/** Short hex digest used in place of untrusted text. */
export function digest(text: string, length = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** A name safe for any file system: the UID itself when valid, else `x` + its digest. */
export function uidFileName(uid: string): string {
  return isValidUid(uid) ? uid : `x${digest(uid, 32)}`;
}
