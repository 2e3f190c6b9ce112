/**
 * The PDU reader hands PDV values on as they arrive, so one PDV may come in several parts
 * (src/dicom/ul/pdu-reader.ts). Tests that compare what was sent with what was received join
 * the parts of each message fragment back together first.
 */
import type { Pdv } from '../../src/dicom/ul/primitives.js';

/** Joins consecutive parts of the same context and kind until a part with the last bit. */
export class PdvJoiner {
  private pending: Pdv | null = null;

  /** Takes parts in arrival order; returns the fragments they complete. */
  push(parts: readonly Pdv[]): Pdv[] {
    const done: Pdv[] = [];
    for (const part of parts) {
      const open = this.pending;
      if (open !== null && (open.pcId !== part.pcId || open.isCommand !== part.isCommand)) {
        throw new Error(`PDV part on context ${part.pcId} interleaves with an open fragment on context ${open.pcId}`);
      }
      const joined = open === null ? { ...part, data: Buffer.from(part.data) } : { ...part, data: Buffer.concat([open.data, part.data]) };
      if (part.isLast) {
        this.pending = null;
        done.push(joined);
      } else {
        this.pending = joined;
      }
    }
    return done;
  }
}
