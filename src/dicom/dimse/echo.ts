/**
 * C-ECHO on both sides: the SCP's answer and the SCU's request. PS3.7 §9.1.5 (C-ECHO), §9.3.5,
 * PS3.4 Annex A (Verification).
 */
import type { PDataChannel } from '../ul/primitives.js';
import { encodeCommand } from './command.js';
import { sendCommand } from './fragmenter.js';
import { COMMAND_FIELD, buildEchoRq, buildEchoRsp, type CEchoRq } from './messages.js';
import type { DimseLogger } from './service.js';
import { DimseServiceUser } from './service-user.js';
import { STATUS_PROCESSING_FAILURE, STATUS_SUCCESS, describeStatus } from './status.js';
import { VERIFICATION_SOP_CLASS } from './sop-classes.js';

/** Re-exported for existing importers: the service user lives in service-user.ts, the code in errors.ts. */

/** The DIMSE status carried by an error thrown from a handler, or 0x0110 processing failure. */
export function statusOfError(err: unknown): number {
  const status = (err as { dimseStatus?: unknown } | null)?.dimseStatus;
  return typeof status === 'number' && Number.isInteger(status) && status >= 0 && status <= 0xffff && status !== 0
    ? status
    : STATUS_PROCESSING_FAILURE;
}

/**
 * SCP side: asks the handler for a status (default success; a throw is logged and becomes
 * 0x0110) and sends the C-ECHO-RSP. PS3.7 §9.3.5.2, PS3.4 §A.4.
 */
export async function answerEcho(
  channel: PDataChannel,
  pcId: number,
  rq: CEchoRq,
  onEcho: ((channel: PDataChannel) => Promise<number> | number) | undefined,
  log: DimseLogger,
): Promise<void> {
  let status = STATUS_SUCCESS;
  if (onEcho !== undefined) {
    try {
      status = await onEcho(channel);
    } catch (err) {
      log.error({ err, assoc: channel.id, messageId: rq.MessageID }, 'C-ECHO handler failed');
      status = statusOfError(err);
    }
  }
  const rsp = buildEchoRsp({ MessageIDBeingRespondedTo: rq.MessageID, AffectedSOPClassUID: rq.AffectedSOPClassUID, Status: status });
  await sendCommand(channel, pcId, encodeCommand(rsp));
  log.info({ assoc: channel.id, peer: channel.peer, callingAet: channel.callingAeTitle, status }, `C-ECHO answered: ${describeStatus(status)}`);
}

/**
 * SCU side of C-ECHO: sends a C-ECHO-RQ on `pcId` (a Verification context) and resolves with
 * the response status; DicomTimeoutError (timer 'dimse') if none arrives within `timeoutMs`.
 * A non-success status is returned, not thrown. PS3.7 §9.3.5, PS3.4 §A.4.
 */
export async function cEcho(
  user: DimseServiceUser,
  channel: PDataChannel,
  pcId: number,
  options: { timeoutMs: number },
): Promise<{ status: number }> {
  if (user.channel !== channel) throw new TypeError('the DimseServiceUser belongs to another association');
  const messageId = user.nextMessageId();
  const wait = user.expectResponse(messageId, COMMAND_FIELD.C_ECHO_RQ);
  try {
    await sendCommand(channel, pcId, encodeCommand(buildEchoRq({ MessageID: messageId, AffectedSOPClassUID: VERIFICATION_SOP_CLASS })));
  } catch (err) {
    wait.cancel();
    throw err;
  }
  wait.arm(options.timeoutMs);
  const rsp = await wait.response;
  return { status: rsp.Status ?? STATUS_PROCESSING_FAILURE };
}
