/**
 * A PDataChannel without a socket, for DIMSE tests: it records every P-DATA-TF sent, counts
 * aborts, can hold sends pending (to observe backpressure), and lets the test push PDVs into
 * the handler installed on it.
 */
import type { AcceptedContext, CloseReason, PDataChannel, PDataHandler, Pdv } from '../../src/dicom/ul/primitives.js';

interface HeldSend {
  pdvs: Pdv[];
  release(): void;
}

export class FakeChannel implements PDataChannel {
  readonly id = 'T1';
  readonly callingAeTitle = 'SCU';
  readonly calledAeTitle = 'SCP';
  readonly peer = '127.0.0.1:4242';
  readonly contexts: Map<number, AcceptedContext>;
  peerMaxPduLength: number;
  /** Every sendPData call, in order (the arrays as given). */
  readonly sent: Pdv[][] = [];
  abortCount = 0;
  /** When true, each sendPData stays pending until the test releases it. */
  holdSends = false;
  readonly held: HeldSend[] = [];
  /** Makes sendPData reject, as a channel whose association has ended. */
  failSends: Error | null = null;
  /** Called after each recorded send (e.g. to script the peer's answer). */
  onSend: ((pdvs: Pdv[]) => void) | null = null;
  handler: PDataHandler | null = null;
  private heldWaiters: Array<() => void> = [];

  constructor(options: { contexts?: AcceptedContext[]; peerMaxPduLength?: number } = {}) {
    this.contexts = new Map((options.contexts ?? []).map((c) => [c.pcId, c]));
    this.peerMaxPduLength = options.peerMaxPduLength ?? 16384;
  }

  sendPData(pdvs: Pdv[]): Promise<void> {
    if (this.failSends) return Promise.reject(this.failSends);
    this.sent.push(pdvs);
    this.onSend?.(pdvs);
    if (!this.holdSends) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.held.push({ pdvs, release: resolve });
      for (const w of this.heldWaiters.splice(0)) w();
    });
  }

  abort(): void {
    this.abortCount++;
  }

  get aborted(): boolean {
    return this.abortCount > 0;
  }

  /** Resolves once at least `n` sends are held pending. */
  async waitHeld(n: number): Promise<void> {
    while (this.held.length < n) await new Promise<void>((r) => this.heldWaiters.push(r));
  }

  /** Delivers PDVs to the handler as one P-DATA indication; returns its backpressure promise. */
  push(pdvs: Pdv[]): Promise<void> {
    if (!this.handler) throw new Error('no handler installed');
    return Promise.resolve(this.handler.onPData(pdvs));
  }

  close(reason: CloseReason): void {
    this.handler?.onClose(reason);
  }

  /** All PDVs sent so far, flattened. */
  sentPdvs(): Pdv[] {
    return this.sent.flat();
  }
}

/** Command PDV(s) for an encoded command set, in one PDV unless `fragmentSize` is given. */
export function commandPdvs(pcId: number, bytes: Buffer, fragmentSize = bytes.length || 1): Pdv[] {
  const out: Pdv[] = [];
  for (let off = 0; off < bytes.length || out.length === 0; off += fragmentSize) {
    const data = bytes.subarray(off, Math.min(bytes.length, off + fragmentSize));
    out.push({ pcId, isCommand: true, isLast: off + fragmentSize >= bytes.length, data });
  }
  return out;
}

/** Data PDVs splitting `bytes` into fragments of `fragmentSize`. */
export function dataPdvs(pcId: number, bytes: Buffer, fragmentSize: number): Pdv[] {
  const out: Pdv[] = [];
  for (let off = 0; off < bytes.length || out.length === 0; off += fragmentSize) {
    const data = bytes.subarray(off, Math.min(bytes.length, off + fragmentSize));
    out.push({ pcId, isCommand: false, isLast: off + fragmentSize >= bytes.length, data });
  }
  return out;
}
