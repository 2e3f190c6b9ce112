/**
 * The options every acceptor unit test starts from: a Verification-only SCP (implicit VR
 * little endian), 16 KiB PDUs, four associations, a 2 s ARTIM, no idle timeout, quiet logs.
 * Each test adds its own `onAssociation` and overrides what it is about.
 */
import type { AcceptorOptions } from '../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../src/dicom/ul/logger.js';

export const VERIFICATION = '1.2.840.10008.1.1';
export const IMPLICIT_LE = '1.2.840.10008.1.2';

/** Base options of a test acceptor, without `onAssociation`. */
export function testAcceptorOptions(): Omit<AcceptorOptions, 'onAssociation'> {
  return {
    aeTitle: 'ANY-SCP',
    maxPduLength: 16384,
    implementationClassUid: '2.25.42',
    implementationVersionName: 'UL_TEST',
    acceptContext: (abstractSyntax, tss) =>
      abstractSyntax === VERIFICATION && tss.includes(IMPLICIT_LE) ? { result: 0, transferSyntax: IMPLICIT_LE } : { result: 3 },
    maxAssociations: 4,
    artimTimeoutMs: 2000,
    idleTimeoutMs: 0,
    log: noopLogger,
  };
}
