/**
 * SCU side of C-STORE: sends the request, streams the data set with backpressure and awaits
 * the response. PS3.7 §9.1.1 (C-STORE service), §9.3.1 (messages), PS3.4 Annex B.
 *
 * The bytes sent are exactly the bytes read, pulled one PDU at a time.
 */
import type { PDataChannel } from '../ul/primitives.js';
import { encodeCommand } from './command.js';
import type { DimseServiceUser } from './service-user.js';
import { sendCommand, sendDataset } from './fragmenter.js';
import { COMMAND_FIELD, PRIORITY, buildStoreRq, parseStoreRsp } from './messages.js';

/** What to store and how long to wait for the answer. */
export interface CStoreOptions {
  sopClassUid: string;
  sopInstanceUid: string;
  /**
   * The data set bytes in the context's transfer syntax (no preamble, no file meta group):
   * one Buffer already in memory (sent as PDU-sized views, no copy), or a stream of chunks.
   */
  dataset: Buffer | AsyncIterable<Buffer>;
  /** Time allowed for the response once the last fragment was sent. */
  timeoutMs: number;
  /** Set when this store is a C-MOVE sub-operation (PS3.7 Table 9.3-1). */
  moveOriginator?: { aeTitle: string; messageId: number };
  /** Default MEDIUM. */
  priority?: number;
}

/** The peer's answer; a failure status is returned, not thrown, so the caller can log it. */
export interface CStoreResult {
  status: number;
  errorComment?: string;
}

/**
 * Sends one instance by C-STORE on presentation context `pcId` (whose abstract syntax must be
 * `sopClassUid` and whose transfer syntax is that of `dataset`). Rejects with
 * DicomTimeoutError (timer 'dimse') when no response arrives in time, with an
 * ERR_DICOM_ASSOCIATION_CLOSED DicomError when the association ends first, and with the
 * source's error when reading the data set fails (the association should then be aborted: a
 * half-sent message cannot be taken back). PS3.7 §9.3.1.
 */
export async function cStore(
  user: DimseServiceUser,
  channel: PDataChannel,
  pcId: number,
  options: CStoreOptions,
): Promise<CStoreResult> {
  if (user.channel !== channel) throw new TypeError('the DimseServiceUser belongs to another association');
  const messageId = user.nextMessageId();
  const command = buildStoreRq({
    MessageID: messageId,
    AffectedSOPClassUID: options.sopClassUid,
    AffectedSOPInstanceUID: options.sopInstanceUid,
    Priority: options.priority ?? PRIORITY.MEDIUM,
    MoveOriginatorApplicationEntityTitle: options.moveOriginator?.aeTitle,
    MoveOriginatorMessageID: options.moveOriginator?.messageId,
  });
  const wait = user.expectResponse(messageId, COMMAND_FIELD.C_STORE_RQ);
  try {
    await sendCommand(channel, pcId, encodeCommand(command));
    await sendDataset(channel, pcId, options.dataset);
  } catch (err) {
    wait.cancel();
    throw err;
  }
  wait.arm(options.timeoutMs);
  const rsp = parseStoreRsp(await wait.response);
  const result: CStoreResult = { status: rsp.Status };
  if (rsp.ErrorComment !== undefined && rsp.ErrorComment !== '') result.errorComment = rsp.ErrorComment;
  return result;
}
