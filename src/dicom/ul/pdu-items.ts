/**
 * Codecs for the items and sub-items carried in the variable field of A-ASSOCIATE-RQ/AC PDUs
 * (PS3.8 §9.3.2–9.3.3, PS3.7 Annex D.3.3).
 *
 * Every item length is checked against its parent, so a hostile peer cannot make us read past
 * an item or allocate on its say-so.
 *
 * All integers are big-endian (PS3.8 §9.3.1). Item header: type (1 byte), reserved or
 * sub-item version (1 byte), item length (2 bytes, counts the bytes after the header).
 */
import { PduDecodeError } from '../errors.js';

/** Item types of the A-ASSOCIATE variable field and of the user information item. PS3.8 §9.3.2. */
export const ITEM_TYPE = {
  APPLICATION_CONTEXT: 0x10,
  PRESENTATION_CONTEXT_RQ: 0x20,
  PRESENTATION_CONTEXT_AC: 0x21,
  ABSTRACT_SYNTAX: 0x30,
  TRANSFER_SYNTAX: 0x40,
  USER_INFORMATION: 0x50,
  MAXIMUM_LENGTH: 0x51,
  IMPLEMENTATION_CLASS_UID: 0x52,
  ASYNCHRONOUS_OPERATIONS_WINDOW: 0x53,
  ROLE_SELECTION: 0x54,
  IMPLEMENTATION_VERSION_NAME: 0x55,
  SOP_CLASS_EXTENDED_NEGOTIATION: 0x56,
  SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: 0x57,
  USER_IDENTITY_RQ: 0x58,
  USER_IDENTITY_AC: 0x59,
} as const;

/**
 * Presentation context item of an A-ASSOCIATE-RQ. PS3.8 §9.3.2.2, Table 9-13.
 *
 * | offset | size | field                                         |
 * |--------|------|-----------------------------------------------|
 * | 0      | 1    | item type 0x20                                |
 * | 1      | 1    | reserved                                      |
 * | 2      | 2    | item length                                   |
 * | 4      | 1    | presentation context ID (odd, 1–255)          |
 * | 5      | 3    | reserved                                      |
 * | 8      | n    | one abstract syntax sub-item (0x30), then one or more transfer syntax sub-items (0x40) |
 */
