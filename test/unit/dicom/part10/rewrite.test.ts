// Rewriting one top-level element: synthetic datasets in the three encodings (built by a tiny
// encoder below) and real files checked with dcmdump (DCMTK).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { buildFileMeta, readFileMeta } from '../../../../src/dicom/part10/file-meta.js';
import { DatasetScanner, type ElementHeader } from '../../../../src/dicom/part10/scanner.js';
import { TAGS } from '../../../../src/dicom/part10/tags.js';
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxInfo,
} from '../../../../src/dicom/part10/transfer-syntax.js';
import { buildInstance, EXPLICIT_LE } from '../../../support/dicom-builder.js';
import { rewriteBytes } from '../../../support/rewrite-driver.js';

const run = promisify(execFile);
const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const tmp = mkdtempSync(join(tmpdir(), 'part10-rewrite-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// ---- tiny encoder (PS3.5 §7.1) ----
interface Enc {
  explicitVr: boolean;
  littleEndian: boolean;
}
const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function u16(enc: Enc, n: number): Buffer {
  const b = Buffer.alloc(2);
  if (enc.littleEndian) b.writeUInt16LE(n);
  else b.writeUInt16BE(n);
  return b;
}
function u32(enc: Enc, n: number): Buffer {
  const b = Buffer.alloc(4);
  if (enc.littleEndian) b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b;
}
function tagBytes(enc: Enc, tag: number): Buffer {
  return Buffer.concat([u16(enc, tag >>> 16), u16(enc, tag & 0xffff)]);
}
function el(enc: Enc, tag: number, vr: string, value: Buffer, undefinedLength = false): Buffer {
  const length = undefinedLength ? 0xffffffff : value.length;
  if (!enc.explicitVr) return Buffer.concat([tagBytes(enc, tag), u32(enc, length), value]);
  if (LONG.has(vr)) {
    return Buffer.concat([tagBytes(enc, tag), Buffer.from(vr), Buffer.alloc(2), u32(enc, length), value]);
  }
  return Buffer.concat([tagBytes(enc, tag), Buffer.from(vr), u16(enc, length), value]);
}
function txt(s: string, pad = 0x20): Buffer {
  const b = Buffer.from(s, 'latin1');
  return b.length % 2 === 0 ? b : Buffer.concat([b, Buffer.from([pad])]);
}
function item(enc: Enc, content: Buffer, undefinedLength: boolean): Buffer {
  if (!undefinedLength) return Buffer.concat([tagBytes(enc, TAGS.Item), u32(enc, content.length), content]);
  return Buffer.concat([
    tagBytes(enc, TAGS.Item), u32(enc, 0xffffffff), content,
    tagBytes(enc, TAGS.ItemDelimitationItem), u32(enc, 0),
  ]);
}
function seqUndefined(enc: Enc, tag: number, items: Buffer[]): Buffer {
  return Buffer.concat([
    el(enc, tag, 'SQ', Buffer.concat(items), true),
    tagBytes(enc, TAGS.SequenceDelimitationItem), u32(enc, 0),
  ]);
}

const ENCODINGS: ReadonlyArray<readonly [string, string, Enc]> = [
  ['implicit VR LE', IMPLICIT_VR_LITTLE_ENDIAN, { explicitVr: false, littleEndian: true }],
  ['explicit VR LE', EXPLICIT_VR_LITTLE_ENDIAN, { explicitVr: true, littleEndian: true }],
  ['explicit VR BE', EXPLICIT_VR_BIG_ENDIAN, { explicitVr: true, littleEndian: false }],
];

/** A small dataset; (0010,0000) is correct when present. */
function sample(enc: Enc, patientName: Buffer, studyUid: Buffer, withGroupLength: boolean): Buffer {
  const nested = el(enc, TAGS.PatientName, 'PN', txt('Nested^Name'));
  const group10 = Buffer.concat([
    el(enc, TAGS.PatientName, 'PN', patientName),
    el(enc, TAGS.PatientID, 'LO', txt('ID-1')),
    el(enc, 0x00104000, 'LT', txt('comment')),
  ]);
  return Buffer.concat([
    el(enc, TAGS.SpecificCharacterSet, 'CS', txt('ISO_IR 100')),
    el(enc, TAGS.SOPInstanceUID, 'UI', txt('1.2.3.4', 0)),
    seqUndefined(enc, 0x00081115, [item(enc, nested, true), item(enc, nested, false)]),
    withGroupLength ? el(enc, 0x00100000, 'UL', u32(enc, group10.length)) : Buffer.alloc(0),
    group10,
    el(enc, TAGS.StudyInstanceUID, 'UI', studyUid),
    el(enc, 0x0040a160, 'UT', txt('some text')),
    el(enc, TAGS.PixelData, 'OB', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])),
  ]);
}

