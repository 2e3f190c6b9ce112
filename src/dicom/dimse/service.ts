/**
 * The acceptor-side DIMSE service provider of one association: C-ECHO and C-STORE SCP, with
 * each data set streamed fragment by fragment into a sink chosen by the application, and the
 * C-STORE response sent only once the sink has finished. PS3.7 §9.1.1 (C-STORE), §9.1.5
 * (C-ECHO), §9.3; PS3.4 Annex A and B.
 *
 * The promise returned by onPData is the sink's write, so a slow disk pauses the peer.
 */
import { DicomError, DimseProtocolError, ERR_ASSOCIATION_CLOSED, ERR_DIMSE_PROTOCOL } from '../errors.js';
import type { Logger } from '../ul/logger.js';
import type { CloseReason, PDataChannel, PDataHandler, Pdv } from '../ul/primitives.js';
import { type CommandSet, DEFAULT_MAX_COMMAND_LENGTH, encodeCommand } from './command.js';
import { answerEcho, statusOfError } from './echo.js';
import { sendCommand } from './fragmenter.js';
import {
  COMMAND_FIELD,
  RESPONSE_BIT,
  buildFailureRsp,
  buildStoreRsp,
  commandName,
  parseEchoRq,
  parseStoreRq,
} from './messages.js';
import type { CStoreRq } from './messages.js';
import { type CommandEvent, type DataEvent, DimseReassembler } from './reassembler.js';
import {
  STATUS_CANNOT_UNDERSTAND,
  STATUS_PROCESSING_FAILURE,
  STATUS_SOP_CLASS_NOT_SUPPORTED,
  STATUS_UNRECOGNIZED_OPERATION,
  describeStatus,
  statusCategory,
} from './status.js';

/**
 * The logging this layer needs: the line methods of the DICOM layer's pino-compatible Logger
 * (ul/logger.ts), so a pino instance, a child logger or `noopLogger` all fit.
 */
export type DimseLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** A received C-STORE-RQ with the context it arrived on (PS3.7 §9.1.1.1, Table 9.3-1). */
export interface StoreRequest extends CStoreRq {
  channel: PDataChannel;
  pcId: number;
  /** Transfer syntax of the presentation context: the encoding of the data set bytes. */
  transferSyntax: string;
}

/** The status (and, for a failure or warning, a comment of at most 64 chars) of a C-STORE. */
export interface StoreOutcome {
  status: number;
  errorComment?: string;
  /** Extra fields for the "C-STORE answered" log line (e.g. where the application put the instance). */
  logFields?: Readonly<Record<string, string>>;
}

/**
 * Where one received data set goes. `write` is awaited before the next PDU is read
 * (backpressure); chunks may be views into PDU buffers the upper layer never reuses, so they
 * may be kept. `end` is called after the last fragment and its outcome is the C-STORE response;
 * its promise should settle only once the instance is durable. `abort` is called at most once,
 * never after `end`, when the data set cannot complete (association ended, write failed); it
 * may arrive while a write is still pending. If `end` rejects, the sink cleans up by itself.
 */
export interface DatasetSink {
  write(chunk: Buffer): Promise<void> | void;
  end(): Promise<StoreOutcome>;
  abort(reason: Error): Promise<void> | void;
}

/**
 * The application's side of the SCP. `onEcho` returns a status (default success). `onStore`
 * returns a sink for the data set, or an outcome to refuse at once (the data set is then read
 * and discarded, and that outcome sent after its last fragment). A throw from either becomes
 * a logged failure status: the error's own `dimseStatus` number if it has one, else 0x0110.
 */
export interface DimseHandlers {
  onEcho?(channel: PDataChannel): Promise<number> | number;
  onStore(rq: StoreRequest): Promise<DatasetSink | StoreOutcome> | DatasetSink | StoreOutcome;
}

/** A message whose data set is being received. */
interface Inbound {
  command: CommandSet;
  pcId: number;
  /** The sink still receiving bytes; null once refused, failed, aborted or ended. */
  sink: DatasetSink | null;
  /** Set when the message is refused or failed: the response to send after the last fragment. */
  outcome: StoreOutcome | null;
  /** Sends the response once the data set is complete. */
  respond(outcome: StoreOutcome): Promise<void>;
  bytes: number;
}

function isSink(value: DatasetSink | StoreOutcome): value is DatasetSink {
  return typeof (value as Partial<DatasetSink>).write === 'function' && typeof (value as Partial<DatasetSink>).end === 'function';
}

/** Outcome for a handler error: its dimseStatus if any; only such errors' text reaches the peer. */
function outcomeOfError(err: unknown): StoreOutcome {
  const status = statusOfError(err);
  const intentional = status !== STATUS_PROCESSING_FAILURE || (err as { dimseStatus?: unknown } | null)?.dimseStatus !== undefined;
  const comment = intentional && err instanceof Error ? err.message : 'processing failure';
  return { status, errorComment: comment };
}

