/**
 * Acceptance (issue: Send) against real peers: ZIPs dropped into Outbox_Auto reach DCMTK
 * storescp and Orthanc byte for byte, the ZIP is deleted and the log book has a Success row;
 * a ZIP still being written is not taken early; a PACS that is down is retried then the ZIP
 * goes to Outbox_Failed with the reason; a PACS refusing a transfer syntax → Outbox_Failed
 * with that reason; `dicombridge echo` succeeds or names the failure.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { open, readFile, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bridge } from '../../src/app.js';
import { datasetOf, list, nextEvents, removeDir, sendOverrides, sopUidOf, startBridge, tempDir } from '../support/bridge-harness.js';
import { freePort, storescu } from '../support/peers/dcmtk.js';
import { startOrthanc, type OrthancPeer } from '../support/peers/orthanc.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy } from '../support/study-files.js';
import { writeZip } from '../support/zip-files.js';
import yazl from 'yazl';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
/** Real files (distinct SOP Instance UIDs) of several SOP classes and transfer syntaxes: explicit/implicit LE, BE, deflated, JPEG, RLE, J2K. */
/**
 * The dataset as a PACS receives it: the file's bytes, a deflated one padded to even length
 * with a NUL as PS3.5 §A.5 asks (DCMTK refuses odd fragments).
 */
async function expectedDataset(file: string): Promise<Buffer> {
  const dataset = datasetOf(await readFile(file));
  return dataset.length % 2 === 1 ? Buffer.concat([dataset, Buffer.alloc(1)]) : dataset;
}

const REAL_FILES = ['CT_small.dcm', 'ExplVR_BigEnd.dcm', 'MR_small_implicit.dcm', 'image_dfl.dcm', 'JPEG-lossy.dcm',
  'SC_rgb_rle.dcm', 'JPEG2000.dcm', 'SC_rgb_dcmtk_+eb+cr.dcm', 'waveform_ecg.dcm', 'test-SR.dcm'].map((f) => join(PYDICOM, f));

/**
 * Receives a generated study with storescu, drops the bridge's own ZIP of it into Outbox_Auto
 * and checks that every dataset reached the PACS byte for byte (`received` lists its files).
 */
async function roundTrip(bridge: Bridge, dir: string, count: number, received: () => Promise<Buffer[]>): Promise<void> {
  const study = await writeStudy(dir, { count });
  const zipped = nextEvents(bridge, 'study', 1);
  await storescu(bridge.receivePort!, study.files);
  const [made] = await zipped;
  const sent = nextEvents(bridge, 'send', 1);
  await copyFile(made!.path, join(bridge.layout.outboxAuto, 'roundtrip.zip'));
  const [outcome] = await sent;
  assert.equal(outcome!.status, 'Success', outcome!.reason);
  assert.equal(outcome!.sent, count);
  assert.deepEqual(await list(bridge.layout.outboxAuto), []);
  const byUid = new Map((await received()).map((file) => {
    const ds = datasetOf(file);
    return [sopUidOf(ds), ds] as const;
  }));
  for (const [uid, dataset] of study.datasets) assert.ok(byUid.get(uid)?.equals(dataset), `${uid} arrived byte-identical`);
}

