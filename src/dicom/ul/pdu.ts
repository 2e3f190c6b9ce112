/**
 * The seven PS3.8 upper-layer PDUs: types, decoders and encoders (PS3.8 §9.3).
 *
 * P-DATA-TF decodes into views of the PDU buffer, so dataset bytes are never copied on the way
 * to disk, and every length field is checked against its parent before it is trusted.
 *
 * Every PDU starts with the same 6-byte header (PS3.8 §9.3.1): PDU type (1), reserved (1),
 * PDU length (4, big-endian, counts the bytes after the header). The decoders below take the
 * body (the bytes after that header); pdu-reader.ts handles the header.
 */
import { PduDecodeError } from '../errors.js';
import type { Pdv } from './primitives.js';
import {
  ITEM_TYPE,
  decodePresentationContextAc,
  decodePresentationContextRq,
  decodeText,
  decodeUserInformation,
  encodeApplicationContext,
  encodePresentationContextAc,
  encodePresentationContextRq,
  encodeUserInformation,
  forEachItem,
} from './pdu-items.js';
import type { PresentationContextAcItem, PresentationContextRqItem, UserInformationItem } from './pdu-items.js';

/** PDU type codes. PS3.8 §9.3.1, Table 9-11 and following. */
export const PDU_TYPE = {
  'A-ASSOCIATE-RQ': 0x01,
  'A-ASSOCIATE-AC': 0x02,
  'A-ASSOCIATE-RJ': 0x03,
  'P-DATA-TF': 0x04,
  'A-RELEASE-RQ': 0x05,
  'A-RELEASE-RP': 0x06,
  'A-ABORT': 0x07,
} as const;

/** PDU names as the state machine spells them. */
export type PduName = keyof typeof PDU_TYPE;

/** Size of the common PDU header (type, reserved, 4-byte length). PS3.8 §9.3.1. */
export const PDU_HEADER_LENGTH = 6;

/** Fixed part of an A-ASSOCIATE-RQ/AC body before the variable items (PS3.8 Table 9-11 offsets 7–74). */
export const ASSOCIATE_FIXED_LENGTH = 68;

/** The DICOM application context name. PS3.7 Annex A.2.1. */
export const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

/**
 * A-ASSOCIATE-RQ PDU. PS3.8 §9.3.2, Table 9-11.
 *
 * | offset | size | field                                     |
 * |--------|------|-------------------------------------------|
 * | 0      | 1    | PDU type 0x01                             |
 * | 1      | 1    | reserved                                  |
 * | 2      | 4    | PDU length                                |
 * | 6      | 2    | protocol version (bit 0 = version 1)      |
 * | 8      | 2    | reserved                                  |
 * | 10     | 16   | called AE title, space padded             |
 * | 26     | 16   | calling AE title, space padded            |
 * | 42     | 32   | reserved                                  |
 * | 74     | n    | application context item (0x10), presentation context items (0x20), user information item (0x50) |
 *
 * AE titles are trimmed of padding spaces on decode.
 */
export interface AAssociateRqPdu {
  type: 'A-ASSOCIATE-RQ';
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContextName: string;
  presentationContexts: PresentationContextRqItem[];
  userInformation: UserInformationItem;
}

/**
 * A-ASSOCIATE-AC PDU. PS3.8 §9.3.3, Table 9-17. Same layout as the RQ (called/calling AE titles
 * at 10 and 26 are echoed, not tested), with presentation context AC items (0x21).
 */
export interface AAssociateAcPdu {
  type: 'A-ASSOCIATE-AC';
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContextName: string;
  presentationContexts: PresentationContextAcItem[];
  userInformation: UserInformationItem;
}

/**
 * A-ASSOCIATE-RJ PDU. PS3.8 §9.3.4, Table 9-21.
 *
 * | offset | size | field                                  |
 * |--------|------|----------------------------------------|
 * | 0      | 1    | PDU type 0x03                          |
 * | 1      | 1    | reserved                               |
 * | 2      | 4    | PDU length = 4                         |
 * | 6      | 1    | reserved                               |
 * | 7      | 1    | result (1 permanent, 2 transient)      |
 * | 8      | 1    | source (1 user, 2 provider ACSE, 3 provider presentation) |
 * | 9      | 1    | reason/diagnostic                      |
 */
