/**
 * Typed DIMSE-C messages on top of the command set codec: C-ECHO and C-STORE requests and
 * responses, plus the generic response used to refuse an unsupported request.
 * PS3.7 §9.3.1 (C-STORE), §9.3.5 (C-ECHO), Annex E.
 *
 * These are thin, typed views of a command set.
 */
import { DimseProtocolError } from '../errors.js';
import { type CommandSet, DATASET_PRESENT, NO_DATASET } from './command.js';
import { statusCategory } from './status.js';

/** CommandField values (PS3.7 Table E.1-1 and §9.3, §10.3). */
export const COMMAND_FIELD = {
  C_STORE_RQ: 0x0001,
  C_STORE_RSP: 0x8001,
  C_GET_RQ: 0x0010,
  C_GET_RSP: 0x8010,
  C_FIND_RQ: 0x0020,
  C_FIND_RSP: 0x8020,
  C_MOVE_RQ: 0x0021,
  C_MOVE_RSP: 0x8021,
  C_ECHO_RQ: 0x0030,
  C_ECHO_RSP: 0x8030,
  N_EVENT_REPORT_RQ: 0x0100,
  N_EVENT_REPORT_RSP: 0x8100,
  N_GET_RQ: 0x0110,
  N_GET_RSP: 0x8110,
  N_SET_RQ: 0x0120,
  N_SET_RSP: 0x8120,
  N_ACTION_RQ: 0x0130,
  N_ACTION_RSP: 0x8130,
  N_CREATE_RQ: 0x0140,
  N_CREATE_RSP: 0x8140,
  N_DELETE_RQ: 0x0150,
  N_DELETE_RSP: 0x8150,
  C_CANCEL_RQ: 0x0fff,
} as const;

/** Priority values of C-STORE and friends (PS3.7 §9.3.1.1, Table E.1-1). */
export const PRIORITY = { MEDIUM: 0x0000, HIGH: 0x0001, LOW: 0x0002 } as const;

/** Bit 15 of CommandField marks a response (PS3.7 Table E.1-1). */
export const RESPONSE_BIT = 0x8000;

/** Largest ErrorComment we send: LO holds at most 64 characters (PS3.5 Table 6.2-1). */
export const MAX_ERROR_COMMENT_LENGTH = 64;

/** Readable name of a command field for logs, e.g. `C-STORE-RQ` or `0x1234`. */
export function commandName(field: number | undefined): string {
  if (field === undefined) return '(no CommandField)';
  for (const [name, value] of Object.entries(COMMAND_FIELD)) {
    if (value === field) return name.replace(/_/g, '-');
  }
  return `0x${field.toString(16).padStart(4, '0')}`;
}

/** Whether a command set announces a data set (PS3.7 Table E.1-1, CommandDataSetType). */
export function hasDataset(cmd: CommandSet): boolean {
  return cmd.CommandDataSetType !== undefined && cmd.CommandDataSetType !== NO_DATASET;
}

/** C-ECHO-RQ (PS3.7 §9.3.5.1, Table 9.3-12). */
export interface CEchoRq {
  MessageID: number;
  AffectedSOPClassUID: string;
}

/** C-ECHO-RSP (PS3.7 §9.3.5.2, Table 9.3-13). */
export interface CEchoRsp {
  MessageIDBeingRespondedTo: number;
  AffectedSOPClassUID?: string;
  Status: number;
}

/** C-STORE-RQ (PS3.7 §9.3.1.1, Table 9.3-1). */
export interface CStoreRq {
  MessageID: number;
  AffectedSOPClassUID: string;
  AffectedSOPInstanceUID: string;
  Priority: number;
  MoveOriginatorApplicationEntityTitle?: string;
  MoveOriginatorMessageID?: number;
}

/** C-STORE-RSP (PS3.7 §9.3.1.2, Table 9.3-2). */
export interface CStoreRsp {
  MessageIDBeingRespondedTo: number;
  AffectedSOPClassUID?: string;
  AffectedSOPInstanceUID?: string;
  Status: number;
  ErrorComment?: string;
  OffendingElement?: number[];
}

/** Cuts an error comment to what LO can hold. */
function clipComment(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length > MAX_ERROR_COMMENT_LENGTH ? text.slice(0, MAX_ERROR_COMMENT_LENGTH) : text;
}

function required<T>(cmd: CommandSet, key: keyof CommandSet, what: string): T {
  const value = cmd[key];
  if (value === undefined || value === '') {
    throw new DimseProtocolError(`${what} lacks ${key}`);
  }
  return value as T;
}

/** Builds the command set of a C-ECHO-RQ (PS3.7 Table 9.3-12). */
export function buildEchoRq(rq: CEchoRq): CommandSet {
  return {
    AffectedSOPClassUID: rq.AffectedSOPClassUID,
    CommandField: COMMAND_FIELD.C_ECHO_RQ,
    MessageID: rq.MessageID,
    CommandDataSetType: NO_DATASET,
  };
}

/** Builds the command set of a C-ECHO-RSP (PS3.7 Table 9.3-13). */
export function buildEchoRsp(rsp: CEchoRsp): CommandSet {
  return {
    AffectedSOPClassUID: rsp.AffectedSOPClassUID,
    CommandField: COMMAND_FIELD.C_ECHO_RSP,
    MessageIDBeingRespondedTo: rsp.MessageIDBeingRespondedTo,
    CommandDataSetType: NO_DATASET,
    Status: rsp.Status,
  };
}

