/**
 * DIMSE command set codec: group 0000 elements, always Implicit VR Little Endian, with
 * (0000,0000) CommandGroupLength first. PS3.7 §6.3.1, §9.3, Annex E (Table E.1-1).
 *
 * The command set is a small fixed group of some twenty elements, so a table-driven codec is
 * the simplest fit.
 */
import { DimseProtocolError } from '../errors.js';

/** Default cap on an encoded command set (bytes); real ones are a few hundred bytes. */
export const DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024;

/** CommandDataSetType value meaning "no data set follows" (PS3.7 Table E.1-1). */
export const NO_DATASET = 0x0101;
/** CommandDataSetType value we send when a data set follows (any value but 0x0101 means one). */
export const DATASET_PRESENT = 0x0000;

/**
 * A decoded command set, fields named by element keyword. Only the elements of PS3.7
 * Table E.1-1 this layer uses; others are skipped on decode.
 */
export interface CommandSet {
  AffectedSOPClassUID?: string;
  RequestedSOPClassUID?: string;
  CommandField?: number;
  MessageID?: number;
  MessageIDBeingRespondedTo?: number;
  MoveDestination?: string;
  Priority?: number;
  CommandDataSetType?: number;
  Status?: number;
  /** AT, VM 1-n: each tag as (group << 16 | element). */
  OffendingElement?: number[];
  ErrorComment?: string;
  ErrorID?: number;
  AffectedSOPInstanceUID?: string;
  RequestedSOPInstanceUID?: string;
  NumberOfRemainingSuboperations?: number;
  NumberOfCompletedSuboperations?: number;
  NumberOfFailedSuboperations?: number;
  NumberOfWarningSuboperations?: number;
  MoveOriginatorApplicationEntityTitle?: string;
  MoveOriginatorMessageID?: number;
}

type Vr = 'UI' | 'US' | 'AE' | 'LO' | 'AT';

interface FieldDef {
  keyword: keyof CommandSet;
  element: number;
  vr: Vr;
}

/** The command elements we know, in ascending element order (PS3.7 Table E.1-1). */
const FIELDS: readonly FieldDef[] = [
  { keyword: 'AffectedSOPClassUID', element: 0x0002, vr: 'UI' },
  { keyword: 'RequestedSOPClassUID', element: 0x0003, vr: 'UI' },
  { keyword: 'CommandField', element: 0x0100, vr: 'US' },
  { keyword: 'MessageID', element: 0x0110, vr: 'US' },
  { keyword: 'MessageIDBeingRespondedTo', element: 0x0120, vr: 'US' },
  { keyword: 'MoveDestination', element: 0x0600, vr: 'AE' },
  { keyword: 'Priority', element: 0x0700, vr: 'US' },
  { keyword: 'CommandDataSetType', element: 0x0800, vr: 'US' },
  { keyword: 'Status', element: 0x0900, vr: 'US' },
  { keyword: 'OffendingElement', element: 0x0901, vr: 'AT' },
  { keyword: 'ErrorComment', element: 0x0902, vr: 'LO' },
  { keyword: 'ErrorID', element: 0x0903, vr: 'US' },
  { keyword: 'AffectedSOPInstanceUID', element: 0x1000, vr: 'UI' },
  { keyword: 'RequestedSOPInstanceUID', element: 0x1001, vr: 'UI' },
  { keyword: 'NumberOfRemainingSuboperations', element: 0x1020, vr: 'US' },
  { keyword: 'NumberOfCompletedSuboperations', element: 0x1021, vr: 'US' },
  { keyword: 'NumberOfFailedSuboperations', element: 0x1022, vr: 'US' },
  { keyword: 'NumberOfWarningSuboperations', element: 0x1023, vr: 'US' },
  { keyword: 'MoveOriginatorApplicationEntityTitle', element: 0x1030, vr: 'AE' },
  { keyword: 'MoveOriginatorMessageID', element: 0x1031, vr: 'US' },
];

const BY_ELEMENT: ReadonlyMap<number, FieldDef> = new Map(FIELDS.map((f) => [f.element, f]));

/** Element header in implicit VR: group (2), element (2), value length (4). */
const HEADER_LENGTH = 8;
/** (0000,0000) UL CommandGroupLength: header plus a 4-byte value. */
const GROUP_LENGTH_ELEMENT_LENGTH = HEADER_LENGTH + 4;

function valueLength(def: FieldDef, value: unknown): number {
  switch (def.vr) {
    case 'US':
      return 2;
    case 'AT':
      return 4 * (value as number[]).length;
    default: {
      const n = Buffer.byteLength(value as string, 'latin1');
      return n + (n & 1);
    }
  }
}

/**
 * Encodes a command set into one Buffer: (0000,0000) CommandGroupLength first, then every
 * defined field in ascending tag order, implicit VR little endian. UIDs are padded to even
 * length with NUL, AE and LO text with a space. PS3.7 §6.3.1, §9.3.1, Table E.1-1; PS3.5 §6.2.
 * Throws RangeError for a value that cannot be encoded (a programmer error, not a peer fault).
 */
