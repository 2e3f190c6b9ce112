import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PduDecodeError } from '../../../../src/dicom/errors.js';
import { PduReader } from '../../../../src/dicom/ul/pdu-reader.js';
import type { Pdu } from '../../../../src/dicom/ul/pdu.js';
import type { Pdv } from '../../../../src/dicom/ul/primitives.js';
import { ALL_PDUS, hex } from '../../../fixtures/pdus.js';

interface Collected {
  pdus: Pdu[];
  errors: Array<{ error: PduDecodeError; reason: number }>;
  reader: PduReader;
}

function collector(maxPDataTfLength = 16384, maxAssociateLength?: number): Collected {
  const out: Collected = {
    pdus: [],
    errors: [],
    reader: new PduReader({
      maxPDataTfLength,
      ...(maxAssociateLength === undefined ? {} : { maxAssociateLength }),
      onPdu: (pdu) => {
        out.pdus.push(pdu);
      },
      onError: (error, reason) => {
        out.errors.push({ error, reason });
      },
    }),
  };
  return out;
}

/** Writes the chunks in order and waits until the reader has taken them all. */
async function feed(reader: PduReader, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (!reader.write(chunk)) await new Promise((resolve) => reader.once('drain', resolve));
  }
  await new Promise<void>((resolve, reject) => reader.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Splits a buffer at the given cut points (sorted, deduplicated). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  parts.push(bytes.subarray(last));
  return parts.filter((p) => p.length > 0);
}

/**
 * What a consumer sees, independent of how the PDV values were split into parts: P-DATA-TF
 * PDUs flattened to their PDVs, consecutive parts of one fragment joined (same context and
 * kind, the earlier one without the last bit); other PDUs as they are.
 */
function normalize(pdus: Pdu[]): unknown[] {
  const out: unknown[] = [];
  let open: Pdv | null = null;
  for (const pdu of pdus) {
    if (pdu.type !== 'P-DATA-TF') {
      open = null;
      out.push(pdu);
      continue;
    }
    for (const part of pdu.pdvs) {
      if (open !== null && open.pcId === part.pcId && open.isCommand === part.isCommand) {
        open.data = Buffer.concat([open.data, part.data]);
        open.isLast = part.isLast;
      } else {
        open = { ...part, data: Buffer.from(part.data) };
        out.push(open);
      }
      if (part.isLast) open = null;
    }
  }
  return out;
}

const STREAM = Buffer.concat(ALL_PDUS.map((f) => f.bytes));
const EXPECTED = normalize(ALL_PDUS.map((f) => f.pdu));