export interface AAssociateRjPdu {
  type: 'A-ASSOCIATE-RJ';
  result: number;
  source: number;
  reason: number;
}

/**
 * P-DATA-TF PDU. PS3.8 §9.3.5, Table 9-22, and the PDV item, Table 9-23 / Annex E.2.
 *
 * | offset | size | field                                     |
 * |--------|------|-------------------------------------------|
 * | 0      | 1    | PDU type 0x04                             |
 * | 1      | 1    | reserved                                  |
 * | 2      | 4    | PDU length                                |
 * | 6      | n    | one or more PDV items:                    |
 * |   +0   | 4    |   item length (counts pcId + header + data, ≥ 2) |
 * |   +4   | 1    |   presentation context ID (odd)           |
 * |   +5   | 1    |   message control header: bit 0 command, bit 1 last fragment |
 * |   +6   | n-2  |   fragment                                |
 *
 * Decoded PDV `data` are views into the PDU buffer (no copy).
 */
export interface PDataTfPdu {
  type: 'P-DATA-TF';
  pdvs: Pdv[];
}

/** A-RELEASE-RQ PDU: header, PDU length 4, 4 reserved bytes. PS3.8 §9.3.6, Table 9-24. */
export interface AReleaseRqPdu {
  type: 'A-RELEASE-RQ';
}

/** A-RELEASE-RP PDU: header, PDU length 4, 4 reserved bytes. PS3.8 §9.3.7, Table 9-25. */
export interface AReleaseRpPdu {
  type: 'A-RELEASE-RP';
}

/**
 * A-ABORT PDU. PS3.8 §9.3.8, Table 9-26.
 *
 * | offset | size | field                                              |
 * |--------|------|----------------------------------------------------|
 * | 0      | 1    | PDU type 0x07                                      |
 * | 1      | 1    | reserved                                           |
 * | 2      | 4    | PDU length = 4                                     |
 * | 6      | 2    | reserved                                           |
 * | 8      | 1    | source (0 service user, 2 service provider)        |
 * | 9      | 1    | reason/diagnostic (significant only when source is 2) |
 */
export interface AAbortPdu {
  type: 'A-ABORT';
  source: number;
  reason: number;
}

/** Any upper-layer PDU. */
export type Pdu = AAssociateRqPdu | AAssociateAcPdu | AAssociateRjPdu | PDataTfPdu | AReleaseRqPdu | AReleaseRpPdu | AAbortPdu;

const NAME_BY_TYPE: ReadonlyMap<number, PduName> = new Map(
  Object.entries(PDU_TYPE).map(([name, code]) => [code, name as PduName]),
);

/** The PDU name for a type byte, or undefined for an unrecognised type (Evt19). PS3.8 §9.3.1. */
export function pduName(type: number): PduName | undefined {
  return NAME_BY_TYPE.get(type);
}

