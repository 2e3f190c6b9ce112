/**
 * The requestor-side DIMSE service user: hands out MessageIDs and matches each response to its
 * request. PS3.7 §9.1.1 (MessageID), §9.3 (response matching), PS3.8 Annex E.
 */
import { DicomError, DicomTimeoutError, DimseProtocolError, ERR_ASSOCIATION_CLOSED, ERR_DIMSE_CANCELLED } from '../errors.js';
import type { CloseReason, PDataChannel, PDataHandler, Pdv } from '../ul/primitives.js';
import { type CommandSet, DEFAULT_MAX_COMMAND_LENGTH } from './command.js';
import { RESPONSE_BIT, commandName } from './messages.js';
import { DimseReassembler } from './reassembler.js';
import type { DimseLogger } from './service.js';

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
        entry.reject(new DicomError(ERR_DIMSE_CANCELLED, `wait for message ${messageId} cancelled`));
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