/**
 * DIMSE service provider (SCP) for one accepted association; install it as the association's
 * PDataHandler. Messages are handled one at a time in arrival order (no asynchronous
 * operations window, PS3.7 §D.3.3.3). Protocol faults abort the association; handler faults
 * become failure responses and the association goes on. PS3.7 §9.1, §9.3, PS3.8 Annex E.
 */
export class DimseServiceProvider implements PDataHandler {
  private readonly channel: PDataChannel;
  private readonly handlers: DimseHandlers;
  private readonly log: DimseLogger;
  private readonly reassembler: DimseReassembler;
  private inbound: Inbound | null = null;
  private closed = false;

  constructor(channel: PDataChannel, handlers: DimseHandlers, log: DimseLogger, options: { maxCommandLength?: number } = {}) {
    this.channel = channel;
    this.handlers = handlers;
    this.log = log;
    this.reassembler = new DimseReassembler({ maxCommandLength: options.maxCommandLength ?? DEFAULT_MAX_COMMAND_LENGTH });
  }

  /** P-DATA indication: resolves once every PDV has been handled (backpressure to the socket). */
  async onPData(pdvs: Pdv[]): Promise<void> {
    try {
      for (const pdv of pdvs) {
        if (this.closed || this.channel.aborted) return;
        const ev = this.reassembler.accept(pdv);
        if (ev === null) continue;
        if (ev.type === 'command') await this.onCommand(ev);
        else await this.onData(ev);
      }
    } catch (err) {
      if (this.closed) {
        this.log.debug({ err, assoc: this.channel.id }, 'DIMSE work cut short by the end of the association');
        return;
      }
      this.log.error({ err, assoc: this.channel.id, peer: this.channel.peer, callingAet: this.channel.callingAeTitle }, 'DIMSE protocol error; aborting the association');
      this.closed = true;
      this.abortSink(err instanceof Error ? err : new DicomError(ERR_DIMSE_PROTOCOL, String(err)));
      this.channel.abort();
    }
  }

  /** The association ended: a data set still being received is aborted in its sink, once. */
  onClose(reason: CloseReason): void {
    if (this.closed && this.inbound === null) return;
    this.closed = true;
    if (this.inbound?.sink) {
      this.log.warn({ assoc: this.channel.id, peer: this.channel.peer, reason, bytes: this.inbound.bytes }, 'association ended while receiving a data set');
    }
    this.abortSink(
      new DicomError(ERR_ASSOCIATION_CLOSED, `association ${this.channel.id} with ${this.channel.peer} ended (${reason}) during a data set`),
    );
    this.inbound = null;
  }

  private abortSink(reason: Error): void {
    const inbound = this.inbound;
    const sink = inbound?.sink;
    if (!inbound || !sink) return;
    inbound.sink = null;
    const report = (err: unknown): void => this.log.error({ err, assoc: this.channel.id }, 'data set sink failed to abort');
    try {
      const p = sink.abort(reason);
      if (p) Promise.resolve(p).catch(report);
    } catch (err) {
      report(err);
    }
  }

  private async onCommand(ev: CommandEvent): Promise<void> {
    const cmd = ev.command;
    const field = cmd.CommandField;
    if (field === COMMAND_FIELD.C_ECHO_RQ) {
      const rq = parseEchoRq(cmd);
      const respond = (): Promise<void> => answerEcho(this.channel, ev.pcId, rq, this.handlers.onEcho?.bind(this.handlers), this.log);
      if (ev.hasDataset) this.discard(ev, () => respond());
      else await respond();
      return;
    }
    if (field === COMMAND_FIELD.C_STORE_RQ) {
      await this.onStoreRq(ev);
      return;
    }
    if (field === COMMAND_FIELD.C_CANCEL_RQ) {
      this.log.debug({ assoc: this.channel.id }, 'C-CANCEL-RQ ignored: no cancellable operation');
      if (ev.hasDataset) this.discard(ev, async () => undefined);
      return;
    }
    if (field === undefined || (field & RESPONSE_BIT) !== 0 || cmd.MessageID === undefined) {
      throw new DimseProtocolError(`unexpected ${commandName(field)} from the peer (message ${cmd.MessageID ?? 'without ID'})`);
    }
    this.log.warn({ assoc: this.channel.id, peer: this.channel.peer, field }, `unsupported ${commandName(field)} refused`);
    const respond = (): Promise<void> =>
      sendCommand(this.channel, ev.pcId, encodeCommand(buildFailureRsp(cmd, STATUS_UNRECOGNIZED_OPERATION, 'operation not supported')));
    if (ev.hasDataset) this.discard(ev, () => respond());
    else await respond();
  }

  /** Reads and drops the data set of a message, then runs `respond`. */
  private discard(ev: CommandEvent, respond: () => Promise<void>): void {
    this.inbound = { command: ev.command, pcId: ev.pcId, sink: null, outcome: { status: 0 }, respond: () => respond(), bytes: 0 };
  }

