/**
 * Reading captured values of the ASCII-only VRs (UI, CS, DA, IS, AE, ...): the bytes as
 * Latin-1 without the NUL or space padding (PS3.5 §6.2). Text VRs that carry the Specific
 * Character Set go through charset.ts instead.
 */
import type { CapturedElement } from './rewrite.js';

/** The value of an ASCII-only element, unpadded; '' when absent. */
export function asciiValue(element: CapturedElement | undefined): string {
  return element ? element.value.toString('latin1').replace(/[\0 ]+$/, '').trim() : '';
}