function decodeAssociate(type: 'A-ASSOCIATE-RQ' | 'A-ASSOCIATE-AC', body: Buffer): AAssociateRqPdu | AAssociateAcPdu {
  if (body.length < ASSOCIATE_FIXED_LENGTH) {
    throw new PduDecodeError(`${type}: ${body.length} byte(s), the fixed part alone is ${ASSOCIATE_FIXED_LENGTH}`);
  }
  const rq = type === 'A-ASSOCIATE-RQ';
  let applicationContextName: string | undefined;
  const rqContexts: PresentationContextRqItem[] = [];
  const acContexts: PresentationContextAcItem[] = [];
  let userInformation: UserInformationItem | undefined;
  forEachItem(body, ASSOCIATE_FIXED_LENGTH, body.length, type, (itemType, _b1, s, e) => {
    if (itemType === ITEM_TYPE.APPLICATION_CONTEXT) {
      applicationContextName = decodeText(body, s, e);
    } else if (rq && itemType === ITEM_TYPE.PRESENTATION_CONTEXT_RQ) {
      rqContexts.push(decodePresentationContextRq(body, s, e));
    } else if (!rq && itemType === ITEM_TYPE.PRESENTATION_CONTEXT_AC) {
      acContexts.push(decodePresentationContextAc(body, s, e));
    } else if (itemType === ITEM_TYPE.USER_INFORMATION) {
      userInformation = decodeUserInformation(body, s, e);
    } else {
      throw new PduDecodeError(`${type}: unexpected item 0x${itemType.toString(16)}`);
    }
  });
  if (applicationContextName === undefined) throw new PduDecodeError(`${type}: no application context item`);
  const common = {
    protocolVersion: body.readUInt16BE(0),
    calledAeTitle: decodeText(body, 4, 20),
    callingAeTitle: decodeText(body, 20, 36),
    applicationContextName,
    userInformation: userInformation ?? {},
  };
  return rq
    ? { type: 'A-ASSOCIATE-RQ', ...common, presentationContexts: rqContexts }
    : { type: 'A-ASSOCIATE-AC', ...common, presentationContexts: acContexts };
}

/** Size of a PDV item header: item length (4), presentation context ID (1), control header (1). */
export const PDV_HEADER_LENGTH = 6;

/**
 * Checks one PDV item header against the P-DATA-TF bytes left from its start (`remaining`,
 * header included): the fault's text, or null. Shared by the whole-body decoder below and the
 * streaming reader (pdu-reader.ts). PS3.8 §9.3.5.1, Annex E.2.
 */
export function pdvHeaderFault(remaining: number, length: number, pcId: number): string | null {
  if (remaining < PDV_HEADER_LENGTH) return `P-DATA-TF: ${remaining} trailing byte(s), too short for a PDV`;
  if (length < 2) return `P-DATA-TF: PDV item length ${length} is below 2`;
  if (4 + length > remaining) return `P-DATA-TF: PDV item of ${length} bytes overruns the PDU`;
  if (pcId % 2 === 0) return `P-DATA-TF: presentation context ID ${pcId} is not odd`;
  return null;
}

/**
 * Decodes the PDV items of a P-DATA-TF body into views of `body`. Each item length must be ≥ 2
 * and fit exactly; presentation context IDs must be odd. PS3.8 §9.3.5, Annex E.2.
 */
export function decodePDataTf(body: Buffer): PDataTfPdu {
  const pdvs: Pdv[] = [];
  let offset = 0;
  while (offset < body.length) {
    const remaining = body.length - offset;
    const length = remaining >= PDV_HEADER_LENGTH ? body.readUInt32BE(offset) : 0;
    const pcId = body[offset + 4] ?? 0;
    const fault = pdvHeaderFault(remaining, length, pcId);
    if (fault !== null) throw new PduDecodeError(fault);
    const end = offset + 4 + length;
    const control = body[offset + 5]!;
    pdvs.push({ pcId, isCommand: (control & 1) === 1, isLast: (control & 2) === 2, data: body.subarray(offset + 6, end) });
    offset = end;
  }
  if (pdvs.length === 0) throw new PduDecodeError('P-DATA-TF: no PDV item');
  return { type: 'P-DATA-TF', pdvs };
}

function expectFour(name: PduName, body: Buffer): void {
  if (body.length !== 4) throw new PduDecodeError(`${name}: PDU length ${body.length}, must be 4`);
}

/**
 * Decodes a PDU body (the bytes after the 6-byte header) of the given type. Throws
 * PduDecodeError on any malformed field. PS3.8 §9.3.
 */
export function decodePdu(name: PduName, body: Buffer): Pdu {
  switch (name) {
    case 'A-ASSOCIATE-RQ':
    case 'A-ASSOCIATE-AC':
      return decodeAssociate(name, body);
    case 'A-ASSOCIATE-RJ':
      expectFour(name, body);
      return { type: name, result: body[1], source: body[2], reason: body[3] };
    case 'P-DATA-TF':
      return decodePDataTf(body);
    case 'A-RELEASE-RQ':
    case 'A-RELEASE-RP':
      expectFour(name, body);
      return { type: name };
    case 'A-ABORT':
      expectFour(name, body);
      return { type: name, source: body[2], reason: body[3] };
  }
}

