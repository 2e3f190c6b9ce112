// Hostile and malformed input: the rewriter must fail with DatasetDecodeError, early, without
// buffering what a peer declares; and large values must pass as views of the input chunks.
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DatasetDecodeError } from '../../../../src/dicom/errors.js';
import { readFileMeta } from '../../../../src/dicom/part10/file-meta.js';
import { DatasetRewriter, type DatasetRewriterOptions } from '../../../../src/dicom/part10/rewrite.js';
import { TAGS } from '../../../../src/dicom/part10/tags.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from '../../../../src/dicom/part10/transfer-syntax.js';

// Little-endian encoders (PS3.5 §7.1.2, §7.1.3).
function head(tag: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function implicitEl(tag: number, value: Buffer, length = value.length): Buffer {
  return Buffer.concat([head(tag), u32(length), value]);
}
function explicitEl(tag: number, vr: string, value: Buffer, length = value.length): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR'].includes(vr);
  if (long) return Buffer.concat([head(tag), Buffer.from(vr), Buffer.alloc(2), u32(length), value]);
  const l = Buffer.alloc(2);
  l.writeUInt16LE(length);
  return Buffer.concat([head(tag), Buffer.from(vr), l, value]);
}
const ITEM_UNDEF = Buffer.concat([head(TAGS.Item), u32(0xffffffff)]);
const ITEM_END = Buffer.concat([head(TAGS.ItemDelimitationItem), u32(0)]);
const SEQ_END = Buffer.concat([head(TAGS.SequenceDelimitationItem), u32(0)]);

/** `depth` nested undefined-length sequences, each in an undefined-length item. */
function nested(depth: number, explicit: boolean): Buffer {
  let inner = explicit ? explicitEl(TAGS.PatientID, 'LO', Buffer.from('ID')) : implicitEl(TAGS.PatientID, Buffer.from('ID'));
  for (let i = 0; i < depth; i++) {
    const sqHead = explicit
      ? Buffer.concat([head(0x00081115), Buffer.from('SQ'), Buffer.alloc(2), u32(0xffffffff)])
      : Buffer.concat([head(0x00081115), u32(0xffffffff)]);
    inner = Buffer.concat([sqHead, ITEM_UNDEF, inner, ITEM_END, SEQ_END]);
  }
  return inner;
}

/** Runs the rewriter; resolves with the output or rejects with the stream error. */
function runAll(options: DatasetRewriterOptions, chunks: Buffer[], end = true): Promise<Buffer> {
  const rw = new DatasetRewriter(options);
  const out: Buffer[] = [];
  rw.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    rw.on('end', () => resolve(Buffer.concat(out)));
    rw.on('error', reject);
  });
  for (const c of chunks) rw.write(c);
  if (end) rw.end();
  return done;
}

const implicitTs = { transferSyntaxUid: IMPLICIT_VR_LITTLE_ENDIAN, capture: [] };
const explicitTs = { transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, capture: [] };

