/**
 * The commit record of a received instance file: written into the file's 128-byte preamble
 * once every byte is in, and made durable by the same fdatasync as the data. A file in the
 * incoming folder is an acknowledged instance exactly when its record is there and matches
 * (length and CRC-32 of everything after the preamble); anything else is an instance whose
 * reception broke off. So no rename and no folder fsync stand between the last byte and the
 * C-STORE response.
 *
 * The preamble is the file's own business (PS3.10 §7.1: "for use by application profiles or
 * specific implementations"); DICOM readers skip it, and zipping writes zeros in its place.
 */
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** Size of the Part 10 preamble (PS3.10 §7.1). */
export const PREAMBLE_LENGTH = 128;

const MAGIC = Buffer.from('DicomBridge committed instance\0\0', 'latin1');
const LENGTH_AT = MAGIC.length;
const CRC_AT = LENGTH_AT + 8;

/** The preamble that commits a file of `length` bytes whose bytes after the preamble have this CRC-32. */
export function commitRecord(length: number, crc: number): Buffer {
  const record = Buffer.alloc(PREAMBLE_LENGTH);
  MAGIC.copy(record, 0);
  record.writeBigUInt64LE(BigInt(length), LENGTH_AT);
  record.writeUInt32LE(crc >>> 0, CRC_AT);
  return record;
}

/** The length and CRC a preamble commits, or null when it is no commit record. */
export function readCommitRecord(preamble: Buffer): { length: number; crc: number } | null {
  if (preamble.length < PREAMBLE_LENGTH || !preamble.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  return { length: Number(preamble.readBigUInt64LE(LENGTH_AT)), crc: preamble.readUInt32LE(CRC_AT) };
}

/**
 * True when the file holds a commit record that matches its contents: its length, and the
 * CRC-32 of its bytes after the preamble (read through once).
 */
export async function isCommitted(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < PREAMBLE_LENGTH) return false;
    const preamble = Buffer.alloc(PREAMBLE_LENGTH);
    await handle.read(preamble, 0, PREAMBLE_LENGTH, 0);
    const record = readCommitRecord(preamble);
    if (record === null || record.length !== size) return false;
    let crc = 0;
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let at = PREAMBLE_LENGTH; at < size;) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - at), at);
      if (bytesRead === 0) return false;
      crc = crc32(chunk.subarray(0, bytesRead), crc);
      at += bytesRead;
    }
    return crc === record.crc;
  } finally {
    await handle.close();
  }
}
