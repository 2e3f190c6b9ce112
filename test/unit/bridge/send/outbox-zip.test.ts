/**
 * OutboxZip against normal archives of real files (pydicom's samples: several transfer
 * syntaxes, deflated and JPEG) and against hostile archives made by patching the bytes of a
 * yazl-made ZIP where yazl refuses to write them (`..` names, symlinks, encryption flags,
 * duplicates, lying sizes, truncation).
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yazl from 'yazl';
import {
  DEFAULT_ZIP_LIMITS,
  OutboxZip,
  OutboxZipError,
  isZipComplete,
  type ZipLimits,
} from '../../../../src/bridge/send/outbox-zip.js';
import { buildFileMeta, parseFileMeta, readFileMeta } from '../../../../src/dicom/part10/file-meta.js';
import { DatasetDecodeError } from '../../../../src/dicom/errors.js';
import { tempDir } from '../../../support/bridge-harness.js';

const SAMPLES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const REAL_FILES = [
  'CT_small.dcm', // explicit VR little endian
  'MR_small_bigendian.dcm', // explicit VR big endian
  'image_dfl.dcm', // deflated explicit VR little endian
  'JPEG-lossy.dcm', // JPEG extended (process 2+4)
  'MR_small_RLE.dcm', // RLE lossless
  'JPEG2000.dcm', // JPEG 2000
];

interface EntrySpec {
  name: string;
  data: Buffer;
  compress?: boolean;
  mode?: number;
  dir?: boolean;
}

/** Builds a ZIP in memory with yazl. */
function makeZip(entries: EntrySpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.dir === true) zip.addEmptyDirectory(e.name);
    else zip.addBuffer(e.data, e.name, { compress: e.compress ?? true, ...(e.mode === undefined ? {} : { mode: e.mode }) });
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Replaces every occurrence of a same-length byte string (entry names appear in both headers). */
function replaceAll(buf: Buffer, from: string, to: string): Buffer {
  assert.equal(Buffer.byteLength(from), Buffer.byteLength(to));
  const out = Buffer.from(buf);
  const needle = Buffer.from(from);
  let hits = 0;
  for (let i = out.indexOf(needle); i >= 0; i = out.indexOf(needle, i + 1)) {
    out.write(to, i);
    hits += 1;
  }
  assert.ok(hits > 0, `${from} not found`);
  return out;
}

/** Offsets of every header with this signature (local 0x04034b50, central 0x02014b50). */
function headers(buf: Buffer, signature: number): number[] {
  const sig = Buffer.alloc(4);
  sig.writeUInt32LE(signature);
  const found: number[] = [];
  for (let i = buf.indexOf(sig); i >= 0; i = buf.indexOf(sig, i + 1)) found.push(i);
  return found;
}
const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;

