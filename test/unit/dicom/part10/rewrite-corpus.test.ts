// Byte preservation over every readable Part 10 file of pydicom's test data, with dcmdump
// (DCMTK) as the independent oracle for the captured values.
//
// Exclusion rule (applied by code, never by file name): a file is left out of the
// round-trip when (a) dcmdump exits non-zero on it, (b) it has no "DICM" after a 128-byte
// preamble (not Part 10), or (c) its file meta has no TransferSyntaxUID, so the dataset
// encoding is unknown. Files excluded by (a) that do have a file meta must be rejected by us
// too, with a DatasetDecodeError.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { DatasetDecodeError } from '../../../../src/dicom/errors.js';
import { readFileMeta, type FileMeta } from '../../../../src/dicom/part10/file-meta.js';
import { TAGS } from '../../../../src/dicom/part10/tags.js';
import { rewriteBytes } from '../../../support/rewrite-driver.js';

const run = promisify(execFile);
const DATA = '/usr/lib/python3/dist-packages/pydicom/data';
const DIRS = [join(DATA, 'test_files'), join(DATA, 'charset_files')];
const FILES = DIRS.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.dcm')).map((f) => join(d, f))).sort();

const CAPTURE = [TAGS.SOPInstanceUID, TAGS.StudyInstanceUID, TAGS.PatientName];

async function dcmdumpOk(path: string): Promise<boolean> {
  try {
    await run('dcmdump', ['-q', path], { maxBuffer: 64 * 1024 * 1024 });
    return true;
  } catch {
    return false;
  }
}

/** Value dcmdump prints for a top-level tag ('' for an empty value, undefined if absent). */
async function dcmdumpValue(path: string, tagText: string): Promise<Buffer | undefined> {
  const { stdout } = await run('dcmdump', ['-q', '-Un', '+L', '+p', '+P', tagText, path], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  const text = stdout.toString('latin1');
  const line = text.split('\n').find((l) => l.startsWith(`(${tagText}) `));
  if (line === undefined) return undefined;
  if (line.includes('(no value available)')) return Buffer.alloc(0);
  const vr = line.slice(tagText.length + 3, tagText.length + 5);
  if (vr === 'UN' || vr === 'OB') {
    // Binary VRs are dumped as backslash-separated hex bytes.
    const hex = line.slice(tagText.length + 6, line.indexOf('#')).trim();
    return Buffer.from(hex.split('\\').join(''), 'hex');
  }
  const open = line.indexOf('[');
  const close = line.lastIndexOf(']');
  return Buffer.from(line.slice(open + 1, close), 'latin1');
}

function trimmed(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x20 || b[end - 1] === 0x00)) end--;
  return b.subarray(0, end);
}

/** The corpus reads with capture only: the output must equal the input. */
const rewriteChunks = (ts: string, data: Buffer, cuts: readonly number[]) =>
  rewriteBytes({ transferSyntaxUid: ts, capture: CAPTURE }, data, cuts);

interface Entry {
  path: string;
  meta: FileMeta | undefined;
  dcmdumpOk: boolean;
  excluded: string | undefined;
}

async function classify(path: string): Promise<Entry> {
  const ok = await dcmdumpOk(path);
  const head = readFileSync(path).subarray(128, 132).toString('latin1');
  let meta: FileMeta | undefined;
  let excluded: string | undefined;
  if (head !== 'DICM') excluded = 'no DICM prefix';
  else {
    try {
      meta = await readFileMeta(path);
    } catch (err) {
      assert.ok(err instanceof DatasetDecodeError);
      excluded = `file meta unreadable: ${err.message}`;
    }
  }
  if (!ok) excluded = 'dcmdump fails';
  return { path, meta, dcmdumpOk: ok, excluded };
}

describe('DatasetRewriter over the pydicom corpus', async () => {
  const entries = await Promise.all(FILES.map(classify));
  const included = entries.filter((e) => e.excluded === undefined);

  it('applies the exclusion rule to a small minority of files', (t) => {
    for (const e of entries) if (e.excluded !== undefined) t.diagnostic(`excluded ${e.path}: ${e.excluded}`);
    assert.ok(included.length >= 70, `only ${included.length} files included`);
  });

  it('rejects, like dcmdump, the Part 10 files dcmdump cannot read', async () => {
    const broken = entries.filter((e) => !e.dcmdumpOk && e.meta !== undefined);
    assert.ok(broken.length >= 1);
    for (const e of broken) {
      const meta = e.meta as FileMeta;
      const data = readFileSync(e.path).subarray(meta.datasetOffset);
      await assert.rejects(rewriteChunks(meta.transferSyntaxUid, data, []), DatasetDecodeError, e.path);
    }
  });

  for (const e of included) {
    it(`passes ${e.path.slice(DATA.length + 1)} through byte for byte and captures what dcmdump shows`, async () => {
      const meta = e.meta as FileMeta;
      const data = readFileSync(e.path).subarray(meta.datasetOffset);

      const whole = await rewriteChunks(meta.transferSyntaxUid, data, []);
      assert.ok(whole.out.equals(data), 'one chunk');
      const bytewise = await rewriteChunks(meta.transferSyntaxUid, data, [1]);
      assert.ok(bytewise.out.equals(data), '1-byte chunks');
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), async (cuts) => {
          const r = await rewriteChunks(meta.transferSyntaxUid, data, cuts);
          assert.ok(r.out.equals(data));
          assert.deepEqual([...r.rw.captured.keys()].sort(), [...whole.rw.captured.keys()].sort());
        }),
        { numRuns: 8 },
      );

      for (const [tag, text] of [
        [TAGS.SOPInstanceUID, '0008,0018'],
        [TAGS.StudyInstanceUID, '0020,000d'],
        [TAGS.PatientName, '0010,0010'],
      ] as const) {
        const expected = await dcmdumpValue(e.path, text);
        const got = whole.rw.captured.get(tag);
        const gotBytewise = bytewise.rw.captured.get(tag);
        if (expected === undefined) {
          assert.equal(got, undefined, `${text} absent for dcmdump`);
          continue;
        }
        assert.ok(got !== undefined, `${text} captured`);
        assert.ok(gotBytewise !== undefined && gotBytewise.value.equals(got.value));
        assert.equal(trimmed(got.value).toString('latin1'), trimmed(expected).toString('latin1'), text);
      }
    });
  }
});
