/**
 * Turns the PDV stream of one association into DIMSE messages: command fragments are collected
 * (under a cap) and decoded, data fragments are passed on one by one as they arrive.
 * PS3.7 §9.3.1 (message structure), PS3.8 §9.3.5 and Annex E (message control header).
 *
 * Only the command set is ever buffered, so a multi-gigabyte dataset flows straight to its
 * sink.
 */
import type { Pdv } from '../ul/primitives.js';
import { DimseProtocolError } from '../errors.js';
import { type CommandSet, DEFAULT_MAX_COMMAND_LENGTH, decodeCommand } from './command.js';
import { hasDataset } from './messages.js';

/** A complete command set; `hasDataset` tells whether data fragments must follow. */
export interface CommandEvent {
  type: 'command';
  pcId: number;
  command: CommandSet;
  hasDataset: boolean;
}

/**
 * One fragment of the data set announced by the last command. `chunk` may be a view into the
 * PDU buffer; the upper layer never reuses those buffers, so it may be kept.
 */
export interface DataEvent {
  type: 'data';
  pcId: number;
  chunk: Buffer;
  isLast: boolean;
}

export type DimseEvent = CommandEvent | DataEvent;

/**
 * Per-association reassembly state machine: idle → collecting a command → (if it announced a
 * data set) receiving data → idle. `accept` throws DimseProtocolError on any PDV out of order,
 * after which the caller aborts the association and drops the instance.
 * PS3.7 §9.3.1, PS3.8 Annex E.2.
 */
export class DimseReassembler {
  private readonly maxCommandLength: number;
  private fragments: Buffer[] = [];
  private collected = 0;
  /** pcId of the command being collected, or of the data set being received; 0 = idle. */
  private commandPcId = 0;
  private dataPcId = 0;

  constructor(options: { maxCommandLength?: number } = {}) {
    this.maxCommandLength = options.maxCommandLength ?? DEFAULT_MAX_COMMAND_LENGTH;
  }

  /** Whether a data set announced by a command is still being received. */
  get inDataset(): boolean {
    return this.dataPcId !== 0;
  }

  /**
   * Consumes one PDV, in arrival order. Returns the completed command, the data fragment, or
   * null while a command is still incomplete.
   */
  accept(pdv: Pdv): DimseEvent | null {
    if (pdv.isCommand) return this.acceptCommand(pdv);
    if (this.dataPcId === 0) {
      throw new DimseProtocolError(
        this.commandPcId !== 0
          ? `data fragment on context ${pdv.pcId} before the command set on context ${this.commandPcId} was complete`
          : `data fragment on context ${pdv.pcId} with no command announcing a data set`,
      );
    }
    if (pdv.pcId !== this.dataPcId) {
      throw new DimseProtocolError(`data fragment on context ${pdv.pcId} while receiving a data set on context ${this.dataPcId}`);
    }
    if (pdv.isLast) this.dataPcId = 0;
    return { type: 'data', pcId: pdv.pcId, chunk: pdv.data, isLast: pdv.isLast };
  }

  private acceptCommand(pdv: Pdv): CommandEvent | null {
    if (this.dataPcId !== 0) {
      throw new DimseProtocolError(`command fragment on context ${pdv.pcId} while a data set on context ${this.dataPcId} is incomplete`);
    }
    if (this.commandPcId !== 0 && pdv.pcId !== this.commandPcId) {
      throw new DimseProtocolError(`command fragment on context ${pdv.pcId} while a command on context ${this.commandPcId} is incomplete`);
    }
    this.collected += pdv.data.length;
    if (this.collected > this.maxCommandLength) {
      throw new DimseProtocolError(`command set exceeds the cap of ${this.maxCommandLength} bytes`);
    }
    this.commandPcId = pdv.pcId;
    this.fragments.push(pdv.data);
    if (!pdv.isLast) return null;

    // Almost every command set arrives in one PDV: decode the view as is.
    const bytes = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, this.collected);
    this.fragments = [];
    this.collected = 0;
    this.commandPcId = 0;
    const command = decodeCommand(bytes, this.maxCommandLength);
    if (command.CommandDataSetType === undefined) {
      throw new DimseProtocolError('command set lacks CommandDataSetType');
    }
    const dataset = hasDataset(command);
    if (dataset) this.dataPcId = pdv.pcId;
    return { type: 'command', pcId: pdv.pcId, command, hasDataset: dataset };
  }
}