/** Builds the command set of a C-STORE-RQ; a data set always follows (PS3.7 Table 9.3-1). */
export function buildStoreRq(rq: CStoreRq): CommandSet {
  return {
    AffectedSOPClassUID: rq.AffectedSOPClassUID,
    CommandField: COMMAND_FIELD.C_STORE_RQ,
    MessageID: rq.MessageID,
    Priority: rq.Priority,
    CommandDataSetType: DATASET_PRESENT,
    AffectedSOPInstanceUID: rq.AffectedSOPInstanceUID,
    MoveOriginatorApplicationEntityTitle: rq.MoveOriginatorApplicationEntityTitle,
    MoveOriginatorMessageID: rq.MoveOriginatorMessageID,
  };
}

/**
 * Builds the command set of a C-STORE-RSP. ErrorComment is sent only with a failure or
 * warning status and cut to 64 characters (PS3.7 Table 9.3-2, §C.4).
 */
export function buildStoreRsp(rsp: CStoreRsp): CommandSet {
  const ok = statusCategory(rsp.Status) === 'success';
  return {
    AffectedSOPClassUID: rsp.AffectedSOPClassUID,
    CommandField: COMMAND_FIELD.C_STORE_RSP,
    MessageIDBeingRespondedTo: rsp.MessageIDBeingRespondedTo,
    CommandDataSetType: NO_DATASET,
    Status: rsp.Status,
    OffendingElement: ok ? undefined : rsp.OffendingElement,
    ErrorComment: ok ? undefined : clipComment(rsp.ErrorComment),
    AffectedSOPInstanceUID: rsp.AffectedSOPInstanceUID,
  };
}

/**
 * Builds the response to any request this side cannot serve (typically with status 0x0211
 * unrecognized operation): the request's CommandField with the response bit set.
 * PS3.7 §9.1.4 (response semantics), §C.5.26.
 */
export function buildFailureRsp(rq: CommandSet, status: number, errorComment?: string): CommandSet {
  return {
    AffectedSOPClassUID: rq.AffectedSOPClassUID ?? rq.RequestedSOPClassUID,
    CommandField: ((rq.CommandField ?? 0) | RESPONSE_BIT) & 0xffff,
    MessageIDBeingRespondedTo: rq.MessageID,
    CommandDataSetType: NO_DATASET,
    Status: status,
    ErrorComment: clipComment(errorComment),
    AffectedSOPInstanceUID: rq.AffectedSOPInstanceUID ?? rq.RequestedSOPInstanceUID,
  };
}

/** Reads a C-ECHO-RQ; throws DimseProtocolError if a mandatory field is missing. */
export function parseEchoRq(cmd: CommandSet): CEchoRq {
  return {
    MessageID: required<number>(cmd, 'MessageID', 'C-ECHO-RQ'),
    AffectedSOPClassUID: required<string>(cmd, 'AffectedSOPClassUID', 'C-ECHO-RQ'),
  };
}

/** Reads a C-ECHO-RSP; throws DimseProtocolError if a mandatory field is missing. */
export function parseEchoRsp(cmd: CommandSet): CEchoRsp {
  return {
    MessageIDBeingRespondedTo: required<number>(cmd, 'MessageIDBeingRespondedTo', 'C-ECHO-RSP'),
    AffectedSOPClassUID: cmd.AffectedSOPClassUID,
    Status: required<number>(cmd, 'Status', 'C-ECHO-RSP'),
  };
}

/**
 * Reads a C-STORE-RQ; throws DimseProtocolError if a mandatory field is missing. A missing
 * Priority reads as MEDIUM, as the field has no other meaning for storage.
 */
export function parseStoreRq(cmd: CommandSet): CStoreRq {
  const rq: CStoreRq = {
    MessageID: required<number>(cmd, 'MessageID', 'C-STORE-RQ'),
    AffectedSOPClassUID: required<string>(cmd, 'AffectedSOPClassUID', 'C-STORE-RQ'),
    AffectedSOPInstanceUID: required<string>(cmd, 'AffectedSOPInstanceUID', 'C-STORE-RQ'),
    Priority: cmd.Priority ?? PRIORITY.MEDIUM,
  };
  if (cmd.MoveOriginatorApplicationEntityTitle !== undefined && cmd.MoveOriginatorApplicationEntityTitle !== '') {
    rq.MoveOriginatorApplicationEntityTitle = cmd.MoveOriginatorApplicationEntityTitle;
  }
  if (cmd.MoveOriginatorMessageID !== undefined) rq.MoveOriginatorMessageID = cmd.MoveOriginatorMessageID;
  return rq;
}

/** Reads a C-STORE-RSP; throws DimseProtocolError if a mandatory field is missing. */
export function parseStoreRsp(cmd: CommandSet): CStoreRsp {
  const rsp: CStoreRsp = {
    MessageIDBeingRespondedTo: required<number>(cmd, 'MessageIDBeingRespondedTo', 'C-STORE-RSP'),
    Status: required<number>(cmd, 'Status', 'C-STORE-RSP'),
  };
  if (cmd.AffectedSOPClassUID !== undefined) rsp.AffectedSOPClassUID = cmd.AffectedSOPClassUID;
  if (cmd.AffectedSOPInstanceUID !== undefined) rsp.AffectedSOPInstanceUID = cmd.AffectedSOPInstanceUID;
  if (cmd.ErrorComment !== undefined) rsp.ErrorComment = cmd.ErrorComment;
  if (cmd.OffendingElement !== undefined) rsp.OffendingElement = cmd.OffendingElement;
  return rsp;
}