export interface PresentationContextRqItem {
  pcId: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/**
 * Presentation context item of an A-ASSOCIATE-AC. PS3.8 §9.3.3.2, Table 9-18.
 *
 * | offset | size | field                                          |
 * |--------|------|------------------------------------------------|
 * | 0      | 1    | item type 0x21                                 |
 * | 1      | 1    | reserved                                       |
 * | 2      | 2    | item length                                    |
 * | 4      | 1    | presentation context ID                        |
 * | 5      | 1    | reserved                                       |
 * | 6      | 1    | result/reason (0 acceptance … 4 transfer syntaxes not supported) |
 * | 7      | 1    | reserved                                       |
 * | 8      | n    | one transfer syntax sub-item (0x40), not significant unless result is 0 |
 *
 * `transferSyntax` is '' when the peer left the sub-item out.
 */
export interface PresentationContextAcItem {
  pcId: number;
  result: number;
  transferSyntax: string;
}

/** SCP/SCU role selection sub-item. PS3.7 §D.3.3.4, Table D.3-9: UID length (2), UID, SCU role (1), SCP role (1). */
export interface RoleSelectionItem {
  sopClassUid: string;
  scuRole: number;
  scpRole: number;
}

/** Asynchronous operations window sub-item. PS3.7 §D.3.3.3, Table D.3-7: invoked (2), performed (2). */
export interface AsyncOpsWindowItem {
  maxOperationsInvoked: number;
  maxOperationsPerformed: number;
}

/** SOP class extended negotiation sub-item. PS3.7 §D.3.3.5, Table D.3-11: UID length (2), UID, application information. */
export interface SopClassExtendedItem {
  sopClassUid: string;
  serviceClassApplicationInformation: Buffer;
}

/**
 * SOP class common extended negotiation sub-item. PS3.7 §D.3.3.6, Table D.3-12: sub-item version
 * in header byte 1; SOP class UID length (2) + UID; service class UID length (2) + UID; related
 * general SOP class identification length (2) followed by (length (2) + UID) entries.
 */
export interface SopClassCommonExtendedItem {
  subItemVersion: number;
  sopClassUid: string;
  serviceClassUid: string;
  relatedGeneralSopClassUids: string[];
}

/**
 * User identity negotiation sub-item of an A-ASSOCIATE-RQ. PS3.7 §D.3.3.7.1, Table D.3-14:
 * user identity type (1), positive response requested (1), primary field length (2) + field,
 * secondary field length (2) + field. Parsed so a request carrying it decodes; never answered.
 */
export interface UserIdentityRqItem {
  userIdentityType: number;
  positiveResponseRequested: boolean;
  primaryField: Buffer;
  secondaryField: Buffer;
}

/** User identity sub-item of an A-ASSOCIATE-AC. PS3.7 §D.3.3.7.2, Table D.3-15: server response length (2) + response. */
export interface UserIdentityAcItem {
  serverResponse: Buffer;
}

/** A sub-item we do not know, kept raw (PS3.7 §D.3.3: unknown sub-items are ignored). */
export interface RawItem {
  itemType: number;
  data: Buffer;
}

/**
 * User information item (0x50) and its sub-items. PS3.8 §9.3.2.3 and Annex D; PS3.7 Annex D.3.3.
 * Maximum length sub-item (0x51): 4-byte maximum length of a P-DATA-TF variable field, 0 = no limit.
 */
export interface UserInformationItem {
  maxPduLength?: number;
  implementationClassUid?: string;
  asyncOpsWindow?: AsyncOpsWindowItem;
  roleSelections?: RoleSelectionItem[];
  implementationVersionName?: string;
  sopClassExtended?: SopClassExtendedItem[];
  sopClassCommonExtended?: SopClassCommonExtendedItem[];
  userIdentityRq?: UserIdentityRqItem;
  userIdentityAc?: UserIdentityAcItem;
  unknown?: RawItem[];
}

/** Decodes an ASCII UID or name field, dropping the trailing NUL/space padding peers add. */
export function decodeText(buf: Buffer, start: number, end: number): string {
  let stop = end;
  while (stop > start && (buf[stop - 1] === 0x00 || buf[stop - 1] === 0x20)) stop -= 1;
  let first = start;
  while (first < stop && buf[first] === 0x20) first += 1;
  return buf.toString('latin1', first, stop);
}

/**
 * Walks the items between `start` and `end`, calling `visit` with each item's type, header byte 1
 * and body range. Throws PduDecodeError if a header or a body overruns `end`. PS3.8 §9.3.1.
 */
export function forEachItem(
  buf: Buffer,
  start: number,
  end: number,
  where: string,
  visit: (itemType: number, headerByte1: number, bodyStart: number, bodyEnd: number) => void,
): void {
  let offset = start;
  while (offset < end) {
    if (end - offset < 4) {
      throw new PduDecodeError(`${where}: ${end - offset} trailing byte(s), too short for an item header`);
    }
    const itemType = buf[offset];
    const length = buf.readUInt16BE(offset + 2);
    const bodyStart = offset + 4;
    const bodyEnd = bodyStart + length;
    if (bodyEnd > end) {
      throw new PduDecodeError(
        `${where}: item 0x${itemType.toString(16)} declares ${length} bytes but only ${end - bodyStart} remain`,
      );
    }
    visit(itemType, buf[offset + 1], bodyStart, bodyEnd);
    offset = bodyEnd;
  }
}

function need(have: number, want: number, what: string): void {
  if (have < want) throw new PduDecodeError(`${what}: ${have} byte(s), needs at least ${want}`);
}

/** Reads a 2-byte length followed by that many bytes; returns the field range. */
function lengthPrefixed(buf: Buffer, offset: number, end: number, what: string): { start: number; end: number } {
  need(end - offset, 2, what);
  const length = buf.readUInt16BE(offset);
  const start = offset + 2;
  if (start + length > end) throw new PduDecodeError(`${what}: field of ${length} bytes overruns its item`);
  return { start, end: start + length };
}

/** Decodes the body of a presentation context RQ item (0x20). PS3.8 Table 9-13. */
export function decodePresentationContextRq(buf: Buffer, start: number, end: number): PresentationContextRqItem {
  need(end - start, 4, 'presentation context RQ item');
  const pcId = buf[start];
  if (pcId % 2 === 0) throw new PduDecodeError(`presentation context ID ${pcId} is not odd`);
  let abstractSyntax: string | undefined;
  const transferSyntaxes: string[] = [];
  forEachItem(buf, start + 4, end, `presentation context ${pcId}`, (type, _b1, s, e) => {
    if (type === ITEM_TYPE.ABSTRACT_SYNTAX) {
      if (abstractSyntax !== undefined) {
        throw new PduDecodeError(`presentation context ${pcId}: more than one abstract syntax`);
      }
      abstractSyntax = decodeText(buf, s, e);
    } else if (type === ITEM_TYPE.TRANSFER_SYNTAX) {
      transferSyntaxes.push(decodeText(buf, s, e));
    } else {
      throw new PduDecodeError(`presentation context ${pcId}: unexpected sub-item 0x${type.toString(16)}`);
    }
  });
  if (abstractSyntax === undefined) {
    throw new PduDecodeError(`presentation context ${pcId}: no abstract syntax sub-item`);
  }
  return { pcId, abstractSyntax, transferSyntaxes };
}

/** Decodes the body of a presentation context AC item (0x21). PS3.8 Table 9-18. */
export function decodePresentationContextAc(buf: Buffer, start: number, end: number): PresentationContextAcItem {
  need(end - start, 4, 'presentation context AC item');
  const pcId = buf[start];
  const result = buf[start + 2];
  let transferSyntax = '';
  forEachItem(buf, start + 4, end, `presentation context ${pcId}`, (type, _b1, s, e) => {
    if (type !== ITEM_TYPE.TRANSFER_SYNTAX) {
      throw new PduDecodeError(`presentation context ${pcId}: unexpected sub-item 0x${type.toString(16)}`);
    }
    transferSyntax = decodeText(buf, s, e);
  });
  return { pcId, result, transferSyntax };
}

function decodeSopClassCommonExtended(buf: Buffer, version: number, start: number, end: number): SopClassCommonExtendedItem {
  const what = 'SOP class common extended negotiation';
  const sop = lengthPrefixed(buf, start, end, what);
  const service = lengthPrefixed(buf, sop.end, end, what);
  const related = lengthPrefixed(buf, service.end, end, what);
  const relatedGeneralSopClassUids: string[] = [];
  let offset = related.start;
  while (offset < related.end) {
    const uid = lengthPrefixed(buf, offset, related.end, what);
    relatedGeneralSopClassUids.push(decodeText(buf, uid.start, uid.end));
    offset = uid.end;
  }
  return {
    subItemVersion: version,
    sopClassUid: decodeText(buf, sop.start, sop.end),
    serviceClassUid: decodeText(buf, service.start, service.end),
    relatedGeneralSopClassUids,
  };
}

/**
 * Decodes the body of a user information item (0x50). Unknown sub-items are kept raw; buffers
 * in the result are copies, so the PDU buffer can be released. PS3.8 Annex D, PS3.7 Annex D.3.3.
 */
export function decodeUserInformation(buf: Buffer, start: number, end: number): UserInformationItem {
  const info: UserInformationItem = {};
  forEachItem(buf, start, end, 'user information', (type, b1, s, e) => {
    switch (type) {
      case ITEM_TYPE.MAXIMUM_LENGTH:
        if (e - s !== 4) throw new PduDecodeError(`maximum length sub-item has ${e - s} bytes, not 4`);
        info.maxPduLength = buf.readUInt32BE(s);
        break;
      case ITEM_TYPE.IMPLEMENTATION_CLASS_UID:
        info.implementationClassUid = decodeText(buf, s, e);
        break;
      case ITEM_TYPE.ASYNCHRONOUS_OPERATIONS_WINDOW:
        if (e - s !== 4) throw new PduDecodeError(`asynchronous operations window has ${e - s} bytes, not 4`);
        info.asyncOpsWindow = { maxOperationsInvoked: buf.readUInt16BE(s), maxOperationsPerformed: buf.readUInt16BE(s + 2) };
        break;
      case ITEM_TYPE.ROLE_SELECTION: {
        const uid = lengthPrefixed(buf, s, e, 'role selection');
        if (e - uid.end !== 2) throw new PduDecodeError('role selection: SCU/SCP role bytes missing or extra');
        (info.roleSelections ??= []).push({
          sopClassUid: decodeText(buf, uid.start, uid.end),
          scuRole: buf[uid.end],
          scpRole: buf[uid.end + 1],
        });
        break;
      }
      case ITEM_TYPE.IMPLEMENTATION_VERSION_NAME:
        info.implementationVersionName = decodeText(buf, s, e);
        break;
      case ITEM_TYPE.SOP_CLASS_EXTENDED_NEGOTIATION: {
        const uid = lengthPrefixed(buf, s, e, 'SOP class extended negotiation');
        (info.sopClassExtended ??= []).push({
          sopClassUid: decodeText(buf, uid.start, uid.end),
          serviceClassApplicationInformation: Buffer.from(buf.subarray(uid.end, e)),
        });
        break;
      }
      case ITEM_TYPE.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION:
        (info.sopClassCommonExtended ??= []).push(decodeSopClassCommonExtended(buf, b1, s, e));
        break;
      case ITEM_TYPE.USER_IDENTITY_RQ: {
        need(e - s, 2, 'user identity');
        const primary = lengthPrefixed(buf, s + 2, e, 'user identity primary field');
        const secondary = lengthPrefixed(buf, primary.end, e, 'user identity secondary field');
        info.userIdentityRq = {
          userIdentityType: buf[s],
          positiveResponseRequested: buf[s + 1] === 1,
          primaryField: Buffer.from(buf.subarray(primary.start, primary.end)),
          secondaryField: Buffer.from(buf.subarray(secondary.start, secondary.end)),
        };
        break;
      }
      case ITEM_TYPE.USER_IDENTITY_AC: {
        const response = lengthPrefixed(buf, s, e, 'user identity server response');
        info.userIdentityAc = { serverResponse: Buffer.from(buf.subarray(response.start, response.end)) };
        break;
      }
      default:
        (info.unknown ??= []).push({ itemType: type, data: Buffer.from(buf.subarray(s, e)) });
    }
  });
  return info;
}

// ---------------------------------------------------------------------------------------------
// Encoding. Association PDUs are small and rare, so items are built as separate buffers and
// joined once per PDU; only P-DATA-TF is on the hot path (see pdu-writer.ts).

/** Builds one item: header (type, byte 1, 2-byte length) followed by the parts. */
export function encodeItem(itemType: number, parts: readonly Buffer[], headerByte1 = 0): Buffer {
  const length = parts.reduce((n, p) => n + p.length, 0);
  if (length > 0xffff) throw new RangeError(`item 0x${itemType.toString(16)} would be ${length} bytes, over 65535`);
  const header = Buffer.allocUnsafe(4);
  header[0] = itemType;
  header[1] = headerByte1;
  header.writeUInt16BE(length, 2);
  return Buffer.concat([header, ...parts]);
}

function text(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

function u16(value: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(value, 0);
  return b;
}

function withLength(value: Buffer): Buffer[] {
  return [u16(value.length), value];
}

/** Encodes an application context item (0x10). PS3.8 §9.3.2.1, Table 9-12. */
export function encodeApplicationContext(name: string): Buffer {
  return encodeItem(ITEM_TYPE.APPLICATION_CONTEXT, [text(name)]);
}

/** Encodes a presentation context RQ item (0x20). PS3.8 Table 9-13. */
export function encodePresentationContextRq(pc: PresentationContextRqItem): Buffer {
  return encodeItem(ITEM_TYPE.PRESENTATION_CONTEXT_RQ, [
    Buffer.from([pc.pcId, 0, 0, 0]),
    encodeItem(ITEM_TYPE.ABSTRACT_SYNTAX, [text(pc.abstractSyntax)]),
    ...pc.transferSyntaxes.map((ts) => encodeItem(ITEM_TYPE.TRANSFER_SYNTAX, [text(ts)])),
  ]);
}

/** Encodes a presentation context AC item (0x21), always with its transfer syntax sub-item. PS3.8 Table 9-18. */
export function encodePresentationContextAc(pc: PresentationContextAcItem): Buffer {
  return encodeItem(ITEM_TYPE.PRESENTATION_CONTEXT_AC, [
    Buffer.from([pc.pcId, 0, pc.result, 0]),
    encodeItem(ITEM_TYPE.TRANSFER_SYNTAX, [text(pc.transferSyntax)]),
  ]);
}

/**
 * Encodes a user information item (0x50) with its sub-items in the order PS3.7 Annex D.3.3 lists
 * them (0x51 … 0x59), then any raw unknown sub-items.
 */
export function encodeUserInformation(info: UserInformationItem): Buffer {
  const subs: Buffer[] = [];
  if (info.maxPduLength !== undefined) {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(info.maxPduLength, 0);
    subs.push(encodeItem(ITEM_TYPE.MAXIMUM_LENGTH, [b]));
  }
  if (info.implementationClassUid !== undefined) {
    subs.push(encodeItem(ITEM_TYPE.IMPLEMENTATION_CLASS_UID, [text(info.implementationClassUid)]));
  }
  if (info.asyncOpsWindow !== undefined) {
    subs.push(encodeItem(ITEM_TYPE.ASYNCHRONOUS_OPERATIONS_WINDOW, [
      u16(info.asyncOpsWindow.maxOperationsInvoked),
      u16(info.asyncOpsWindow.maxOperationsPerformed),
    ]));
  }
  for (const role of info.roleSelections ?? []) {
    subs.push(encodeItem(ITEM_TYPE.ROLE_SELECTION, [
      ...withLength(text(role.sopClassUid)),
      Buffer.from([role.scuRole, role.scpRole]),
    ]));
  }
  if (info.implementationVersionName !== undefined) {
    subs.push(encodeItem(ITEM_TYPE.IMPLEMENTATION_VERSION_NAME, [text(info.implementationVersionName)]));
  }
  for (const ext of info.sopClassExtended ?? []) {
    subs.push(encodeItem(ITEM_TYPE.SOP_CLASS_EXTENDED_NEGOTIATION, [
      ...withLength(text(ext.sopClassUid)),
      ext.serviceClassApplicationInformation,
    ]));
  }
  for (const ext of info.sopClassCommonExtended ?? []) {
    const related = ext.relatedGeneralSopClassUids.flatMap((uid) => withLength(text(uid)));
    subs.push(encodeItem(ITEM_TYPE.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION, [
      ...withLength(text(ext.sopClassUid)),
      ...withLength(text(ext.serviceClassUid)),
      ...withLength(Buffer.concat(related)),
    ], ext.subItemVersion));
  }
  if (info.userIdentityRq !== undefined) {
    const id = info.userIdentityRq;
    subs.push(encodeItem(ITEM_TYPE.USER_IDENTITY_RQ, [
      Buffer.from([id.userIdentityType, id.positiveResponseRequested ? 1 : 0]),
      ...withLength(id.primaryField),
      ...withLength(id.secondaryField),
    ]));
  }
  if (info.userIdentityAc !== undefined) {
    subs.push(encodeItem(ITEM_TYPE.USER_IDENTITY_AC, withLength(info.userIdentityAc.serverResponse)));
  }
  for (const raw of info.unknown ?? []) subs.push(encodeItem(raw.itemType, [raw.data]));
  return encodeItem(ITEM_TYPE.USER_INFORMATION, subs);
}