/** A small synthetic Part 10 file (explicit VR little endian dataset). */
function dicomFile(sopInstanceUid: string, opts: { sopClassUid?: string; datasetBytes?: number } = {}): Buffer {
  const meta = buildFileMeta({
    mediaStorageSopClassUid: opts.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.7',
    mediaStorageSopInstanceUid: sopInstanceUid,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'TEST',
  });
  // (0008,0018) UI, then an OB blob of pseudo-random bytes (incompressible).
  const uid = Buffer.from(sopInstanceUid.length % 2 === 0 ? sopInstanceUid : `${sopInstanceUid}\0`, 'latin1');
  const el = Buffer.alloc(8);
  el.writeUInt16LE(0x0008, 0);
  el.writeUInt16LE(0x0018, 2);
  el.write('UI', 4, 'latin1');
  el.writeUInt16LE(uid.length, 6);
  const blobLength = opts.datasetBytes ?? 4096;
  const blobHead = Buffer.alloc(12);
  blobHead.writeUInt16LE(0x7fe0, 0);
  blobHead.writeUInt16LE(0x0010, 2);
  blobHead.write('OB', 4, 'latin1');
  blobHead.writeUInt32LE(blobLength, 8);
  const blob = Buffer.alloc(blobLength);
  let x = 12345;
  for (let i = 0; i < blobLength; i += 1) {
    x = (x * 1103515245 + 12345) >>> 0;
    blob[i] = x >>> 24;
  }
  return Buffer.concat([meta, el, uid, blobHead, blob]);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

let dir: string;
let counter = 0;
async function zipFile(content: Buffer): Promise<string> {
  counter += 1;
  const path = join(dir, `z${counter}.zip`);
  await writeFile(path, content);
  return path;
}

/** Opens the archive and expects an OutboxZipError whose reason matches. */
async function expectRejected(content: Buffer, reason: RegExp, limits?: Partial<ZipLimits>): Promise<OutboxZipError> {
  const path = await zipFile(content);
  let caught: unknown;
  try {
    const zip = await OutboxZip.open(path, limits);
    await zip.close();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OutboxZipError, `expected OutboxZipError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_OUTBOX_ZIP');
  assert.match(caught.reason, reason);
  assert.ok(!caught.reason.includes('\n'), 'reason is one line');
  return caught;
}

before(async () => {
  dir = await tempDir('outbox-zip-');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OutboxZip with real files', () => {
  it('lists each instance with its UIDs and streams the bytes after the file meta', async () => {
    const originals = new Map<string, Buffer>();
    const specs: EntrySpec[] = [];
    for (const [i, name] of REAL_FILES.entries()) {
      const data = await readFile(join(SAMPLES, name));
      originals.set(`study/${name}`, data);
      specs.push({ name: `study/${name}`, data, compress: i % 2 === 0 });
    }
    specs.push({ name: 'study/', data: Buffer.alloc(0), dir: true });
    specs.push({ name: 'README.txt', data: Buffer.from('Not DICOM, just a note for the person who opens the ZIP.\n'.repeat(5)) });
    specs.push({ name: 'DICOMDIR', data: await readFile(join(SAMPLES, 'dicomdirtests/DICOMDIR')) });
    const path = await zipFile(await makeZip(specs));

    const zip = await OutboxZip.open(path);
    try {
      assert.deepEqual(zip.instances.map((i) => i.entryName), REAL_FILES.map((n) => `study/${n}`));
      for (const instance of zip.instances) {
        const original = originals.get(instance.entryName)!;
        const meta = await readFileMeta(join(SAMPLES, instance.entryName.slice('study/'.length)));
        assert.equal(instance.sopClassUid, meta.mediaStorageSopClassUid);
        assert.equal(instance.sopInstanceUid, meta.mediaStorageSopInstanceUid);
        assert.equal(instance.transferSyntaxUid, meta.transferSyntaxUid);
        assert.equal(instance.datasetOffset, meta.datasetOffset);
        assert.equal(instance.uncompressedSize, original.length);
        const bytes = await readAll(await zip.openDataset(instance));
        assert.ok(bytes.equals(original.subarray(meta.datasetOffset)), `${instance.entryName} dataset bytes differ`);
        assert.ok((await zip.readDataset(instance)).equals(bytes), `${instance.entryName} read whole differs from streamed`);
      }
      const transferSyntaxes = new Set(zip.instances.map((i) => i.transferSyntaxUid));
      assert.ok(transferSyntaxes.has('1.2.840.10008.1.2.1.99'), 'deflated sample present');
      assert.ok(transferSyntaxes.has('1.2.840.10008.1.2.4.51'), 'JPEG sample present');
      assert.deepEqual(
        [...zip.skipped].sort((a, b) => a.entryName.localeCompare(b.entryName)),
        [
          { entryName: 'DICOMDIR', reason: 'DICOMDIR' },
          { entryName: 'README.txt', reason: 'not DICOM (no "DICM" at offset 128)' },
          { entryName: 'study/', reason: 'directory' },
        ],
      );
    } finally {
      await zip.close();
    }
  });

  it("names each instance by its dataset's UIDs and says where the file meta disagrees (pydicom's rtplan.dcm)", async () => {
    const rtplan = await readFile(join(SAMPLES, 'rtplan.dcm'));
    const ct = await readFile(join(SAMPLES, 'CT_small.dcm'));
    const path = await zipFile(await makeZip([{ name: 'rtplan.dcm', data: rtplan, compress: true }, { name: 'ct.dcm', data: ct }]));
    const zip = await OutboxZip.open(path);
    try {
      const [plan, image] = zip.instances;
      assert.equal(plan!.sopClassUid, '1.2.840.10008.5.1.4.1.1.481.5');
      assert.equal(plan!.sopInstanceUid, '1.2.777.777.77.7.7777.7777.20030903150023');
      assert.match(plan!.metaDisagrees ?? '', /MediaStorageSOPInstanceUID 1\.2\.999\.999\.99\.9\.9999\.9999\.20030903150023 but SOPInstanceUID 1\.2\.777/);
      assert.equal(image!.metaDisagrees, undefined, 'a file whose meta agrees has no note');
    } finally {
      await zip.close();
    }
  });

  it('lets a transient file-system error through unwrapped (retry later), and wraps a missing file', async () => {
    const path = await zipFile(await makeZip([{ name: 'ct.dcm', data: await readFile(join(SAMPLES, 'CT_small.dcm')) }]));
    for (const code of ['EBUSY', 'EIO', 'EPERM', 'EMFILE']) {
      const busy = Object.assign(new Error(`${code}: open '${path}'`), { code, syscall: 'open' });
      await assert.rejects(OutboxZip.open(path, {}, { open: () => Promise.reject(busy) }), (err: unknown) => err === busy);
    }
    await assert.rejects(OutboxZip.open(join(dir, 'missing.zip')), (err: unknown) => err instanceof OutboxZipError);
  });

  it('readDataset: many small entries held at once stay intact while read windows are reused; large ones are freed on release', async () => {
    // 300 small entries (stored and deflated, ~2 KB each) span many 64 KiB windows; two large ones have memory of their own.
    const specs: EntrySpec[] = Array.from({ length: 300 }, (_, i) => ({ name: `s/${i}.dcm`, data: dicomFile(`1.2.3.40.${i}`, { datasetBytes: 2000 + i * 2 }), compress: i % 2 === 0 }));
    specs.push({ name: 'big-stored.dcm', data: dicomFile('1.2.3.41', { datasetBytes: 300_000 }), compress: false });
    specs.push({ name: 'big-deflated.dcm', data: dicomFile('1.2.3.42', { datasetBytes: 300_000 }) });
    const zip = await OutboxZip.open(await zipFile(await makeZip(specs)));
    try {
      const held = await Promise.all(zip.instances.map((instance) => zip.readDataset(instance)));
      zip.instances.forEach((instance, i) => {
        const original = specs.find((s) => s.name === instance.entryName)!.data;
        assert.ok(held[i]!.equals(original.subarray(instance.datasetOffset)), `${instance.entryName} intact`);
      });
      const small = held[0]!;
      const big = held.at(-1)!;
      zip.releaseDataset(small);
      zip.releaseDataset(big);
      assert.ok(small.equals(specs[0]!.data.subarray(zip.instances[0]!.datasetOffset)), 'a small dataset is left to the collector');
      assert.equal(big.length, 0, 'a large dataset is freed at once');
    } finally {
      await zip.close();
    }
  });

  it('skips a file shorter than a preamble and reads a dataset twice', async () => {
    const file = dicomFile('1.2.3.4.5');
    const path = await zipFile(await makeZip([{ name: 'a.dcm', data: file }, { name: 'tiny', data: Buffer.from('hi') }]));
    const zip = await OutboxZip.open(path);
    try {
      assert.equal(zip.instances.length, 1);
      assert.deepEqual(zip.skipped, [{ entryName: 'tiny', reason: 'not DICOM (shorter than a Part 10 preamble)' }]);
      const offset = zip.instances[0]!.datasetOffset;
      assert.ok((await readAll(await zip.openDataset(zip.instances[0]!))).equals(file.subarray(offset)));
      assert.ok((await readAll(await zip.openDataset(zip.instances[0]!))).equals(file.subarray(offset)));
    } finally {
      await zip.close();
    }
  });

  it('refuses openDataset after close, and close ends a dataset still being read', async () => {
    const path = await zipFile(await makeZip([{ name: 'a.dcm', data: dicomFile('1.2.3.4.6', { datasetBytes: 1 << 20 }) }]));
    const zip = await OutboxZip.open(path);
    const stream = await zip.openDataset(zip.instances[0]!);
    const failed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    await zip.close();
    assert.ok((await failed) instanceof OutboxZipError);
    await assert.rejects(zip.openDataset(zip.instances[0]!), OutboxZipError);
  });

  it('has generous defaults', () => {
    assert.deepEqual({ ...DEFAULT_ZIP_LIMITS }, {
      maxEntries: 100_000, maxEntryBytes: 8 * 1024 ** 3, maxTotalBytes: 64 * 1024 ** 3, maxCompressionRatio: 200,
    });
  });
});

describe('OutboxZip with hostile archives', () => {
  const good = (uid = '1.2.3.9'): EntrySpec => ({ name: 'good.dcm', data: dicomFile(uid) });

  it('rejects a name with ".."', async () => {
    const zip = replaceAll(await makeZip([good(), { name: 'xx/evil.dcm', data: dicomFile('1.2.3.10') }]), 'xx/evil.dcm', '../evil.dcm');
    await expectRejected(zip, /unsafe entry name.*\.\.\/evil\.dcm/);
  });

  it('rejects an absolute path', async () => {
    const zip = replaceAll(await makeZip([good(), { name: 'xetc/evil', data: Buffer.from('x') }]), 'xetc/evil', '/etc/evil');
    await expectRejected(zip, /unsafe entry name.*\/etc\/evil/);
  });

  it('rejects drive letters, with and without a slash', async () => {
    const made = await makeZip([good(), { name: 'Cx/evil', data: Buffer.from('x') }]);
    await expectRejected(replaceAll(made, 'Cx/evil', 'C:/evil'), /unsafe entry name/);
    await expectRejected(replaceAll(made, 'Cx/evil', 'C:xevil'), /unsafe entry name.*C:xevil/);
  });

  it('rejects a backslash and a control character in a name', async () => {
    const made = await makeZip([good(), { name: 'a_b.dcm', data: Buffer.from('x') }]);
    await expectRejected(replaceAll(made, 'a_b.dcm', 'a\\b.dcm'), /unsafe entry name/);
    await expectRejected(replaceAll(made, 'a_b.dcm', 'a\nb.dcm'), /entry "a\\nb\.dcm": unsafe entry name \(name contains control characters\)/);
  });

  it('rejects a symbolic link entry', async () => {
    await expectRejected(await makeZip([good(), { name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), /entry "link": symbolic link entry/);
  });

  it('rejects a symbolic link whose mode was patched into the central directory', async () => {
    const made = await makeZip([good(), { name: 'link', data: Buffer.from('/etc/passwd'), compress: false }]);
    const central = headers(made, CENTRAL)[1]!;
    made.writeUInt32LE((0o120777 << 16) >>> 0, central + 38);
    made.writeUInt16LE((3 << 8) | 20, central + 4); // made by Unix
    await expectRejected(made, /entry "link": symbolic link entry/);
  });

  it('rejects an encrypted entry (flag in the central directory)', async () => {
    const made = await makeZip([good(), { name: 'secret.dcm', data: dicomFile('1.2.3.11') }]);
    const central = headers(made, CENTRAL)[1]!;
    made.writeUInt16LE(made.readUInt16LE(central + 8) | 1, central + 8);
    await expectRejected(made, /entry "secret\.dcm": encrypted entry/);
  });

  it('rejects an entry encrypted only in its local header', async () => {
    const made = await makeZip([good(), { name: 'secret.dcm', data: dicomFile('1.2.3.11') }]);
    const local = headers(made, LOCAL)[1]!;
    made.writeUInt16LE(made.readUInt16LE(local + 6) | 1, local + 6);
    await expectRejected(made, /entry "secret\.dcm": local header disagrees with the central directory \(encryption flag\)/);
  });

  it('rejects a local name that differs from the central one', async () => {
    const made = await makeZip([good(), { name: 'aaaa.dcm', data: dicomFile('1.2.3.12') }]);
    const local = headers(made, LOCAL)[1]!;
    made.write('../a', local + 30, 'latin1');
    await expectRejected(made, /entry "aaaa\.dcm": local header disagrees with the central directory \(name\)/);
  });

  it('rejects duplicate names', async () => {
    const made = await makeZip([{ name: 'aaaa.dcm', data: dicomFile('1.2.3.13') }, { name: 'bbbb.dcm', data: dicomFile('1.2.3.14') }]);
    await expectRejected(replaceAll(made, 'bbbb.dcm', 'aaaa.dcm'), /entry "aaaa\.dcm": duplicate entry name/);
  });

  it('rejects more entries than the limit', async () => {
    const made = await makeZip([good('1.2.3.15'), { name: 'b.txt', data: Buffer.from('b') }, { name: 'c.txt', data: Buffer.from('c') }]);
    await expectRejected(made, /too many entries: 3 \(limit 2\)/, { maxEntries: 2 });
    const path = await zipFile(made);
    const zip = await OutboxZip.open(path, { maxEntries: 3 });
    await zip.close();
  });

  it('rejects an entry or a total over the size limits', async () => {
    const made = await makeZip([{ name: 'a.dcm', data: dicomFile('1.2.3.16') }, { name: 'b.dcm', data: dicomFile('1.2.3.17') }]);
    const size = dicomFile('1.2.3.16').length;
    await expectRejected(made, new RegExp(`entry "a\\.dcm": too large: ${size} bytes uncompressed \\(limit ${size - 1}\\)`), { maxEntryBytes: size - 1 });
    await expectRejected(made, /entry "b\.dcm": archive too large/, { maxTotalBytes: size + 10 });
  });

  it('rejects a zip bomb by its compression ratio, and accepts the same when small', async () => {
    const zeros = Buffer.concat([dicomFile('1.2.3.18', { datasetBytes: 0 }), Buffer.alloc(8 << 20)]);
    await expectRejected(await makeZip([good(), { name: 'bomb.dcm', data: zeros }]), /entry "bomb\.dcm": compression ratio \d+:1 over the limit 200:1/);
    const small = Buffer.concat([dicomFile('1.2.3.19', { datasetBytes: 0 }), Buffer.alloc(512 << 10)]);
    const zip = await OutboxZip.open(await zipFile(await makeZip([good(), { name: 'zeros.dcm', data: small }])));
    assert.equal(zip.instances.length, 2);
    await zip.close();
  });

  it('rejects a stored entry whose sizes lie', async () => {
    const made = await makeZip([good(), { name: 'liar.dcm', data: dicomFile('1.2.3.20'), compress: false }]);
    const central = headers(made, CENTRAL)[1]!;
    made.writeUInt32LE(made.readUInt32LE(central + 24) - 100, central + 24);
    await expectRejected(made, /corrupt or truncated ZIP/);
  });

  it('rejects a deflated entry whose uncompressed size lies (in both headers), when reading its head', async () => {
    const made = await makeZip([good(), { name: 'liar.dcm', data: dicomFile('1.2.3.21') }]);
    const central = headers(made, CENTRAL)[1]!;
    const local = headers(made, LOCAL)[1]!;
    made.writeUInt32LE(200, central + 24);
    if ((made.readUInt16LE(local + 6) & 8) === 0) made.writeUInt32LE(200, local + 22);
    await expectRejected(made, /entry "liar\.dcm": (corrupt or truncated ZIP|claims to be DICOM but is not)/);
  });

  it('fails the dataset stream of a deflated entry whose size lies beyond the head', async () => {
    const file = dicomFile('1.2.3.22', { datasetBytes: 200_000 });
    const made = await makeZip([{ name: 'liar.dcm', data: file }]);
    const central = headers(made, CENTRAL)[0]!;
    const local = headers(made, LOCAL)[0]!;
    made.writeUInt32LE(file.length - 1000, central + 24);
    if ((made.readUInt16LE(local + 6) & 8) === 0) made.writeUInt32LE(file.length - 1000, local + 22);
    const zip = await OutboxZip.open(await zipFile(made));
    try {
      await assert.rejects(readAll(await zip.openDataset(zip.instances[0]!)), (err: unknown) => {
        assert.ok(err instanceof OutboxZipError);
        assert.match(err.reason, /entry "liar\.dcm": more data than the \d+ bytes its header declares/);
        return true;
      });
    } finally {
      await zip.close();
    }
  });

  it('readDataset refuses a deflated entry whose size lies and a corrupt stored entry, as the stream does', async () => {
    const file = dicomFile('1.2.3.25', { datasetBytes: 200_000 });
    const liar = await makeZip([{ name: 'liar.dcm', data: file }]);
    liar.writeUInt32LE(file.length - 1000, headers(liar, CENTRAL)[0]! + 24);
    const local = headers(liar, LOCAL)[0]!;
    if ((liar.readUInt16LE(local + 6) & 8) === 0) liar.writeUInt32LE(file.length - 1000, local + 22);
    let zip = await OutboxZip.open(await zipFile(liar));
    try {
      await assert.rejects(zip.readDataset(zip.instances[0]!), (err: unknown) => {
        assert.ok(err instanceof OutboxZipError);
        assert.match(err.reason, /entry "liar\.dcm": more data than the \d+ bytes its header declares/);
        return true;
      });
    } finally {
      await zip.close();
    }
    const flipped = dicomFile('1.2.3.26', { datasetBytes: 50_000 });
    const stored = await makeZip([{ name: 'flip.dcm', data: flipped, compress: false }]);
    stored[stored.indexOf(flipped.subarray(flipped.length - 64)) + 10]! ^= 0xff;
    zip = await OutboxZip.open(await zipFile(stored));
    try {
      await assert.rejects(zip.readDataset(zip.instances[0]!), /entry "flip\.dcm": CRC-32 mismatch/);
    } finally {
      await zip.close();
    }
  });

  it('fails the dataset stream when a stored entry is corrupt (CRC-32)', async () => {
    const file = dicomFile('1.2.3.23', { datasetBytes: 50_000 });
    const made = await makeZip([{ name: 'flip.dcm', data: file, compress: false }]);
    const at = made.indexOf(file.subarray(file.length - 64));
    made[at + 10]! ^= 0xff;
    const zip = await OutboxZip.open(await zipFile(made));
    try {
      await assert.rejects(readAll(await zip.openDataset(zip.instances[0]!)), /CRC-32 mismatch/);
    } finally {
      await zip.close();
    }
  });

  it('rejects a truncated archive and one with a damaged central directory', async () => {
    const made = await makeZip([good(), { name: 'b.dcm', data: dicomFile('1.2.3.24') }]);
    await expectRejected(made.subarray(0, made.length - 30), /not a readable ZIP/);
    await expectRejected(made.subarray(0, Math.floor(made.length / 2)), /not a readable ZIP/);
    const damaged = Buffer.from(made);
    damaged.writeUInt32LE(0x12345678, headers(made, CENTRAL)[1]!);
    await expectRejected(damaged, /corrupt or truncated ZIP \(invalid central directory file header signature/);
  });

  it('rejects an entry with "DICM" whose file meta is broken', async () => {
    const file = dicomFile('1.2.3.25');
    file.writeUInt16LE(0xfff0, 132 + 6); // (0002,0000) UL length runs past the file meta
    await expectRejected(await makeZip([good(), { name: 'broken.dcm', data: file.subarray(0, 300) }]), /entry "broken\.dcm": claims to be DICOM but is not/);
    const cut = dicomFile('1.2.3.26').subarray(0, 150);
    await expectRejected(await makeZip([good(), { name: 'cut.dcm', data: cut }]), /entry "cut\.dcm": claims to be DICOM but is not \(file ends inside the file meta\)/);
  });

  it('rejects an entry with "DICM" that lacks a SOP instance UID or has a bad one', async () => {
    const empty = dicomFile('1.2.3.27');
    // Blank the MediaStorageSOPInstanceUID value: it becomes NULs, i.e. empty.
    const uidAt = empty.indexOf(Buffer.from('1.2.3.27'));
    empty.fill(0, uidAt, uidAt + 8);
    await expectRejected(await makeZip([good(), { name: 'nouid.dcm', data: empty }]), /entry "nouid\.dcm": claims to be DICOM but is not \(no MediaStorageSOPInstanceUID in the file meta\)/);
    const bad = dicomFile('1.2.3.28');
    bad.write('1.2.x.28', bad.indexOf(Buffer.from('1.2.3.28')), 'latin1');
    await expectRejected(await makeZip([good(), { name: 'baduid.dcm', data: bad }]), /MediaStorageSOPInstanceUID "1\.2\.x\.28" is not a valid UID/);
  });

  it('rejects a file meta longer than 64 KiB without reading further', async () => {
    const head = Buffer.alloc(132 + 12);
    head.write('DICM', 128, 'latin1');
    head.writeUInt16LE(0x0002, 132);
    head.writeUInt16LE(0x0001, 134);
    head.write('OB', 136, 'latin1');
    head.writeUInt32LE(100_000, 140);
    const file = Buffer.concat([head, Buffer.alloc(100_000, 1), Buffer.alloc(1 << 20, 2)]);
    await expectRejected(await makeZip([good(), { name: 'long.dcm', data: file, compress: false }]), /entry "long\.dcm": claims to be DICOM but is not \(file meta longer than 65536 bytes\)/);
  });

  it('rejects a ZIP with no DICOM instance', async () => {
    await expectRejected(await makeZip([{ name: 'README.txt', data: Buffer.from('hello') }, { name: 'DICOMDIR', data: dicomFile('1.2.3.29', { sopClassUid: '1.2.840.10008.1.3.10' }) }]), /^no DICOM instance in the ZIP$/);
    await expectRejected(await makeZip([]), /^no DICOM instance in the ZIP$/);
  });

  it('rejects a non-ZIP file', async () => {
    await expectRejected(Buffer.from('this is not a zip at all, but it is long enough to look for one'), /not a readable ZIP/);
  });
});

describe('isZipComplete', () => {
  it('is true for a whole ZIP (also with a comment) and false for one cut short or missing', async () => {
    const made = await makeZip([good(), { name: 'b.txt', data: Buffer.alloc(5000, 7) }]);
    assert.equal(await isZipComplete(await zipFile(made)), true);
    for (const cut of [0, 10, 21, Math.floor(made.length / 2), made.length - 22, made.length - 1]) {
      assert.equal(await isZipComplete(await zipFile(made.subarray(0, cut))), false, `cut at ${cut}`);
    }
    assert.equal(await isZipComplete(join(dir, 'missing.zip')), false);
    const empty = await makeZip([]);
    assert.equal(await isZipComplete(await zipFile(empty)), true);
    const commented = new yazl.ZipFile();
    commented.addBuffer(Buffer.from('x'), 'x.txt');
    commented.end({ forceZip64Format: false, comment: 'written by a test' });
    const chunks: Buffer[] = [];
    for await (const c of commented.outputStream as AsyncIterable<Buffer>) chunks.push(c);
    const withComment = Buffer.concat(chunks);
    assert.equal(await isZipComplete(await zipFile(withComment)), true);
    assert.equal(await isZipComplete(await zipFile(withComment.subarray(0, withComment.length - 3))), false);
    function good(): EntrySpec {
      return { name: 'a.dcm', data: dicomFile('1.2.3.30') };
    }
  });

  it('is false while the writer is still writing, even right after a stored inner ZIP ends', async () => {
    const inner = await makeZip([{ name: 'inner.dcm', data: dicomFile('1.2.3.31') }]);
    const outer = await makeZip([{ name: 'nested.zip', data: inner, compress: false }, { name: 'after.txt', data: Buffer.from('tail') }]);
    const innerEnd = outer.indexOf(inner) + inner.length;
    assert.ok(innerEnd > inner.length);
    assert.equal(await isZipComplete(await zipFile(outer.subarray(0, innerEnd))), false);
    assert.equal(await isZipComplete(await zipFile(outer)), true);

    // A real writer: yazl's output appended chunk by chunk to the file.
    const path = join(dir, 'growing.zip');
    await writeFile(path, Buffer.alloc(0));
    const zip = new yazl.ZipFile();
    zip.addBuffer(dicomFile('1.2.3.32', { datasetBytes: 300_000 }), 'a.dcm', { compress: false });
    zip.addBuffer(Buffer.from('notes'), 'notes.txt');
    zip.end();
    const seen: boolean[] = [];
    for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) {
      await writeFile(path, chunk, { flag: 'a' });
      seen.push(await isZipComplete(path));
    }
    assert.ok(seen.length > 1);
    assert.deepEqual(seen.slice(0, -1).filter((v) => v), [], 'never complete before the last chunk');
    assert.equal(seen.at(-1), true);
  });

  it('handles ZIP64 end records', async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(dicomFile('1.2.3.33'), 'a.dcm', { forceZip64Format: true });
    zip.end({ forceZip64Format: true, comment: '' });
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
    const made = Buffer.concat(chunks);
    const path = await zipFile(made);
    assert.equal(await isZipComplete(path), true);
    assert.equal(await isZipComplete(await zipFile(made.subarray(0, made.length - 1))), false);
    const opened = await OutboxZip.open(path);
    assert.equal(opened.instances[0]!.sopInstanceUid, '1.2.3.33');
    await opened.close();
  });
});

describe('parseFileMeta (head of a stream)', () => {
  it('asks for more bytes until group 0002 is complete, then gives the same as readFileMeta', async () => {
    const file = dicomFile('1.2.3.40');
    const path = join(dir, 'meta.dcm');
    await writeFile(path, file);
    const expected = await readFileMeta(path);
    assert.equal(parseFileMeta(file.subarray(0, 100)), null);
    assert.equal(parseFileMeta(file.subarray(0, expected.datasetOffset - 3)), null);
    assert.deepEqual(parseFileMeta(file.subarray(0, expected.datasetOffset + 8)), expected);
    assert.deepEqual(parseFileMeta(file), expected);
  });

  it('throws at the end of the input instead of asking for more', () => {
    const file = dicomFile('1.2.3.41');
    assert.throws(() => parseFileMeta(file.subarray(0, 100), true), DatasetDecodeError);
    assert.throws(() => parseFileMeta(file.subarray(0, 150), true), /file ends inside the file meta/);
    assert.throws(() => parseFileMeta(Buffer.alloc(200)), /no "DICM"/);
  });
});