describe('DatasetRewriter against hostile input', () => {
  it('rejects input ending inside an element, and accepts every cut at an element boundary', async () => {
    const ds = Buffer.concat([
      implicitEl(TAGS.SOPInstanceUID, Buffer.from('1.2\0')),
      nested(2, false),
      implicitEl(TAGS.PatientName, Buffer.from('Doe^John')),
    ]);
    const boundaries = new Set([0, 12, 12 + nested(2, false).length, ds.length]);
    for (let cut = 1; cut <= ds.length; cut++) {
      const p = runAll({ ...implicitTs, capture: [TAGS.PatientName] }, [ds.subarray(0, cut)]);
      if (boundaries.has(cut)) assert.ok((await p).equals(ds.subarray(0, cut)), `cut ${cut}`);
      else await assert.rejects(p, DatasetDecodeError, `cut ${cut}`);
    }
  });

  it('rejects a real file truncated inside its pixel data', async () => {
    const path = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
    const meta = await readFileMeta(path);
    const data = readFileSync(path).subarray(meta.datasetOffset);
    await assert.rejects(
      runAll({ transferSyntaxUid: meta.transferSyntaxUid, capture: [] }, [data.subarray(0, data.length - 100)]),
      DatasetDecodeError,
    );
  });

  it('accepts 64 nested sequences and rejects a depth bomb past the limit, both encodings', async () => {
    for (const explicit of [false, true]) {
      const ts = explicit ? explicitTs : implicitTs;
      const ok = nested(64, explicit);
      assert.ok((await runAll(ts, [ok])).equals(ok));
      await assert.rejects(runAll(ts, [nested(65, explicit)]), DatasetDecodeError);
      await assert.rejects(runAll({ ...ts, limits: { maxSequenceDepth: 3 } }, [nested(4, explicit)]), DatasetDecodeError);
      assert.ok((await runAll({ ...ts, limits: { maxSequenceDepth: 3 } }, [nested(3, explicit)])).equals(nested(3, explicit)));
    }
  });

  it('fails a depth bomb as soon as the limit is crossed, without the rest of the input', async () => {
    const level = Buffer.concat([head(0x00081115), u32(0xffffffff), ITEM_UNDEF]);
    const bomb = Buffer.concat(Array.from({ length: 200 }, () => level));
    await assert.rejects(runAll(implicitTs, [bomb], false), DatasetDecodeError);
  });

  it('rejects a huge declared length on a captured element before any value arrives', async () => {
    const header = implicitEl(TAGS.PatientName, Buffer.alloc(0), 0x7ffffff0);
    await assert.rejects(runAll({ ...implicitTs, capture: [TAGS.PatientName] }, [header], false), DatasetDecodeError);
    const small = implicitEl(TAGS.PatientName, Buffer.alloc(0), 200);
    await assert.rejects(
      runAll({ ...implicitTs, capture: [TAGS.PatientName], limits: { maxCapturedValueBytes: 100 } }, [small], false),
      DatasetDecodeError,
    );
  });

  it('rejects an absurd length on the element to rewrite, keeps a long UT as it is', async () => {
    const header = implicitEl(TAGS.PatientName, Buffer.alloc(0), 0x7ffffff0);
    const edit = { tag: TAGS.PatientName, edit: () => Buffer.from('X') };
    await assert.rejects(runAll({ ...implicitTs, rewrite: edit }, [header], false), DatasetDecodeError);

    const ut = explicitEl(0x0040a160, 'UT', Buffer.alloc(100 * 1024, 0x41));
    const rw = new DatasetRewriter({ ...explicitTs, rewrite: { tag: 0x0040a160, edit: () => Buffer.from('X') } });
    const out: Buffer[] = [];
    rw.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise((resolve) => rw.on('end', resolve));
    rw.end(ut);
    await ended;
    assert.ok(Buffer.concat(out).equals(ut));
    assert.equal(rw.rewritten, false);
  });

  it('bounds the bytes held behind a group length', async () => {
    const ds = Buffer.concat([
      explicitEl(0x00100000, 'UL', u32(8 + 200 + 8 + 8)),
      explicitEl(0x00100005, 'LO', Buffer.alloc(200, 0x41)),
      explicitEl(TAGS.PatientName, 'PN', Buffer.from('Doe^John')),
    ]);
    const edit = { tag: TAGS.PatientName, edit: () => Buffer.from('CRYPE1') };
    await assert.rejects(runAll({ ...explicitTs, rewrite: edit, limits: { maxHeldBytes: 100 } }, [ds]), DatasetDecodeError);
    const out = await runAll({ ...explicitTs, rewrite: edit, limits: { maxHeldBytes: 1000 } }, [ds]);
    assert.equal(out.readUInt32LE(8), 8 + 200 + 8 + 6);
  });

  it('rejects item tags at the top level, undefined length on a text VR, and junk inside a sequence', async () => {
    await assert.rejects(runAll(implicitTs, [Buffer.concat([ITEM_UNDEF, ITEM_END])]), DatasetDecodeError);
    await assert.rejects(runAll(implicitTs, [SEQ_END]), DatasetDecodeError);
    await assert.rejects(runAll(explicitTs, [explicitEl(0x0040a160, 'UT', Buffer.alloc(0), 0xffffffff)]), DatasetDecodeError);
    const junk = Buffer.concat([head(0x00081115), u32(0xffffffff), implicitEl(TAGS.PatientID, Buffer.from('ID'))]);
    await assert.rejects(runAll(implicitTs, [junk]), DatasetDecodeError);
  });

  it('rejects a corrupt deflate stream', async () => {
    await assert.rejects(
      runAll({ transferSyntaxUid: '1.2.840.10008.1.2.1.99', capture: [] }, [Buffer.from([0xff, 0xff, 0xff, 0xff])]),
      DatasetDecodeError,
    );
  });

  it('passes 300 MB of pixel data through as views of the input chunks', async () => {
    const total = 300 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 0x5a);
    const rw = new DatasetRewriter({ ...explicitTs, capture: [TAGS.PatientName] });
    let bytes = 0;
    let foreign = 0;
    rw.on('data', (c: Buffer) => {
      bytes += c.length;
      if (c.buffer !== chunk.buffer) foreign += c.length;
    });
    const ended = new Promise((resolve, reject) => {
      rw.on('end', resolve);
      rw.on('error', reject);
    });
    const prefix = Buffer.concat([
      explicitEl(TAGS.PatientName, 'PN', Buffer.from('Doe^John')),
      Buffer.concat([head(TAGS.PixelData), Buffer.from('OW'), Buffer.alloc(2), u32(total)]),
    ]);
    rw.write(prefix);
    for (let sent = 0; sent < total; sent += chunk.length) rw.write(chunk);
    rw.end();
    await ended;
    assert.equal(bytes, prefix.length + total);
    assert.equal(foreign, prefix.length, 'only the prefix is not a view of the reused chunk');
    assert.equal(rw.captured.get(TAGS.PatientName)?.value.toString(), 'Doe^John');
  });
});