const setTo = (text: string) => ({ tag: TAGS.PatientName, edit: () => Buffer.from(text, 'latin1') });

describe('DatasetRewriter rewrite, synthetic datasets', () => {
  for (const [label, ts, enc] of ENCODINGS) {
    for (const withGroupLength of [false, true]) {
      const name = `${label}${withGroupLength ? ', with group length' : ''}`;
      const input = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), withGroupLength);

      it(`${name}: replaces the top-level PN only, pads odd length with a space, fixes the group length`, async () => {
        const expected = sample(enc, Buffer.from('CRYPE-ABC '), txt('1.2.840.1', 0), withGroupLength);
        const { out, rw } = await rewriteBytes(
          { transferSyntaxUid: ts, capture: [TAGS.PatientName], rewrite: setTo('CRYPE-ABC') },
          input,
        );
        assert.ok(out.equals(expected), `${out.toString('hex')}\n${expected.toString('hex')}`);
        assert.equal(rw.rewritten, true);
        assert.equal(rw.captured.get(TAGS.PatientName)?.value.toString('latin1'), 'Doe^John');
        assert.equal(rw.captured.get(TAGS.PatientName)?.vr, 'PN');
      });

      it(`${name}: any chunking gives the same output`, async () => {
        const expected = sample(enc, txt('LONGER^PATIENT^NAME^X'), txt('1.2.840.1', 0), withGroupLength);
        await fc.assert(
          fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }), async (cuts) => {
            const { out } = await rewriteBytes(
              { transferSyntaxUid: ts, capture: [], rewrite: setTo('LONGER^PATIENT^NAME^X') },
              input,
              cuts,
            );
            assert.ok(out.equals(expected));
          }),
          { numRuns: 60 },
        );
      });
    }

    it(`${label}: an odd UI value is padded with NUL`, async () => {
      const input = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), false);
      const expected = sample(enc, txt('Doe^John'), Buffer.from('9.8.7\0'), false);
      const { out, rw } = await rewriteBytes(
        { transferSyntaxUid: ts, capture: [], rewrite: { tag: TAGS.StudyInstanceUID, edit: () => Buffer.from('9.8.7') } },
        input,
        [3],
      );
      assert.ok(out.equals(expected));
      assert.equal(rw.rewritten, true);
    });

    it(`${label}: a UT value keeps the 32-bit length form`, async () => {
      const input = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), false);
      const tagUt = 0x0040a160;
      const { out } = await rewriteBytes(
        { transferSyntaxUid: ts, capture: [], rewrite: { tag: tagUt, edit: (_value, vr) => (vr === 'UT' || vr === 'UN' ? Buffer.from('new text') : undefined) } },
        input,
      );
      const from = input.indexOf(el(enc, tagUt, 'UT', txt('some text')));
      const replacement = el(enc, tagUt, enc.explicitVr ? 'UT' : 'UN', txt('new text'));
      const expected = Buffer.concat([
        input.subarray(0, from),
        replacement,
        input.subarray(from + el(enc, tagUt, 'UT', txt('some text')).length),
      ]);
      assert.ok(out.equals(expected));
    });

    it(`${label}: edit returning undefined or the same bytes leaves the output identical`, async () => {
      const input = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), true);
      const none = await rewriteBytes(
        { transferSyntaxUid: ts, capture: [], rewrite: { tag: TAGS.PatientName, edit: () => undefined } },
        input,
        [5],
      );
      assert.ok(none.out.equals(input));
      assert.equal(none.rw.rewritten, false);
      const same = await rewriteBytes(
        { transferSyntaxUid: ts, capture: [], rewrite: { tag: TAGS.PatientName, edit: (value) => Buffer.from(value) } },
        input,
      );
      assert.ok(same.out.equals(input));
      assert.equal(same.rw.rewritten, false);
    });

    it(`${label}: a missing rewrite tag releases held group-length bytes unchanged`, async () => {
      const input = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), true);
      const { out, rw } = await rewriteBytes(
        { transferSyntaxUid: ts, capture: [], rewrite: { tag: 0x00100015, edit: () => Buffer.from('XX') } },
        input,
        [7],
      );
      assert.ok(out.equals(input));
      assert.equal(rw.rewritten, false);
    });
  }
});

