/**
 * The SOP Class and SOP Instance UIDs a dataset itself carries, read from its first bytes
 * (PS3.5 §7; PS3.3 C.12.1 SOP Common Module). The file meta's Media Storage copies (PS3.10
 * §7.1) can disagree with them, and a C-STORE must name what the dataset says (PS3.4 B.2.3).
 *
 * Uses the byte-preserving scanner on a bounded head only: both UIDs are in group 0008, near
 * the start, so nothing past them is read.
 */
import { promisify } from 'node:util';
import { constants, inflateRaw } from 'node:zlib';
import { DatasetScanner } from './scanner.js';
import { TAGS } from './tags.js';
import { transferSyntaxInfo } from './transfer-syntax.js';

const inflate = promisify(inflateRaw);

/** What the head of a dataset says of itself; a UID is undefined when the dataset has none. */
export interface DatasetIdentity {
  sopClassUid: string | undefined;
  sopInstanceUid: string | undefined;
}

/** Thrown by the handler to stop the scan once the UIDs are behind it. */
const PASSED = Symbol('passed (0008,0018)');

function uid(value: Buffer): string {
  return value.toString('latin1').replace(/[\0 ]+$/, '').trim();
}

/**
 * Reads (0008,0016) SOPClassUID and (0008,0018) SOPInstanceUID from the first bytes of a
 * dataset (no file meta) in the given transfer syntax, inflating a deflated one (PS3.5 §A.5).
 * Returns null when `head` ends before both are found or passed and `atEnd` is false (read
 * more); a UID the dataset lacks is undefined. Rejects with DatasetDecodeError on malformed
 * bytes before the UIDs; an unknown transfer syntax gives two undefined UIDs.
 */
export async function readDatasetIdentity(head: Buffer, transferSyntaxUid: string, atEnd: boolean): Promise<DatasetIdentity | null> {
  const ts = transferSyntaxInfo(transferSyntaxUid);
  const identity: DatasetIdentity = { sopClassUid: undefined, sopInstanceUid: undefined };
  if (ts === undefined) return identity;
  const bytes = ts.deflated ? await inflate(head, { finishFlush: constants.Z_SYNC_FLUSH }) : head;
  const scanner = new DatasetScanner(
    { explicitVr: ts.explicitVr, littleEndian: ts.littleEndian },
    {
      element: (header) => {
        if (header.tag > TAGS.SOPInstanceUID) throw PASSED;
        return header.tag === TAGS.SOPClassUID || header.tag === TAGS.SOPInstanceUID ? 'capture' : 'pass';
      },
      value: (header, _headerBytes, value) => {
        if (header.tag === TAGS.SOPClassUID) identity.sopClassUid = uid(value);
        else identity.sopInstanceUid = uid(value);
        return undefined;
      },
      output: () => undefined,
    },
  );
  try {
    scanner.write(bytes);
  } catch (err) {
    if (err === PASSED) return identity;
    throw err;
  }
  if (identity.sopInstanceUid !== undefined) return identity;
  return atEnd ? identity : null;
}