  private async onStoreRq(ev: CommandEvent): Promise<void> {
    const cmd = ev.command;
    if (cmd.MessageID === undefined) throw new DimseProtocolError('C-STORE-RQ lacks MessageID');
    const context = this.channel.contexts.get(ev.pcId);
    if (context === undefined) throw new DimseProtocolError(`C-STORE-RQ on presentation context ${ev.pcId}, which was not accepted`);
    const respond = (outcome: StoreOutcome): Promise<void> => this.sendStoreRsp(ev.pcId, cmd, outcome);

    let refusal: StoreOutcome | null = null;
    let sink: DatasetSink | null = null;
    let rq: StoreRequest | null = null;
    try {
      const parsed = parseStoreRq(cmd);
      rq = { channel: this.channel, pcId: ev.pcId, transferSyntax: context.transferSyntax, ...parsed };
    } catch (err) {
      refusal = { status: STATUS_CANNOT_UNDERSTAND, errorComment: (err as Error).message };
    }
    if (rq !== null && rq.AffectedSOPClassUID !== context.abstractSyntax) {
      refusal = { status: STATUS_SOP_CLASS_NOT_SUPPORTED, errorComment: `SOP class not negotiated on context ${ev.pcId}` };
    }
    if (rq !== null && !ev.hasDataset) {
      refusal = { status: STATUS_CANNOT_UNDERSTAND, errorComment: 'C-STORE-RQ without a data set' };
    }
    if (refusal === null && rq !== null) {
      try {
        const result = await this.handlers.onStore(rq);
        if (isSink(result)) sink = result;
        else refusal = result;
      } catch (err) {
        this.log.error({ err, assoc: this.channel.id, sopInstanceUid: rq.AffectedSOPInstanceUID }, 'C-STORE handler failed');
        refusal = outcomeOfError(err);
      }
    }
    if (!ev.hasDataset) {
      await respond(refusal ?? { status: STATUS_CANNOT_UNDERSTAND });
      return;
    }
    this.inbound = { command: cmd, pcId: ev.pcId, sink, outcome: refusal, respond, bytes: 0 };
    if (this.closed) {
      // The association ended while the handler was choosing a sink: onClose saw no sink yet.
      this.abortSink(new DicomError(ERR_ASSOCIATION_CLOSED, `association ${this.channel.id} ended before the data set`));
      this.inbound = null;
    }
  }

  private async onData(ev: DataEvent): Promise<void> {
    const inbound = this.inbound;
    if (inbound === null) throw new DimseProtocolError('data fragment with no message in progress');
    inbound.bytes += ev.chunk.length;
    const sink = inbound.sink;
    if (sink !== null) {
      try {
        const pending = sink.write(ev.chunk);
        if (pending) await pending; // most writes only queue: no promise, no hop
      } catch (err) {
        if (this.closed) return;
        this.log.error({ err, assoc: this.channel.id, bytes: inbound.bytes }, 'data set sink write failed; the rest is discarded');
        inbound.outcome = outcomeOfError(err);
        this.abortSink(err instanceof Error ? err : new Error(String(err)));
      }
      if (this.closed) return;
    }
    if (!ev.isLast) return;

    let outcome: StoreOutcome;
    const live = inbound.sink;
    if (live !== null) {
      inbound.sink = null; // end() has begun: abort must no longer be called
      try {
        outcome = await live.end();
      } catch (err) {
        this.log.error({ err, assoc: this.channel.id }, 'data set sink failed to complete');
        outcome = outcomeOfError(err);
      }
    } else {
      outcome = inbound.outcome ?? { status: STATUS_PROCESSING_FAILURE };
    }
    this.inbound = null;
    if (this.closed) return;
    await inbound.respond(outcome);
  }

  private async sendStoreRsp(pcId: number, rq: CommandSet, outcome: StoreOutcome): Promise<void> {
    const rsp = buildStoreRsp({
      MessageIDBeingRespondedTo: rq.MessageID ?? 0,
      AffectedSOPClassUID: rq.AffectedSOPClassUID,
      AffectedSOPInstanceUID: rq.AffectedSOPInstanceUID,
      Status: outcome.status,
      ErrorComment: outcome.errorComment,
    });
    await sendCommand(this.channel, pcId, encodeCommand(rsp));
    const fields = {
      assoc: this.channel.id,
      peer: this.channel.peer,
      callingAet: this.channel.callingAeTitle,
      sopInstanceUid: rq.AffectedSOPInstanceUID,
      status: outcome.status,
      ...outcome.logFields,
    };
    const text = `C-STORE answered: ${describeStatus(outcome.status)}`;
    if (statusCategory(outcome.status) === 'failure') this.log.warn({ ...fields, errorComment: outcome.errorComment }, text);
    else this.log.info(fields, text);
  }
}
