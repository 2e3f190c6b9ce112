import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildZipName,
  COPY_SUFFIX_RESERVE,
  cridsFromZipName,
  copyZipName,
  MAX_COPIES,
  ZipNameError,
  type ZipNameFields,
} from '../../../../src/bridge/naming/zip-name.js';

const UID = '1.3.46.670589.16.2.2.192.30.0.171.20040722.72143.104226';
const A = '1234567890123456';
const B = '9876543210987654';
const folderPath = 'C:\\CrypeDcm\\Inbox_Auto';

const holtzmann: ZipNameFields = {
  patientName: 'HOLTZMANN, Carsten',
  birthDate: '19290505',
  sex: 'M',
  studyDate: '20040722',
  modalities: ['CT'],
  studyInstanceUid: UID,
  crids: [],
};

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const wellFormed = (x: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(x);

describe('buildZipName', () => {
  it('SPEC example, no IDs', () => {
    assert.equal(
      buildZipName(holtzmann, { folderPath }),
      'HOLTZMANN, Carsten_1929-05-05_M_2004-07-22_CT_1.3.46.670589.16.2.2.192.30.0.171.20040722.72143.104226.zip',
    );
  });

  it('IDs are appended concatenated after _CRID#', () => {
    assert.equal(
      buildZipName({ ...holtzmann, crids: [A, B] }, { folderPath }),
      `HOLTZMANN, Carsten_1929-05-05_M_2004-07-22_CT_${UID}_CRID#${A}CRID#${B}.zip`,
    );
  });

  it('modalities: distinct, alphabetical, joined with -', () => {
    const name = buildZipName({ ...holtzmann, modalities: ['SR', 'MR', 'CT', 'MR', ' ', ''] }, { folderPath });
    assert.equal(name.split('_')[4], 'CT-MR-SR');
  });

  it('empty fields stay empty, non-DA dates are kept sanitized', () => {
    const name = buildZipName(
      { patientName: '', birthDate: '', sex: '', studyDate: '2004/07', modalities: [], studyInstanceUid: '1.2', crids: [] },
      { folderPath },
    );
    assert.equal(name, '___2004-07__1.2.zip');
  });

  it('padding of dates and UID is removed', () => {
    const name = buildZipName({ ...holtzmann, birthDate: '19290505 ', studyInstanceUid: `${UID}\0` }, { folderPath });
    assert.ok(name.endsWith(`_1929-05-05_M_2004-07-22_CT_${UID}.zip`.slice(11)));
    assert.ok(name.includes(`_${UID}.zip`));
  });

  it('a UID that is not digits and dots is sanitized, never trusted', () => {
    const name = buildZipName({ ...holtzmann, studyInstanceUid: '../../x' }, { folderPath });
    assert.ok(name.endsWith('_..-..-x.zip'));
    assert.ok(!name.includes('/'));
    const long = buildZipName({ ...holtzmann, studyInstanceUid: '1.'.repeat(100) + '1' }, { folderPath });
    assert.ok(long.length < 200);
  });

  it('_ and # inside fields cannot forge a field or an ID', () => {
    const name = buildZipName(
      { ...holtzmann, patientName: `EVIL_CRID#${A}`, sex: 'M_F', modalities: ['C#T'] },
      { folderPath },
    );
    assert.equal(name.split('_').length, 6);
    assert.ok(!name.includes('CRID#'));
    assert.deepEqual(cridsFromZipName(name), []);
  });

  it('forbidden characters in the patient name are replaced', () => {
    const name = buildZipName({ ...holtzmann, patientName: 'A/B\\C:D*E?' }, { folderPath });
    assert.ok(name.startsWith('A-B-C-D-E-_'), name);
  });

  it('a long name is cut to fit the path limit, patient name first, UID and IDs intact', () => {
    const folder = 'C:\\' + 'x'.repeat(60);
    const fields = { ...holtzmann, patientName: 'VERYLONGFAMILYNAME'.repeat(10) + ', Given', crids: [A, B] };
    const name = buildZipName(fields, { folderPath: folder });
    assert.ok(folder.length + 1 + name.length + COPY_SUFFIX_RESERVE <= 259);
    assert.equal(folder.length + 1 + name.length + COPY_SUFFIX_RESERVE, 259, 'uses the whole budget');
    assert.ok(name.endsWith(`_1929-05-05_M_2004-07-22_CT_${UID}_CRID#${A}CRID#${B}.zip`));
    assert.ok(name.startsWith('VERYLONGFAMILYNAME'));
  });

  it('then the modality list, once the patient name is gone', () => {
    const folder = 'C:\\' + 'x'.repeat(77);
    const fields = { ...holtzmann, patientName: 'DOE, John', modalities: ['CT', 'MR', 'PT', 'SR', 'US', 'XA', 'DX', 'CR', 'NM', 'OT'], crids: [A, B, '1'.repeat(16)] };
    const name = buildZipName(fields, { folderPath: folder });
    assert.ok(folder.length + 1 + name.length + COPY_SUFFIX_RESERVE <= 259);
    assert.ok(name.startsWith('_1929-05-05_M_2004-07-22_CR-CT-DX-MR-NM-OT-PT_'), name);
    assert.ok(name.endsWith(`_${UID}_CRID#${A}CRID#${B}CRID#${'1'.repeat(16)}.zip`));
  });

  it('UTF-8 bytes stay within NAME_MAX and no code point or grapheme is split', () => {
    const fields = { ...holtzmann, patientName: '山田^太郎😀'.repeat(40) };
    const name = buildZipName(fields, { folderPath: '/srv/in' });
    assert.ok(bytes(name) + COPY_SUFFIX_RESERVE <= 255, String(bytes(name)));
    assert.ok(wellFormed(name));
    assert.ok(name.endsWith(`_${UID}.zip`));
    const cutName = name.split('_')[0];
    assert.ok(cutName.length > 0 && fields.patientName.startsWith(cutName));
  });

  it('a cut name does not end with a dangling comma or space', () => {
    const folder = 'x'.repeat(259 - 1 - COPY_SUFFIX_RESERVE - `_1929-05-05_M_2004-07-22_CT_${UID}.zip`.length - 'HOLTZMANN, '.length);
    const name = buildZipName(holtzmann, { folderPath: folder });
    assert.ok(name.startsWith('HOLTZMANN_'), name);
  });

  it('throws ZipNameError when the UID and IDs alone cannot fit', () => {
    assert.throws(() => buildZipName({ ...holtzmann, crids: [A] }, { folderPath: 'C:\\' + 'x'.repeat(200) }), ZipNameError);
  });

  it('refuses an ID that is not 16 digits (caller bug)', () => {
    assert.throws(() => buildZipName({ ...holtzmann, crids: [`CRID#${A}`] }, { folderPath }), TypeError);
  });

  it('property: within limits, fields split at _, UID and IDs intact', () => {
    const text = fc.string({ unit: 'binary', maxLength: 120 });
    const id = fc.stringMatching(/^[0-9]{16}$/);
    fc.assert(
      fc.property(
        text,
        text,
        text,
        fc.array(text, { maxLength: 12 }),
        fc.stringMatching(/^[1-9][0-9]{0,8}(\.[0-9]{1,8}){1,6}$/),
        fc.uniqueArray(id, { maxLength: 5 }),
        fc.integer({ min: 0, max: 60 }),
        (patientName, sex, birthDate, modalities, studyInstanceUid, crids, folderLength) => {
          const folder = '/'.padEnd(folderLength + 1, 'f');
          const name = buildZipName({ patientName, birthDate, sex, studyDate: '20240101', modalities, studyInstanceUid, crids }, { folderPath: folder });
          assert.ok(folder.length + 1 + name.length + COPY_SUFFIX_RESERVE <= 259);
          assert.ok(bytes(name) + COPY_SUFFIX_RESERVE <= 255);
          assert.equal(name.split('_').length, crids.length > 0 ? 7 : 6);
          // eslint-disable-next-line no-control-regex -- control characters are what is being matched
          assert.doesNotMatch(name, /[<>:"/\\|?*\u0000-\u001f]/);
          assert.ok(wellFormed(name));
          assert.ok(name.includes(`_${studyInstanceUid}`));
          assert.deepEqual(cridsFromZipName(name), crids);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('copyZipName', () => {
  it('is the name itself first, then (2), (3) … before .zip, after the IDs', () => {
    const name = `X_1_M_2_CT_1.2_CRID#${A}.zip`;
    assert.equal(copyZipName(name, 1), name);
    assert.equal(copyZipName(name, 2), `X_1_M_2_CT_1.2_CRID#${A} (2).zip`);
    const third = copyZipName(name, 3);
    assert.equal(third, `X_1_M_2_CT_1.2_CRID#${A} (3).zip`);
    assert.deepEqual(cridsFromZipName(third), [A]);
  });

  it('gives up with ZipNameError past the last copy number', () => {
    assert.equal(copyZipName('a.zip', MAX_COPIES), `a (${MAX_COPIES}).zip`);
    assert.throws(() => copyZipName('a.zip', MAX_COPIES + 1), ZipNameError);
  });

  it('the reserve covers the longest copy suffix', () => {
    assert.equal(' (99999)'.length, COPY_SUFFIX_RESERVE);
  });
});