describe('PduReader', () => {
  it('yields every PDU from one chunk', async () => {
    const c = collector();
    await feed(c.reader, [STREAM]);
    assert.deepStrictEqual(normalize(c.pdus), EXPECTED);
    assert.equal(c.errors.length, 0);
  });

  it('yields the same PDUs fed byte by byte', async () => {
    const c = collector();
    await feed(c.reader, [...STREAM].map((b) => Buffer.from([b])));
    assert.deepStrictEqual(normalize(c.pdus), EXPECTED);
  });

  it('yields the same PDUs for random splits (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
      const c = collector();
      await feed(c.reader, split(STREAM, cuts));
      assert.deepStrictEqual(normalize(c.pdus), EXPECTED);
      assert.equal(c.errors.length, 0);
    }), { numRuns: 200 });
  });

  it('hands out PDV data that later PDUs never overwrite (no buffer reuse)', async () => {
    const c = collector();
    const a = hex('04 00 00000008', '00000004 01 02 aabb');
    const b = hex('04 00 00000008', '00000004 01 02 ccdd');
    // Split inside both PDUs so the reader has to assemble bodies across chunks.
    const stream = Buffer.concat([a, b]);
    await feed(c.reader, [stream.subarray(0, 9), stream.subarray(9, 20), stream.subarray(20)]);
    assert.equal(c.pdus.length, 2);
    const [first, second] = c.pdus;
    assert.ok(first.type === 'P-DATA-TF' && second.type === 'P-DATA-TF');
    assert.deepStrictEqual(first.pdvs[0].data, hex('aabb'));
    assert.deepStrictEqual(second.pdvs[0].data, hex('ccdd'));
  });

  it('hands a P-DATA-TF value on as views of the chunks it came in, before the PDU is whole', async () => {
    const c = collector();
    const value = Buffer.alloc(3000, 0x5a);
    const pdu = Buffer.concat([hex('04 00 00000bbe', '00000bba 03 02'), value]);
    const chunks = [pdu.subarray(0, 1000), pdu.subarray(1000, 2000), pdu.subarray(2000)].map((b) => {
      const own = Buffer.alloc(b.length); // its own ArrayBuffer, not the shared pool
      b.copy(own);
      return own;
    });
    c.reader.write(chunks[0]);
    // Only a third has come: its value bytes are already handed on, as a part without the last bit.
    assert.equal(c.pdus.length, 1);
    await feed(c.reader, chunks.slice(1));
    const parts = c.pdus.flatMap((p) => (p.type === 'P-DATA-TF' ? p.pdvs : []));
    assert.deepStrictEqual(parts.map((p) => [p.pcId, p.isCommand, p.isLast]), [[3, false, false], [3, false, false], [3, false, true]]);
    assert.deepStrictEqual(Buffer.concat(parts.map((p) => p.data)), value);
    parts.forEach((part, i) => assert.equal(part.data.buffer, chunks[i]!.buffer, `part ${i} is a view, not a copy`));
  });

  it('rejects an oversize P-DATA-TF from its header alone, before the body arrives', async () => {
    const c = collector(16384);
    // Only the 6-byte header announcing 0x7FFFFFFF bytes: the error must come without any body.
    await feed(c.reader, [hex('04 00 7fffffff')]);
    assert.equal(c.errors.length, 1);
    assert.ok(c.errors[0].error instanceof PduDecodeError);
    assert.equal(c.errors[0].reason, 6);
    assert.equal(c.pdus.length, 0);
  });

  it('accepts a P-DATA-TF of exactly the announced maximum and rejects one byte more', async () => {
    const ok = collector(8);
    await feed(ok.reader, [hex('04 00 00000008', '00000004 01 02 aabb')]);
    assert.equal(ok.errors.length, 0);
    assert.equal(ok.pdus.length, 1);
    const over = collector(8);
    await feed(over.reader, [hex('04 00 00000009')]);
    assert.equal(over.errors.length, 1);
  });

  it('caps A-ASSOCIATE-RQ length before buffering', async () => {
    const c = collector(16384, 1024);
    await feed(c.reader, [hex('01 00 00000401')]);
    assert.equal(c.errors.length, 1);
  });

  it('reports an unrecognized PDU type with reason 1 and discards what follows', async () => {
    const c = collector();
    await feed(c.reader, [hex('08 00 00000004 00000000'), ALL_PDUS[5].bytes]);
    assert.equal(c.errors.length, 1);
    assert.equal(c.errors[0].reason, 1);
    assert.match(c.errors[0].error.message, /unrecognized PDU/);
    assert.equal(c.pdus.length, 0);
  });

  for (const [name, type] of [['A-ASSOCIATE-RJ', '03'], ['A-RELEASE-RQ', '05'], ['A-RELEASE-RP', '06'], ['A-ABORT', '07']]) {
    it(`requires ${name} to be exactly 4 bytes long`, async () => {
      const c = collector();
      await feed(c.reader, [hex(`${type} 00 00000005`)]);
      assert.equal(c.errors.length, 1);
      assert.equal(c.errors[0].reason, 6);
    });
  }

  it('reports a body that fails to decode', async () => {
    const c = collector();
    await feed(c.reader, [hex('04 00 00000006', '00000009 01 02 aabb')]);
    assert.equal(c.errors.length, 1);
    assert.equal(c.pdus.length, 0);
  });

  it('holds its write callback while the consumer is busy (backpressure)', async () => {
    let release!: () => void;
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    const reader = new PduReader({
      maxPDataTfLength: 16384,
      onPdu: (pdu) => {
        seen.push(pdu.type);
        return seen.length === 1 ? busy : undefined;
      },
      onError: (error) => assert.fail(error),
    });
    let firstWriteDone = false;
    reader.write(Buffer.concat([ALL_PDUS[5].bytes, ALL_PDUS[6].bytes]), () => {
      firstWriteDone = true;
    });
    // Let every pending callback and microtask run: the consumer has not released yet.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepStrictEqual(seen, ['A-RELEASE-RQ']);
    assert.equal(firstWriteDone, false);
    release();
    await new Promise<void>((resolve) => reader.end(resolve));
    assert.deepStrictEqual(seen, ['A-RELEASE-RQ', 'A-RELEASE-RP']);
    assert.equal(firstWriteDone, true);
  });
});
