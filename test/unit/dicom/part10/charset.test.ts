// Character set decoding of the pydicom charset_files patient names, against the values
// FileInfo.txt and pydicom's tests give, and against dcmdump +U8 where DCMTK converts the set.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { decodePersonName, decodeText } from '../../../../src/dicom/part10/charset.js';
import { readPart10Attributes } from '../../../../src/dicom/part10/reader.js';
import { TAGS } from '../../../../src/dicom/part10/tags.js';

const run = promisify(execFile);
const DIR = '/usr/lib/python3/dist-packages/pydicom/data/charset_files';

const EXPECTED: ReadonlyArray<readonly [string, string]> = [
  ['chrArab.dcm', 'قباني^لنزار'],
  ['chrFren.dcm', 'Buc^Jérôme'],
  ['chrFrenMulti.dcm', 'Buc^Jérôme'],
  ['chrGerm.dcm', 'Äneas^Rüdiger'],
  ['chrGreek.dcm', 'Διονυσιος'],
  ['chrH31.dcm', 'Yamada^Tarou=山田^太郎=やまだ^たろう'],
  ['chrH32.dcm', 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'],
  ['chrHbrw.dcm', 'שרון^דבורה'],
  ['chrI2.dcm', 'Hong^Gildong=洪^吉洞=홍^길동'],
  ['chrJapMulti.dcm', 'やまだ^たろう'],
  ['chrJapMultiExplicitIR6.dcm', 'やまだ^たろう'],
  ['chrKoreanMulti.dcm', '김희중'],
  ['chrRuss.dcm', 'Люкceмбypг'],
  ['chrX1.dcm', 'Wang^XiaoDong=王^小東='],
  ['chrX2.dcm', 'Wang^XiaoDong=王^小东='],
];

/** dcmdump's UTF-8 conversion of the top-level PatientName, or undefined when DCMTK cannot convert. */
async function dcmdumpUtf8(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('dcmdump', ['-q', '+U8', '+L', '+p', '+P', '0010,0010', path]);
    const line = stdout.split('\n').find((l) => l.startsWith('(0010,0010) '));
    if (line === undefined) return undefined;
    return line.slice(line.indexOf('[') + 1, line.lastIndexOf(']'));
  } catch {
    return undefined;
  }
}

async function patientName(file: string): Promise<{ value: Buffer; scs: Buffer | undefined }> {
  const { captured } = await readPart10Attributes(join(DIR, file), [TAGS.PatientName, TAGS.SpecificCharacterSet]);
  const pn = captured.get(TAGS.PatientName);
  assert.ok(pn);
  return { value: pn.value, scs: captured.get(TAGS.SpecificCharacterSet)?.value };
}

describe('decodeText and decodePersonName on the pydicom charset files', () => {
  let compared = 0;
  for (const [file, expected] of EXPECTED) {
    it(`decodes the PatientName of ${file}`, async () => {
      const { value, scs } = await patientName(file);
      const text = decodeText(value, scs, 'PN');
      assert.equal(text, expected);
      const viaDcmtk = await dcmdumpUtf8(join(DIR, file));
      if (viaDcmtk !== undefined) {
        assert.equal(text, viaDcmtk);
        compared++;
      }
    });
  }
  it('compared against dcmdump +U8 for most files', () => {
    assert.ok(compared >= 10, `only ${compared} comparisons`);
  });

  it('splits the Japanese name into groups and components, each group with its own escapes', async () => {
    const { value, scs } = await patientName('chrH32.dcm');
    const pn = decodePersonName(value, scs);
    assert.deepEqual(pn.alphabetic, { family: 'ﾔﾏﾀﾞ', given: 'ﾀﾛｳ', middle: '', prefix: '', suffix: '' });
    assert.deepEqual(pn.ideographic, { family: '山田', given: '太郎', middle: '', prefix: '', suffix: '' });
    assert.deepEqual(pn.phonetic, { family: 'やまだ', given: 'たろう', middle: '', prefix: '', suffix: '' });
  });

  it('splits the Korean name', async () => {
    const { value, scs } = await patientName('chrI2.dcm');
    const pn = decodePersonName(value, scs);
    assert.equal(pn.alphabetic.family, 'Hong');
    assert.equal(pn.ideographic.given, '吉洞');
    assert.equal(pn.phonetic.family, '홍');
  });
});