export function encodeCommand(cmd: CommandSet): Buffer {
  let groupLength = 0;
  const present: FieldDef[] = [];
  for (const def of FIELDS) {
    const value = cmd[def.keyword];
    if (value === undefined) continue;
    if (def.vr === 'US' && (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffff)) {
      throw new RangeError(`${def.keyword} must be an integer 0–65535, got ${String(value)}`);
    }
    if (def.vr === 'AT') {
      for (const tag of value as number[]) {
        if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) {
          throw new RangeError(`${def.keyword} holds an invalid tag ${String(tag)}`);
        }
      }
    }
    present.push(def);
    groupLength += HEADER_LENGTH + valueLength(def, value);
  }

  const buf = Buffer.allocUnsafe(GROUP_LENGTH_ELEMENT_LENGTH + groupLength);
  let off = 0;
  buf.writeUInt32LE(0x00000000, off); // (0000,0000)
  buf.writeUInt32LE(4, off + 4);
  buf.writeUInt32LE(groupLength, off + 8);
  off += GROUP_LENGTH_ELEMENT_LENGTH;

  for (const def of present) {
    const value = cmd[def.keyword];
    const len = valueLength(def, value);
    buf.writeUInt16LE(0x0000, off);
    buf.writeUInt16LE(def.element, off + 2);
    buf.writeUInt32LE(len, off + 4);
    off += HEADER_LENGTH;
    switch (def.vr) {
      case 'US':
        buf.writeUInt16LE(value as number, off);
        break;
      case 'AT':
        for (const tag of value as number[]) {
          buf.writeUInt16LE(tag >>> 16, off);
          buf.writeUInt16LE(tag & 0xffff, off + 2);
          off += 4;
        }
        off -= len;
        break;
      default: {
        const written = buf.write(value as string, off, 'latin1');
        if (written < len) buf[off + written] = def.vr === 'UI' ? 0x00 : 0x20;
      }
    }
    off += len;
  }
  return buf;
}

function decodeText(buf: Buffer, start: number, end: number, vr: Vr): string {
  const raw = buf.toString('latin1', start, end);
  // UI pads with NUL; AE and LO with spaces, where leading spaces are insignificant too.
  return vr === 'UI' ? raw.replace(/[\0 ]+$/, '') : raw.replace(/^ +/, '').replace(/[ \0]+$/, '');
}

/**
 * Decodes an implicit VR little endian command set. Elements outside Table E.1-1 (and the group
 * length, which is not checked: several implementations get it wrong and the PDV already
 * delimits the command) are skipped. Throws DimseProtocolError for a set over `maxLength`, an
 * element of another group, an undefined or overrunning length, or a US/AT of the wrong size.
 * PS3.7 §6.3.1, §9.3.1, Annex E.
 */
export function decodeCommand(buf: Buffer, maxLength = DEFAULT_MAX_COMMAND_LENGTH): CommandSet {
  if (buf.length > maxLength) {
    throw new DimseProtocolError(`command set of ${buf.length} bytes exceeds the cap of ${maxLength}`);
  }
  const cmd: CommandSet = {};
  const out = cmd as Record<string, unknown>;
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < HEADER_LENGTH) {
      throw new DimseProtocolError(`command set truncated in an element header at offset ${off}`);
    }
    const group = buf.readUInt16LE(off);
    const element = buf.readUInt16LE(off + 2);
    const len = buf.readUInt32LE(off + 4);
    const tagText = `(${group.toString(16).padStart(4, '0')},${element.toString(16).padStart(4, '0')})`;
    if (group !== 0x0000) {
      throw new DimseProtocolError(`command set holds element ${tagText} outside group 0000`);
    }
    if (len === 0xffffffff) {
      throw new DimseProtocolError(`command element ${tagText} has an undefined length`);
    }
    const start = off + HEADER_LENGTH;
    const end = start + len;
    if (end > buf.length) {
      throw new DimseProtocolError(`command element ${tagText} of ${len} bytes overruns the command set`);
    }
    const def = BY_ELEMENT.get(element);
    if (def !== undefined) {
      switch (def.vr) {
        case 'US':
          if (len !== 2) throw new DimseProtocolError(`command element ${tagText} (US) has length ${len}, not 2`);
          out[def.keyword] = buf.readUInt16LE(start);
          break;
        case 'AT': {
          if (len % 4 !== 0) throw new DimseProtocolError(`command element ${tagText} (AT) has length ${len}`);
          const tags: number[] = [];
          for (let p = start; p < end; p += 4) tags.push(((buf.readUInt16LE(p) << 16) | buf.readUInt16LE(p + 2)) >>> 0);
          out[def.keyword] = tags;
          break;
        }
        default:
          out[def.keyword] = decodeText(buf, start, end, def.vr);
      }
    }
    off = end;
  }
  return cmd;
}
