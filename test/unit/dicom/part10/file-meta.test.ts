// File meta written by buildFileMeta, read back by readFileMeta and by dcmdump (DCMTK).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { DatasetDecodeError } from '../../../../src/dicom/errors.js';
import { buildFileMeta, readFileMeta } from '../../../../src/dicom/part10/file-meta.js';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'part10-meta-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

// (0010,0010) PN "Doe^John" in explicit VR little endian.
const DATASET = Buffer.concat([Buffer.from([0x10, 0x00, 0x10, 0x00]), Buffer.from('PN'), Buffer.from([8, 0]), Buffer.from('Doe^John')]);

const INPUT = {
  mediaStorageSopClassUid: '1.2.840.10008.5.1.4.1.1.7',
  mediaStorageSopInstanceUid: '1.2.3.4.5.6.7',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  implementationClassUid: '1.2.826.0.1.3680043.9.9',
  implementationVersionName: 'DICOMBRIDGE1',
  sourceApplicationEntityTitle: 'PACS',
};

async function dump(path: string, tagText: string): Promise<string> {
  const { stdout } = await run('dcmdump', ['-q', '-Un', '+P', tagText, path]);
  return stdout.trim();
}

describe('buildFileMeta / readFileMeta', () => {
  it('builds a preamble, DICM and group 0002 that dcmdump and readFileMeta read', async () => {
    const meta = buildFileMeta(INPUT);
    assert.ok(meta.subarray(0, 128).equals(Buffer.alloc(128)));
    assert.equal(meta.toString('latin1', 128, 132), 'DICM');
    assert.equal(meta.readUInt32LE(140), meta.length - 144, 'group length counts every byte after it');
    const path = join(tmp, 'built.dcm');
    writeFileSync(path, Buffer.concat([meta, DATASET]));

    assert.match(await dump(path, '0002,0010'), /^\(0002,0010\) UI \[1\.2\.840\.10008\.1\.2\.1\]/);
    assert.match(await dump(path, '0002,0000'), new RegExp(`^\\(0002,0000\\) UL ${meta.length - 144} `));
    assert.match(await dump(path, '0002,0001'), /^\(0002,0001\) OB 00\\01 /);
    assert.match(await dump(path, '0002,0003'), /^\(0002,0003\) UI \[1\.2\.3\.4\.5\.6\.7\]/);
    assert.match(await dump(path, '0002,0013'), /^\(0002,0013\) SH \[DICOMBRIDGE1\]/);
    assert.match(await dump(path, '0002,0016'), /^\(0002,0016\) AE \[PACS\]/);
    assert.match(await dump(path, '0010,0010'), /^\(0010,0010\) PN \[Doe\^John\]/);

    const read = await readFileMeta(path);
    assert.deepEqual(read, {
      transferSyntaxUid: INPUT.transferSyntaxUid,
      mediaStorageSopClassUid: INPUT.mediaStorageSopClassUid,
      mediaStorageSopInstanceUid: INPUT.mediaStorageSopInstanceUid,
      implementationClassUid: INPUT.implementationClassUid,
      implementationVersionName: INPUT.implementationVersionName,
      sourceApplicationEntityTitle: INPUT.sourceApplicationEntityTitle,
      datasetOffset: meta.length,
    });
  });

  it('pads odd UIDs with NUL and leaves out the AE title when not given', () => {
    const rest: Parameters<typeof buildFileMeta>[0] = { ...INPUT };
    delete rest.sourceApplicationEntityTitle;
    const meta = buildFileMeta(rest);
    const at = meta.indexOf(Buffer.from('1.2.3.4.5.6.7'));
    assert.equal(meta[at - 2], 14, 'length includes the pad');
    assert.equal(meta[at + 13], 0x00);
    assert.equal(meta.indexOf(Buffer.from([0x02, 0x00, 0x16, 0x00])), -1);
  });

  it('reads through a file handle and handles group 0002 larger than the first read', async () => {
    const base = buildFileMeta(INPUT);
    // (0002,0102) PrivateInformation OB of 40 KiB; the group length grows with it.
    const big = Buffer.concat([Buffer.from([0x02, 0x00, 0x02, 0x01]), Buffer.from('OB'), Buffer.alloc(2), Buffer.alloc(4), Buffer.alloc(40 * 1024, 7)]);
    big.writeUInt32LE(40 * 1024, 8);
    const meta = Buffer.concat([base, big]);
    meta.writeUInt32LE(meta.readUInt32LE(140) + big.length, 140);
    const path = join(tmp, 'big.dcm');
    writeFileSync(path, Buffer.concat([meta, DATASET]));
    const fh = await open(path, 'r');
    try {
      const read = await readFileMeta(fh);
      assert.equal(read.datasetOffset, meta.length);
      assert.equal(read.transferSyntaxUid, INPUT.transferSyntaxUid);
      const byFd = await readFileMeta(fh.fd);
      assert.equal(byFd.datasetOffset, meta.length);
    } finally {
      await fh.close();
    }
    assert.match(await dump(path, '0010,0010'), /Doe\^John/);
  });

  it('reads a file without (0002,0000)', async () => {
    const read = await readFileMeta(join(TEST_FILES, 'no_meta_group_length.dcm'));
    assert.equal(read.transferSyntaxUid, '1.2.840.10008.1.2');
    const meta = buildFileMeta(INPUT);
    const withoutGroupLength = Buffer.concat([meta.subarray(0, 132), meta.subarray(144)]);
    const path = join(tmp, 'nogl.dcm');
    writeFileSync(path, Buffer.concat([withoutGroupLength, DATASET]));
    const mine = await readFileMeta(path);
    assert.equal(mine.datasetOffset, withoutGroupLength.length);
  });

  it('refuses files without DICM, truncated meta, or no transfer syntax', async () => {
    await assert.rejects(readFileMeta(join(TEST_FILES, 'rtstruct.dcm')), DatasetDecodeError);
    await assert.rejects(readFileMeta(join(TEST_FILES, 'no_meta.dcm')), DatasetDecodeError);
    await assert.rejects(readFileMeta(join(TEST_FILES, 'meta_missing_tsyntax.dcm')), DatasetDecodeError);
    const path = join(tmp, 'cut.dcm');
    writeFileSync(path, buildFileMeta(INPUT).subarray(0, 150));
    await assert.rejects(readFileMeta(path), DatasetDecodeError);
    writeFileSync(path, Buffer.alloc(10));
    await assert.rejects(readFileMeta(path), DatasetDecodeError);
  });
});