describe('decodeText defaults', () => {
  it('reads bytes >= 0x80 as Latin-1 when (0008,0005) is absent or the default', () => {
    const bytes = Buffer.from([0x4a, 0xe9, 0x72, 0xf4, 0x6d, 0x65, 0x20, 0x00]);
    assert.equal(decodeText(bytes, undefined, 'LO'), 'Jérôme');
    assert.equal(decodeText(bytes, 'ISO_IR 6', 'LO'), 'Jérôme');
    assert.equal(decodeText(bytes, '', 'LO'), 'Jérôme');
  });

  it('removes trailing spaces and NULs only', () => {
    assert.equal(decodeText(Buffer.from('  A B \0 \0'), 'ISO_IR 100', 'LO'), '  A B');
  });

  it('falls back to Latin-1 on an unknown defined term', () => {
    assert.equal(decodeText(Buffer.from([0x41, 0xe9]), 'ISO_IR 999', 'LO'), 'Aé');
  });

  it('decodes UTF-8 and GB18030', () => {
    assert.equal(decodeText(Buffer.from('Größe', 'utf8'), 'ISO_IR 192', 'LO'), 'Größe');
    assert.equal(decodeText(Buffer.from([0xcd, 0xf5]), 'GB18030', 'PN'), '王');
  });

  it('splits a name with all five components and missing groups', () => {
    const pn = decodePersonName(Buffer.from('Adams^John Robert Quincy^^Rev.^B.A. M.Div. '), undefined);
    assert.deepEqual(pn.alphabetic, { family: 'Adams', given: 'John Robert Quincy', middle: '', prefix: 'Rev.', suffix: 'B.A. M.Div.' });
    assert.deepEqual(pn.ideographic, { family: '', given: '', middle: '', prefix: '', suffix: '' });
  });
});

describe('single-byte sets: 0x80–0x9F are the C1 controls of ISO 8859 on every Node version', () => {
  // WHATWG's TextDecoder reads the labels for ISO 8859-1, -9 and TIS 620 as windows-1252,
  // -1254 and -874 (0x80 → '€', 0x9B → '›'); PS3.5 §6.1.2.3 means the ISO sets themselves.
  const c1 = Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const controls = String.fromCharCode(...c1);

  for (const scs of ['ISO_IR 100', 'ISO_IR 101', 'ISO_IR 109', 'ISO_IR 110', 'ISO_IR 126', 'ISO_IR 127', 'ISO_IR 138', 'ISO_IR 144', 'ISO_IR 148', 'ISO_IR 166']) {
    it(`${scs}: every byte 0x80–0x9F decodes to U+0080–U+009F`, () => {
      assert.equal(decodeText(Buffer.from([0x41, ...c1, 0x42]), scs, 'LO'), `A${controls}B`);
    });
  }

  it('ISO_IR 100: a name with a C1 byte keeps its Latin-1 letters around it', () => {
    const bytes = Buffer.from([0x4d, 0xdc, 0x4c, 0x4c, 0x45, 0x52, 0x9b, 0x5e, 0x4a, 0xfc, 0x72, 0x67, 0x65, 0x6e]);
    const pn = decodePersonName(bytes, 'ISO_IR 100');
    assert.equal(pn.alphabetic.family, 'MÜLLER\u009b');
    assert.equal(pn.alphabetic.given, 'Jürgen');
  });

  it('ISO_IR 148 and ISO_IR 166: the letters of the upper half stay those of ISO 8859-9 and TIS 620', () => {
    assert.equal(decodeText(Buffer.from([0xd0, 0xdd, 0xde, 0xf0, 0xfd, 0xfe]), 'ISO_IR 148', 'LO'), 'ĞİŞğış');
    assert.equal(decodeText(Buffer.from([0xa1, 0xb2, 0xe0]), 'ISO_IR 166', 'LO'), '\u0e01\u0e12\u0e40');
  });
});
