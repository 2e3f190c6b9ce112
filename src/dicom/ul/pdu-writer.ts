/**
 * Writes PDUs to a socket, honouring backpressure (PS3.8 §9.3). Modelled on ws's
 * lib/sender.js: a P-DATA-TF goes out corked as its header, each PDV header and each payload
 * buffer as given, never concatenated, and a full socket buffer is waited out on 'drain'.
 */
import type { Writable } from 'node:stream';
import { DicomError, ERR_CONNECTION_CLOSED } from '../errors.js';
import type { Pdv } from './primitives.js';
import { encodePdu, encodePduHeader, encodePdvHeader, pDataTfBodyLength } from './pdu.js';
import type { PDataTfPdu, Pdu } from './pdu.js';

/** Sends PDUs on one transport connection. PS3.8 §9.3. */
export class PduWriter {
  readonly #socket: Writable;

  constructor(socket: Writable) {
    this.#socket = socket;
  }

  /** Encodes and sends one non-P-DATA PDU; resolves when the socket accepted it (after 'drain' if needed). */
  writePdu(pdu: Exclude<Pdu, PDataTfPdu>): Promise<void> {
    if (!this.#writable()) return this.#closedError(pdu.type);
    const ok = this.#socket.write(encodePdu(pdu));
    return ok ? Promise.resolve() : this.#drain();
  }

  /**
   * Sends the PDVs as one P-DATA-TF PDU: header, then per PDV its 6-byte item header and its
   * data buffer, all in one corked write so they leave in as few segments as possible.
   * PS3.8 §9.3.5, Table 9-22.
   */
  writePData(pdvs: readonly Pdv[]): Promise<void> {
    if (!this.#writable()) return this.#closedError('P-DATA-TF');
    const socket = this.#socket;
    socket.cork();
    let ok = socket.write(encodePduHeader('P-DATA-TF', pDataTfBodyLength(pdvs)));
    for (const pdv of pdvs) {
      ok = socket.write(encodePdvHeader(pdv)) && ok;
      if (pdv.data.length > 0) ok = socket.write(pdv.data) && ok;
    }
    // Uncork on the next tick like ws, so PDUs written in the same tick share segments.
    process.nextTick(() => socket.uncork());
    return ok ? Promise.resolve() : this.#drain();
  }

  #writable(): boolean {
    return !this.#socket.destroyed && !this.#socket.writableEnded;
  }

  #closedError(what: string): Promise<void> {
    return Promise.reject(new DicomError(ERR_CONNECTION_CLOSED, `cannot send ${what}: the connection is closed`));
  }

  /** Resolves on 'drain'; rejects if the socket closes first. */
  #drain(): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        socket.off('drain', onDrain);
        reject(new DicomError(ERR_CONNECTION_CLOSED, 'the connection closed while waiting to send'));
      };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });
  }
}
