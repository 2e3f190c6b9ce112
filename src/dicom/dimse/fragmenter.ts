/**
 * Splits a command set or a data set into PDVs that fit the peer's maximum PDU length and sends
 * them P-DATA-TF by P-DATA-TF, awaiting each send (backpressure). PS3.8 §9.3.5 (P-DATA-TF),
 * Annex D.1 (Maximum Length), Annex E (fragment header); PS3.7 §9.3.1.
 *
 * The payload is not concatenated: each fragment is a view into a chunk of the source unless it
 * straddles chunks, and at most one PDU's worth is held while the next chunk is awaited (to
 * know which fragment is the last).
 */
import type { PDataChannel } from '../ul/primitives.js';
import { DimseProtocolError } from '../errors.js';

/** PDV item overhead inside a P-DATA-TF: item length (4), context ID (1), control header (1). */
export const PDV_ITEM_OVERHEAD = 6;
/** PDU variable-field length used when the peer sets no limit (Maximum Length 0). */
export const UNLIMITED_SEND_PDU_LENGTH = 256 * 1024;
/** Upper bound on the PDUs we send even when the peer allows more, to bound memory per send. */
export const MAX_SEND_PDU_LENGTH = 1024 * 1024;

/**
 * The variable-field length of the P-DATA-TF PDUs we send to a peer: its Maximum Length
 * (0 = no limit, PS3.8 Annex D.1.1), bounded by MAX_SEND_PDU_LENGTH. Throws DimseProtocolError
 * when the peer's limit leaves no room for a single data byte.
 */
export function sendPduLength(peerMaxPduLength: number): number {
  if (peerMaxPduLength === 0) return UNLIMITED_SEND_PDU_LENGTH;
  if (peerMaxPduLength < PDV_ITEM_OVERHEAD + 2) {
    throw new DimseProtocolError(`peer maximum PDU length ${peerMaxPduLength} cannot hold a PDV`);
  }
  return Math.min(peerMaxPduLength, MAX_SEND_PDU_LENGTH);
}

/**
 * Packs the source into P-DATA-TF PDUs of at most `pduLength` variable-field bytes, each
 * carrying exactly ONE fragment of even length (but the last): DCMTK aborts on a second PDV in
 * a PDU ("Unexpected PDV type") and on odd fragments ("Odd Fragment Length"). A fragment is a
 * view of one source chunk when it lies within it; only a fragment that straddles chunk
 * boundaries is copied together (at most one PDU's worth).
 */
class PduPacker {
  private pieces: Buffer[] = [];
  private size = 0;
  /** Data bytes per fragment: the PDU less the PDV item header, rounded down to even. */
  private readonly capacity: number;

  constructor(
    private readonly channel: PDataChannel,
    private readonly pcId: number,
    private readonly isCommand: boolean,
    pduLength: number,
  ) {
    this.capacity = (pduLength - PDV_ITEM_OVERHEAD) & ~1;
  }

  async add(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      // A full fragment is sent only once more data exists, so it is known not to be the last.
      if (this.size === this.capacity) await this.flush(false);
      const n = Math.min(this.capacity - this.size, chunk.length - off);
      this.pieces.push(chunk.subarray(off, off + n));
      this.size += n;
      off += n;
    }
  }

  async finish(): Promise<void> {
    await this.flush(true);
  }

  private async flush(isLast: boolean): Promise<void> {
    const data = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.size);
    this.pieces = [];
    this.size = 0;
    await this.channel.sendPData([{ pcId: this.pcId, isCommand: this.isCommand, isLast, data }]);
  }
}

/**
 * Sends an encoded command set as command PDVs on `pcId`, the last one flagged last.
 * PS3.8 Annex E.2 (bit 0 = command, bit 1 = last fragment).
 */
export async function sendCommand(channel: PDataChannel, pcId: number, command: Buffer): Promise<void> {
  const packer = new PduPacker(channel, pcId, true, sendPduLength(channel.peerMaxPduLength));
  await packer.add(command);
  await packer.finish();
}

/**
 * Streams a data set as data PDVs on `pcId`. The source is a Buffer or any async iterable of
 * Buffers (a file Readable); the next chunk is pulled only after the previous P-DATA-TF was
 * accepted by the channel, so a slow peer slows the file read instead of filling memory.
 * An empty data set is sent as one empty last fragment. PS3.7 §9.3.1, PS3.8 Annex E.
 */
export async function sendDataset(
  channel: PDataChannel,
  pcId: number,
  dataset: Buffer | AsyncIterable<Buffer>,
): Promise<void> {
  const packer = new PduPacker(channel, pcId, false, sendPduLength(channel.peerMaxPduLength));
  if (Buffer.isBuffer(dataset)) {
    await packer.add(dataset);
  } else {
    for await (const chunk of dataset) {
      if (!Buffer.isBuffer(chunk)) {
        throw new TypeError('dataset source must yield Buffers (open the stream without an encoding)');
      }
      if (chunk.length > 0) await packer.add(chunk);
    }
  }
  await packer.finish();
}
