/**
 * Which presentation contexts the receiver accepts (SPEC §1): Verification and every storage
 * SOP class, in any transfer syntax our dataset reader understands, keeping the data as the
 * sender has it. Among several offered syntaxes Explicit VR Little Endian is preferred, then the
 * sender's order (its first choice). PS3.8 §9.3.3.2 result codes.
 */
import { isStorageSopClass, VERIFICATION_SOP_CLASS } from '../../dicom/dimse/sop-classes.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, isTransferSyntaxSupported } from '../../dicom/part10/transfer-syntax.js';
import type { ContextDecision } from '../../dicom/ul/acceptor.js';

/** Presentation context results (PS3.8 Table 9-18). */
const ACCEPTANCE = 0;
const ABSTRACT_SYNTAX_NOT_SUPPORTED = 3;
const TRANSFER_SYNTAXES_NOT_SUPPORTED = 4;

/** Decides one proposed presentation context. */
export function acceptStorageContext(abstractSyntax: string, transferSyntaxes: readonly string[]): ContextDecision {
  if (abstractSyntax === VERIFICATION_SOP_CLASS) {
    const ts = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN].find((t) => transferSyntaxes.includes(t));
    return ts ? { result: ACCEPTANCE, transferSyntax: ts } : { result: TRANSFER_SYNTAXES_NOT_SUPPORTED };
  }
  if (!isStorageSopClass(abstractSyntax)) return { result: ABSTRACT_SYNTAX_NOT_SUPPORTED };
  const ts = transferSyntaxes.includes(EXPLICIT_VR_LITTLE_ENDIAN)
    ? EXPLICIT_VR_LITTLE_ENDIAN
    : transferSyntaxes.find(isTransferSyntaxSupported);
  return ts ? { result: ACCEPTANCE, transferSyntax: ts } : { result: TRANSFER_SYNTAXES_NOT_SUPPORTED };
}