// ---- real files ----

interface Located {
  header: ElementHeader;
  groupLength: ElementHeader | undefined;
}

/** Finds the top-level element and its group length with the scanner (offsets only). */
function locate(data: Buffer, ts: string, tag: number): Located {
  const info = transferSyntaxInfo(ts);
  assert.ok(info);
  let found: ElementHeader | undefined;
  let groupLength: ElementHeader | undefined;
  const scanner = new DatasetScanner(info, {
    element(h) {
      if (h.tag === tag) found = h;
      if (h.tag === ((tag & 0xffff0000) >>> 0) && found === undefined) groupLength = h;
      return 'pass';
    },
    value: () => undefined,
    output: () => undefined,
  });
  scanner.write(data);
  scanner.end();
  assert.ok(found, 'element present');
  return { header: found, groupLength };
}

async function dumpDataset(path: string): Promise<string[]> {
  const { stdout } = await run('dcmdump', ['-q', '-Un', '+L', path], { encoding: 'buffer', maxBuffer: 1 << 26 });
  return stdout
    .toString('latin1')
    .split('\n')
    .filter((l) => /^\s*\(/.test(l) && !l.startsWith('(0002,'));
}

const REAL: ReadonlyArray<readonly [string, boolean]> = [
  ['CT_small.dcm', false],
  ['MR_small_bigendian.dcm', false],
  ['MR_small_implicit.dcm', false],
  ['ExplVR_BigEnd.dcm', true],
  ['693_J2KI.dcm', true],
  ['image_dfl.dcm', false],
];

describe('DatasetRewriter rewrite, real files checked with dcmdump', () => {
  for (const [file, hasGroupLength] of REAL) {
    it(`rewrites (0010,0010) in ${file}`, async () => {
      const path = join(DATA, file);
      const meta = await readFileMeta(path);
      const raw = readFileSync(path).subarray(meta.datasetOffset);
      const info = transferSyntaxInfo(meta.transferSyntaxUid);
      assert.ok(info);
      const newName = 'CRYPE^T';
      const { out, rw } = await rewriteBytes(
        { transferSyntaxUid: meta.transferSyntaxUid, capture: [TAGS.PatientName], rewrite: setTo(newName) },
        raw,
        [4096],
      );
      assert.equal(rw.rewritten, true);

      // Byte ranges: compare the inflated datasets for the deflated syntax.
      const input = info.deflated ? inflateRawSync(raw) : raw;
      const output = info.deflated ? inflateRawSync(out) : out;
      const searchTs = info.deflated ? EXPLICIT_VR_LITTLE_ENDIAN : meta.transferSyntaxUid;
      const { header, groupLength } = locate(input, searchTs, TAGS.PatientName);
      assert.equal(groupLength !== undefined, hasGroupLength);
      const oldLength = header.headerLength + header.length;
      const newValue = Buffer.from(`${newName} `);
      const newLength = header.headerLength + newValue.length;
      const at = header.offset;
      assert.ok(output.subarray(at + header.headerLength, at + newLength).equals(newValue));
      const lengthField = info.explicitVr ? output.subarray(at + 6, at + 8) : output.subarray(at + 4, at + 8);
      const declared = lengthField.length === 2
        ? (info.littleEndian ? lengthField.readUInt16LE() : lengthField.readUInt16BE())
        : (info.littleEndian ? lengthField.readUInt32LE() : lengthField.readUInt32BE());
      assert.equal(declared, newValue.length);
      assert.ok(output.subarray(at + newLength).equals(input.subarray(at + oldLength)), 'bytes after');
      const before = Buffer.from(output.subarray(0, at));
      const inputBefore = Buffer.from(input.subarray(0, at));
      if (groupLength !== undefined) {
        const v = groupLength.offset + groupLength.headerLength;
        const read = (b: Buffer): number => (info.littleEndian ? b.readUInt32LE(v) : b.readUInt32BE(v));
        assert.equal(read(before), read(inputBefore) + newLength - oldLength, 'group length corrected');
        before.fill(0, v, v + 4);
        inputBefore.fill(0, v, v + 4);
      }
      assert.ok(before.equals(inputBefore), 'bytes before');

      // dcmdump reads the result, shows the new name and nothing else changed.
      const outPath = join(tmp, file);
      writeFileSync(outPath, Buffer.concat([
        buildFileMeta({
          mediaStorageSopClassUid: meta.mediaStorageSopClassUid,
          mediaStorageSopInstanceUid: meta.mediaStorageSopInstanceUid,
          transferSyntaxUid: meta.transferSyntaxUid,
          implementationClassUid: '1.2.3.4.5',
          implementationVersionName: 'TEST',
        }),
        out,
      ]));
      const dumpIn = await dumpDataset(path);
      const dumpOut = await dumpDataset(outPath);
      assert.equal(dumpOut.length, dumpIn.length);
      for (let i = 0; i < dumpIn.length; i++) {
        const a = dumpIn[i] as string;
        const b = dumpOut[i] as string;
        if (a.startsWith('(0010,0010)')) assert.match(b, /^\(0010,0010\) PN \[CRYPE\^T\]/);
        else if (a.startsWith('(0010,0000)')) assert.notEqual(a, b);
        else assert.equal(b, a);
      }
    });
  }
});

describe('DatasetRewriter dry run (a check of the edit that changes nothing)', () => {
  for (const [label, ts, enc] of ENCODINGS) {
    it(`${label}: the output is the input, rewritten says the edit would apply`, async () => {
      const input = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), true);
      const { out, rw } = await rewriteBytes({ transferSyntaxUid: ts, capture: [], rewrite: { ...setTo('X'), dryRun: true } }, input, [7]);
      assert.ok(out.equals(input));
      assert.equal(rw.rewritten, true);
    });

    it(`${label}: a group length that cannot be corrected fails the dry run as it fails the rewrite`, async () => {
      // Group 0010's length says 2 bytes: shortening the name would take it below zero.
      const broken = sample(enc, txt('Doe^John'), txt('1.2.840.1', 0), true);
      const glAt = broken.indexOf(tagBytes(enc, 0x00100000));
      assert.ok(glAt >= 0);
      const valueAt = glAt + 8; // a UL header is 8 bytes in both VR forms
      if (enc.littleEndian) broken.writeUInt32LE(2, valueAt);
      else broken.writeUInt32BE(2, valueAt);
      for (const dryRun of [false, true]) {
        await assert.rejects(
          rewriteBytes({ transferSyntaxUid: ts, capture: [], rewrite: { ...setTo(''), dryRun } }, broken),
          /group length/,
        );
      }
    });
  }

  it('deflated: a dry run passes the compressed bytes through, a rewrite deflates anew', async () => {
    const raw = readFileSync(join(DATA, 'image_dfl.dcm'));
    const meta = await readFileMeta(join(DATA, 'image_dfl.dcm'));
    const dataset = raw.subarray(meta.datasetOffset);
    const edit = { tag: TAGS.PatientName, edit: () => Buffer.from('X ') };
    const dry = await rewriteBytes({ transferSyntaxUid: meta.transferSyntaxUid, capture: [], rewrite: { ...edit, dryRun: true } }, dataset, [1000]);
    assert.ok(dry.out.equals(dataset));
    assert.equal(dry.rw.rewritten, true);
    const real = await rewriteBytes({ transferSyntaxUid: meta.transferSyntaxUid, capture: [], rewrite: edit }, dataset);
    assert.equal(real.rw.rewritten, true);
    assert.ok(!real.out.equals(dataset));
  });
});

describe('DatasetRewriter checkOnly', () => {
  it('pushes nothing, and captures and refuses exactly as when it outputs', async () => {
    const body = buildInstance({
      patientName: 'CHECK^Only', patientId: 'P-CHECK', studyUid: '1.2.3.4', seriesUid: '1.2.3.4.1', seriesNumber: 1,
      sopUid: '1.2.3.4.1.1', instanceNumber: 1, rows: 8, columns: 8,
    });
    const options = { transferSyntaxUid: EXPLICIT_LE, capture: [TAGS.PatientID] };
    const checked = await rewriteBytes({ ...options, checkOnly: true }, body, [7]);
    const streamed = await rewriteBytes(options, body, [7]);
    assert.equal(checked.out.length, 0, 'no output');
    assert.ok(streamed.out.equals(body), 'the same dataset streams through without checkOnly');
    assert.deepEqual(checked.rw.captured.get(TAGS.PatientID), streamed.rw.captured.get(TAGS.PatientID));
    const truncated = body.subarray(0, body.length - 3);
    await assert.rejects(rewriteBytes({ ...options, checkOnly: true }, truncated));
    await assert.rejects(rewriteBytes(options, truncated));
  });
});
