/**
 * C-ECHO on both sides, and the requestor-side DIMSE service user that matches responses to
 * requests by MessageID. PS3.7 §9.1.5 (C-ECHO), §9.3.5, PS3.4 Annex A (Verification).
 *
 * Hand-written: no npm library streams DICOM networking both ways without re-encoding
 * (dcmjs-dimse decodes and re-encodes every dataset and ignores backpressure); this module only
 * needs the command codec and the fragmenter of this layer.
 */
import { DicomError, DicomTimeoutError } from '../errors.js';
import type { CloseReason, PDataChannel, PDataHandler, Pdv } from '../ul/primitives.js';
import { type CommandSet, DEFAULT_MAX_COMMAND_LENGTH, DimseProtocolError, encodeCommand } from './command.js';
import { sendCommand } from './fragmenter.js';
import {
  COMMAND_FIELD,
  RESPONSE_BIT,
  buildEchoRq,
  buildEchoRsp,
  commandName,
  type CEchoRq,
} from './messages.js';
import { DimseReassembler } from './reassembler.js';
import type { DimseLogger } from './service.js';
import { STATUS_PROCESSING_FAILURE, STATUS_SUCCESS, describeStatus } from './status.js';
import { VERIFICATION_SOP_CLASS } from './sop-classes.js';

/** Code of the error with which pending requests fail when their association ends. */
export const ERR_ASSOCIATION_CLOSED = 'ERR_DICOM_ASSOCIATION_CLOSED';

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

/** A response awaited by the service user; `arm` starts its timeout (e.g. once the data set is sent). */
export interface ResponseWait {
  readonly response: Promise<CommandSet>;
  arm(timeoutMs: number): void;
  cancel(): void;
}

interface Pending {
  field: number;
  resolve(cmd: CommandSet): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Requestor-side DIMSE handler for one association: hands out MessageIDs, matches each
 * response to its request by MessageIDBeingRespondedTo, discards data sets attached to
 * responses, and fails every pending request when the association ends. A request from the
 * peer (we negotiate no SCP role) or a malformed message aborts the association.
 * PS3.7 §9.1.1 (MessageID), §9.3 (response matching), PS3.8 Annex E.
 */
export class DimseServiceUser implements PDataHandler {
  readonly channel: PDataChannel;
  private readonly log: DimseLogger;
  private readonly reassembler: DimseReassembler;
  private readonly pending = new Map<number, Pending>();
  private lastMessageId = 0;
  private closedReason: CloseReason | 'aborted-by-us' | null = null;

  constructor(channel: PDataChannel, log: DimseLogger, options: { maxCommandLength?: number } = {}) {
    this.channel = channel;
    this.log = log;
    this.reassembler = new DimseReassembler({ maxCommandLength: options.maxCommandLength ?? DEFAULT_MAX_COMMAND_LENGTH });
  }

  /** Next MessageID (1–65535, wrapping, skipping IDs still awaiting a response). PS3.7 §9.1.1.1. */
  nextMessageId(): number {
    for (let i = 0; i < 0xffff; i++) {
      this.lastMessageId = (this.lastMessageId % 0xffff) + 1;
      if (!this.pending.has(this.lastMessageId)) return this.lastMessageId;
    }
    throw new RangeError('no free DIMSE MessageID: 65535 requests outstanding');
  }

  /**
   * Registers interest in the response to `messageId` before the request is sent, so an early
   * answer (a refusal sent while the data set is still streaming) is not missed.
   */
  expectResponse(messageId: number, requestField: number): ResponseWait {
    if (this.closedReason !== null) {
      const rejected = Promise.reject(this.closedError());
      rejected.catch(() => undefined);
      return { response: rejected, arm: () => undefined, cancel: () => undefined };
    }
    let entry!: Pending;
    const response = new Promise<CommandSet>((resolve, reject) => {
      entry = { field: requestField | RESPONSE_BIT, resolve, reject, timer: undefined };
    });
    // Handled here so a rejection before the caller awaits is not reported as unhandled.
    response.catch(() => undefined);
    this.pending.set(messageId, entry);
    const settle = (): void => {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      if (this.pending.get(messageId) === entry) this.pending.delete(messageId);
    };
    const done = response.then(settle, settle);
    done.catch(() => undefined);
    return {
      response,
      arm: (timeoutMs: number) => {
        if (this.pending.get(messageId) !== entry || entry.timer !== undefined) return;
        entry.timer = setTimeout(() => {
          entry.reject(
            new DicomTimeoutError(
              'dimse',
              `no ${commandName(entry.field)} for message ${messageId} within ${timeoutMs} ms on ${this.channel.id} (${this.channel.peer})`,
            ),
          );
        }, timeoutMs);
      },
      cancel: () => {
        entry.reject(new DicomError('ERR_DICOM_DIMSE_CANCELLED', `wait for message ${messageId} cancelled`));
      },
    };
  }

  async onPData(pdvs: Pdv[]): Promise<void> {
    if (this.closedReason !== null) return;
    try {
      for (const pdv of pdvs) {
        const ev = this.reassembler.accept(pdv);
        if (ev === null || ev.type === 'data') continue; // data sets of responses are not used
        this.onCommand(ev.command);
      }
    } catch (err) {
      this.log.error({ err, assoc: this.channel.id, peer: this.channel.peer }, 'DIMSE protocol error from peer; aborting');
      this.abortAll('aborted-by-us');
      this.channel.abort();
    }
  }

  onClose(reason: CloseReason): void {
    if (this.closedReason === null) this.abortAll(reason);
  }

  private onCommand(cmd: CommandSet): void {
    const field = cmd.CommandField ?? 0;
    if ((field & RESPONSE_BIT) === 0) {
      throw new DimseProtocolError(`unexpected ${commandName(field)} from the peer on a requestor association`);
    }
    const id = cmd.MessageIDBeingRespondedTo;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (entry === undefined || entry.field !== field) {
      this.log.warn({ assoc: this.channel.id, messageId: id, field }, `ignored unmatched ${commandName(field)}`);
      return;
    }
    if (cmd.Status === 0xff00 || cmd.Status === 0xff01) return; // pending: the final answer follows
    entry.resolve(cmd);
  }

  private closedError(): DicomError {
    return new DicomError(ERR_ASSOCIATION_CLOSED, `association ${this.channel.id} with ${this.channel.peer} ended (${this.closedReason}) before the response arrived`);
  }

  private abortAll(reason: CloseReason | 'aborted-by-us'): void {
    this.closedReason = reason;
    const err = this.closedError();
    for (const entry of [...this.pending.values()]) entry.reject(err);
  }
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