/** Writes the common 6-byte PDU header. PS3.8 §9.3.1. */
export function encodePduHeader(name: PduName, bodyLength: number): Buffer {
  const header = Buffer.allocUnsafe(PDU_HEADER_LENGTH);
  header[0] = PDU_TYPE[name];
  header[1] = 0;
  header.writeUInt32BE(bodyLength, 2);
  return header;
}

/** Pads or cuts an AE title to its 16-byte field. PS3.8 Table 9-11. */
function aeField(aet: string): Buffer {
  const field = Buffer.alloc(16, 0x20);
  field.write(aet.slice(0, 16), 0, 'latin1');
  return field;
}

function encodeAssociate(pdu: AAssociateRqPdu | AAssociateAcPdu): Buffer {
  const fixed = Buffer.alloc(ASSOCIATE_FIXED_LENGTH);
  fixed.writeUInt16BE(pdu.protocolVersion, 0);
  aeField(pdu.calledAeTitle).copy(fixed, 4);
  aeField(pdu.callingAeTitle).copy(fixed, 20);
  const contexts = pdu.type === 'A-ASSOCIATE-RQ'
    ? pdu.presentationContexts.map(encodePresentationContextRq)
    : pdu.presentationContexts.map(encodePresentationContextAc);
  const parts = [
    fixed,
    encodeApplicationContext(pdu.applicationContextName),
    ...contexts,
    encodeUserInformation(pdu.userInformation),
  ];
  const bodyLength = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([encodePduHeader(pdu.type, bodyLength), ...parts]);
}

/** The 6-byte PDV item header: item length, pcId, message control header. PS3.8 Table 9-23, Annex E.2. */
export function encodePdvHeader(pdv: Pdv): Buffer {
  const header = Buffer.allocUnsafe(6);
  header.writeUInt32BE(pdv.data.length + 2, 0);
  header[4] = pdv.pcId;
  header[5] = (pdv.isCommand ? 1 : 0) | (pdv.isLast ? 2 : 0);
  return header;
}

/** Length of the P-DATA-TF variable field for these PDVs (what the peer's maximum length bounds). */
export function pDataTfBodyLength(pdvs: readonly Pdv[]): number {
  return pdvs.reduce((n, pdv) => n + 6 + pdv.data.length, 0);
}

/**
 * Encodes a whole PDU into one buffer. Used for the small PDUs and by tests; the writer sends
 * P-DATA-TF in parts instead, without joining payloads (pdu-writer.ts). PS3.8 §9.3.
 */
export function encodePdu(pdu: Pdu): Buffer {
  switch (pdu.type) {
    case 'A-ASSOCIATE-RQ':
    case 'A-ASSOCIATE-AC':
      return encodeAssociate(pdu);
    case 'A-ASSOCIATE-RJ':
      return Buffer.concat([encodePduHeader(pdu.type, 4), Buffer.from([0, pdu.result, pdu.source, pdu.reason])]);
    case 'P-DATA-TF':
      return Buffer.concat([
        encodePduHeader(pdu.type, pDataTfBodyLength(pdu.pdvs)),
        ...pdu.pdvs.flatMap((pdv) => [encodePdvHeader(pdv), pdv.data]),
      ]);
    case 'A-RELEASE-RQ':
    case 'A-RELEASE-RP':
      return Buffer.concat([encodePduHeader(pdu.type, 4), Buffer.alloc(4)]);
    case 'A-ABORT':
      return Buffer.concat([encodePduHeader(pdu.type, 4), Buffer.from([0, 0, pdu.source, pdu.reason])]);
  }
}

// Re-exported so users of PDUs need one import.
export type { PresentationContextAcItem, PresentationContextRqItem, UserInformationItem };