describe('sending Outbox_Auto ZIPs to a PACS', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeDir(work);
  });

  describe('to DCMTK storescp', () => {
    let storage: string;
    let scp: StorescpPeer;
    let bridge: Bridge;
    before(async () => {
      storage = await tempDir();
      scp = await startStorescp({ outDir: join(work, 'storescp'), aeTitle: 'PACS', extraArgs: ['+xa'] });
      bridge = await startBridge(storage, sendOverrides(scp.port));
    });
    after(async () => {
      await bridge.stop();
      await scp.stop();
      await removeDir(storage);
    });

    test('round trip: a ZIP made by the bridge\'s own receive path is sent byte for byte', async () => {
      await roundTrip(bridge, join(work, 'roundtrip'), 30, async () => Promise.all((await scp.files()).map((f) => readFile(f))));
      const [row] = bridge.logBook.latest(1);
      assert.equal(row!.action, 'Send');
      assert.equal(row!.status, 'Success');
      assert.equal(row!.instances, 30);
      assert.equal(row!.patientName, 'HOLTZMANN, Carsten');
    });

    test('a ZIP written slowly is not taken before it is complete', async () => {
      const study = await writeStudy(join(work, 'slow'), { count: 40, rows: 64, columns: 64 });
      const zipPath = join(work, 'slow.zip');
      await writeZip(zipPath, study.files);
      const bytes = await readFile(zipPath);
      const target = join(bridge.layout.outboxAuto, 'slow.zip');
      const sent = nextEvents(bridge, 'send', 1);
      const handle = await open(target, 'w');
      const pieces = 4;
      for (let i = 0; i < pieces; i += 1) {
        await handle.write(bytes.subarray(Math.floor((i * bytes.length) / pieces), Math.floor(((i + 1) * bytes.length) / pieces)));
        await handle.sync();
        if (i < pieces - 1) await new Promise((r) => setTimeout(r, 2500)); // the writer pauses longer than stableSeconds
      }
      await handle.close();
      // Taken early, the archive would not open (no central directory) and the send would fail.
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      assert.equal(outcome!.instances, 40, 'the whole ZIP was sent, not a truncated one');
    });

    test('real files of several SOP classes and transfer syntaxes arrive byte-identical; non-DICOM entries are skipped', async () => {
      const zipPath = join(bridge.layout.outboxAuto, 'real.zip');
      const sent = nextEvents(bridge, 'send', 1);
      await writeZip(join(work, 'real.zip'), REAL_FILES, { 'README.txt': 'not DICOM' });
      await copyFile(join(work, 'real.zip'), zipPath);
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      assert.equal(outcome!.instances, REAL_FILES.length);
      const received = (await Promise.all((await scp.files()).map((f) => readFile(f)))).map(datasetOf);
      for (const file of REAL_FILES) {
        const original = await expectedDataset(file);
        assert.ok(received.some((ds) => ds.equals(original)), `${file} arrived byte-identical`);
      }
    });

    test('dicombridge echo succeeds against storescp', async () => {
      const config = join(work, 'echo-ok.json');
      await writeFile(config, JSON.stringify({ storageFolder: join(work, 'echo-storage'), ...sendOverrides(scp.port), receive: { enabled: false } }));
      const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'echo', '--config', config]);
      assert.match(stdout, /succeeded/);
    });
  });

  test('PACS down → retried, then Outbox_Failed with the reason in the log book', async () => {
    const storage = await tempDir();
    const closedPort = await freePort();
    const bridge = await startBridge(storage, sendOverrides(closedPort));
    try {
      const study = await writeStudy(join(work, 'down'), { count: 3 });
      const sent = nextEvents(bridge, 'send', 1);
      await writeZip(join(bridge.layout.outboxAuto, 'down.zip'), study.files);
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Failed');
      assert.deepEqual(await list(bridge.layout.outboxFailed), ['down.zip']);
      const [row] = bridge.logBook.latest(1);
      assert.equal(row!.status, 'Failed');
      assert.match(row!.reason ?? '', /refused/i);
      assert.match(row!.reason ?? '', /3 attempts/);
    } finally {
      await bridge.stop();
      await removeDir(storage);
    }
  });

  test('a hostile ZIP (entry name with ..) → Outbox_Failed with the reason, nothing written outside', async () => {
    const storage = await tempDir();
    const bridge = await startBridge(storage, sendOverrides(await freePort()));
    try {
      const study = await writeStudy(join(work, 'hostile'), { count: 1 });
      const zipPath = join(work, 'hostile.zip');
      const zip = new yazl.ZipFile();
      zip.addFile(study.files[0]!, 'xx/evil.dcm');
      zip.end();
      const chunks: Buffer[] = [];
      for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
      // Same length, so every header stays consistent: "xx/" becomes "../" in local and central headers.
      const bytes = Buffer.from(Buffer.concat(chunks).toString('latin1').replaceAll('xx/evil.dcm', '../evil.dcm'), 'latin1');
      await writeFile(zipPath, bytes);
      const sent = nextEvents(bridge, 'send', 1);
      await copyFile(zipPath, join(bridge.layout.outboxAuto, 'hostile.zip'));
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Failed');
      assert.match(outcome!.reason ?? '', /\.\./);
      assert.deepEqual(await list(bridge.layout.outboxFailed), ['hostile.zip']);
      assert.ok(!(await list(join(storage, '..'))).includes('evil.dcm'));
    } finally {
      await bridge.stop();
      await removeDir(storage);
    }
  });

  test('SIGKILL during a send, then restart → every instance reaches the PACS', async () => {
    const storage = await tempDir();
    const scp = await startStorescp({ outDir: join(work, 'storescp-kill'), aeTitle: 'PACS', extraArgs: ['+xa'] });
    const config = join(work, 'kill.json');
    // The CLI serves its GUI too: never on a fixed port in tests.
    await writeFile(config, JSON.stringify({ storageFolder: storage, receive: { enabled: false }, gui: { port: await freePort() }, log: { level: 'warn' }, ...sendOverrides(scp.port) }));
    const child = spawn(process.execPath, [BIN, '-s', '--config', config], { stdio: 'ignore' });
    try {
      const study = await writeStudy(join(work, 'kill'), { count: 150, rows: 256, columns: 256 });
      await writeZip(join(work, 'kill.zip'), study.files);
      await copyFile(join(work, 'kill.zip'), join(storage, 'Outbox_Auto', 'kill.zip'));
      // Bounded wait until the PACS holds some but not all instances, then kill the bridge.
      for (let i = 0; i < 600 && (await scp.files()).length < 10; i += 1) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(null)));
      const before = (await scp.files()).length;
      assert.ok(before >= 10 && before < 150, `killed mid-send after ${before} instances`);
      const bridge = await startBridge(storage, sendOverrides(scp.port));
      try {
        const [outcome] = await nextEvents(bridge, 'send', 1);
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        const uids = new Set((await Promise.all((await scp.files()).map((f) => readFile(f)))).map((file) => sopUidOf(datasetOf(file))));
        for (const uid of study.sopUids) assert.ok(uids.has(uid), `${uid} lost`);
      } finally {
        await bridge.stop();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await scp.stop();
      await removeDir(storage);
    }
  });

  test('dicombridge echo names the failure: closed port', async () => {
    const config = join(work, 'echo-closed.json');
    await writeFile(config, JSON.stringify({ storageFolder: join(work, 'echo-storage'), ...sendOverrides(await freePort()) }));
    const result = await promisify(execFile)(process.execPath, [BIN, 'echo', '--config', config]).then(() => null, (err: { code: number; stdout: string }) => err);
    assert.ok(result, 'exit code is not 0');
    assert.equal(result.code, 1);
    assert.match(result.stdout, /connection refused/i);
  });

  describe('to Orthanc', () => {
    let storage: string;
    let orthanc: OrthancPeer;
    let bridge: Bridge;
    before(async () => {
      storage = await tempDir();
      orthanc = await startOrthanc({ dir: join(work, 'orthanc'), aeTitle: 'PACS', checkCalledAet: true });
      bridge = await startBridge(storage, sendOverrides(orthanc.dicomPort));
    });
    after(async () => {
      await bridge.stop();
      await orthanc.stop();
      await removeDir(storage);
    });

    test('round trip: a ZIP made by the bridge\'s own receive path is stored byte for byte', async () => {
      await roundTrip(bridge, join(work, 'roundtrip-orthanc'), 12, async () => Promise.all((await orthanc.instanceIds()).map((id) => orthanc.file(id))));
      assert.equal(bridge.logBook.latest(1)[0]!.status, 'Success');
    });

    test('real files arrive byte-identical', async () => {
      const before = (await orthanc.instanceIds()).length;
      const sent = nextEvents(bridge, 'send', 1);
      await writeZip(join(work, 'orthanc.zip'), REAL_FILES);
      await copyFile(join(work, 'orthanc.zip'), join(bridge.layout.outboxAuto, 'orthanc.zip'));
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      const stored = await Promise.all((await orthanc.instanceIds()).map(async (id) => datasetOf(await orthanc.file(id))));
      assert.equal(stored.length - before, REAL_FILES.length, 'every instance stored');
      // Orthanc 1.10 writes some datasets anew when it stores them (seen: the deflated one is no
      // longer compressed; encapsulated JPEG and the waveform come back re-encoded). The bytes we
      // sent are proven exact by storescp in bit-preserving mode above; here those are only
      // checked to be stored.
      const rewrittenByOrthanc = ['image_dfl.dcm', 'JPEG-lossy.dcm', 'JPEG2000.dcm', 'waveform_ecg.dcm'];
      const changed: string[] = [];
      for (const file of REAL_FILES.filter((f) => !rewrittenByOrthanc.some((name) => f.endsWith(name)))) {
        const original = await expectedDataset(file);
        if (!stored.some((ds) => ds.equals(original))) changed.push(file);
      }
      assert.deepEqual(changed, [], 'arrived byte-identical in Orthanc');
    });

    test('dicombridge echo: success, and the called AE title refused', async () => {
      const good = join(work, 'echo-orthanc.json');
      await writeFile(good, JSON.stringify({ storageFolder: join(work, 'echo-storage'), ...sendOverrides(orthanc.dicomPort) }));
      assert.match((await promisify(execFile)(process.execPath, [BIN, 'echo', '--config', good])).stdout, /succeeded/);
      const bad = join(work, 'echo-orthanc-bad.json');
      await writeFile(bad, JSON.stringify({ storageFolder: join(work, 'echo-storage'), ...(sendOverrides(orthanc.dicomPort, { calledAeTitle: 'NOT_PACS' })) }));
      const result = await promisify(execFile)(process.execPath, [BIN, 'echo', '--config', bad]).then(() => null, (err: { code: number; stdout: string }) => err);
      assert.ok(result);
      assert.match(result.stdout, /called AE title not recognised/i);
    });
  });

  test('a PACS refusing the transfer syntax → Outbox_Failed with that reason', async () => {
    const storage = await tempDir();
    const orthanc = await startOrthanc({ dir: join(work, 'orthanc-strict'), aeTitle: 'PACS', acceptedTransferSyntaxes: ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1'] });
    const bridge = await startBridge(storage, sendOverrides(orthanc.dicomPort));
    try {
      const sent = nextEvents(bridge, 'send', 1);
      await writeZip(join(work, 'jpeg.zip'), [join(PYDICOM, 'JPEG2000.dcm')]);
      await copyFile(join(work, 'jpeg.zip'), join(bridge.layout.outboxAuto, 'jpeg.zip'));
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Failed');
      assert.match(outcome!.reason ?? '', /JPEG 2000|transfer syntax|1\.2\.840\.10008\.1\.2\.4\.9/i);
      assert.deepEqual(await list(bridge.layout.outboxFailed), ['jpeg.zip']);
    } finally {
      await bridge.stop();
      await orthanc.stop();
      await removeDir(storage);
    }
  });
});
