/**
 * Smoke test of the real test peers: DCMTK storescp and Orthanc start on free ports, receive
 * what DCMTK storescu sends, hand back the datasets byte for byte, and stop by PID.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { datasetOf, removeDir, sopUidOf, tempDir } from '../support/bridge-harness.js';
import { acknowledgedCount, runTool, storescu } from '../support/peers/dcmtk.js';
import { startOrthanc, type OrthancPeer } from '../support/peers/orthanc.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';

/** True while a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `body` with DICOMBRIDGE_NETNS unset, restoring it afterwards. */
async function withoutNetns(body: () => Promise<void>): Promise<void> {
  const saved = process.env.DICOMBRIDGE_NETNS;
  delete process.env.DICOMBRIDGE_NETNS;
  try {
    await body();
  } finally {
    if (saved !== undefined) process.env.DICOMBRIDGE_NETNS = saved;
  }
}

/** Real sample files of Debian's python3-pydicom (installed by scripts/install-test-deps.sh). */
const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

let work: string;
let study: StudyFiles;

before(async () => {
  work = await tempDir('dicombridge-peers-');
  study = await writeStudy(join(work, 'study'), { count: 3 });
});

after(async () => {
  await removeDir(work);
});

describe('the peers refuse to run outside the private network namespace', () => {
  test('storescp', async () => {
    await withoutNetns(async () => {
      await assert.rejects(startStorescp({ outDir: join(work, 'refused') }), /run the tests with npm test: storescp listens on every interface and must run in a private network namespace/);
    });
  });

  test('Orthanc', async () => {
    await withoutNetns(async () => {
      await assert.rejects(startOrthanc({ dir: join(work, 'refused') }), /run the tests with npm test: Orthanc listens on every interface/);
    });
  });
});

describe('DCMTK storescp', () => {
  let peer: StorescpPeer;
  before(async () => {
    peer = await startStorescp({ outDir: join(work, 'storescp'), aeTitle: 'TESTSCP' });
  });
  after(async () => {
    await peer.stop();
  });

  test('receives three instances byte-identical (dataset part)', async () => {
    const sent = await storescu(peer.port, study.files, { calledAet: peer.aeTitle });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(acknowledgedCount(sent.stdout + sent.stderr), 3);
    const files = await peer.files();
    assert.equal(files.length, 3);
    const received = new Map<string, Buffer>();
    for (const file of files) {
      const dataset = datasetOf(await readFile(file));
      received.set(sopUidOf(dataset), dataset);
    }
    for (const [sopUid, dataset] of study.datasets) {
      assert.ok(received.has(sopUid), `storescp did not store ${sopUid}`);
      assert.ok(received.get(sopUid)!.equals(dataset), `dataset ${sopUid} differs`);
    }
  });

  test('stop() ends the process by PID and is idempotent', async () => {
    const other = await startStorescp({ outDir: join(work, 'storescp-stop') });
    assert.ok(alive(other.pid));
    await Promise.all([other.stop(), other.stop()]);
    assert.equal(alive(other.pid), false);
    await other.stop();
  });
});

describe('Orthanc', () => {
  let orthanc: OrthancPeer;
  before(async () => {
    orthanc = await startOrthanc({ dir: join(work, 'orthanc'), aeTitle: 'TESTPACS' });
  });
  after(async () => {
    await orthanc.stop();
  });

  test('stores three instances and returns their datasets byte-identical over REST', async () => {
    assert.deepEqual(await orthanc.instanceIds(), []);
    const sent = await storescu(orthanc.dicomPort, study.files, { calledAet: orthanc.aeTitle });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(acknowledgedCount(sent.stdout + sent.stderr), 3);
    const ids = await orthanc.instanceIds();
    assert.equal(ids.length, 3);
    const received = new Map<string, Buffer>();
    for (const id of ids) {
      const dataset = datasetOf(await orthanc.file(id));
      received.set(sopUidOf(dataset), dataset);
    }
    for (const [sopUid, dataset] of study.datasets) {
      assert.ok(received.has(sopUid), `Orthanc did not store ${sopUid}`);
      assert.ok(received.get(sopUid)!.equals(dataset), `dataset ${sopUid} differs`);
    }
  });

  test('keeps nested explicit-length sequences of a real file byte-identical', async () => {
    // pydicom's rtplan.dcm is implicit VR; Orthanc stores the transfer syntax it received, so
    // convert it to explicit VR little endian first to compare with what went on the wire.
    const file = join(work, 'rtplan-explicit.dcm');
    const converted = await runTool('dcmconv', ['+te', join(PYDICOM_FILES, 'rtplan.dcm'), file]);
    assert.equal(converted.code, 0, converted.stderr);
    const before = new Set(await orthanc.instanceIds());
    const sent = await storescu(orthanc.dicomPort, [file], { calledAet: orthanc.aeTitle });
    assert.equal(sent.code, 0, sent.stderr);
    const added = (await orthanc.instanceIds()).filter((id) => !before.has(id));
    assert.equal(added.length, 1);
    const stored = datasetOf(await orthanc.file(added[0]!));
    assert.ok(stored.equals(datasetOf(await readFile(file))), 'rtplan dataset differs');
  });

  test('an unknown instance id is an error, not an empty file', async () => {
    await assert.rejects(orthanc.file('no-such-instance'), /HTTP 404/);
  });
});

describe('Orthanc with called-AE checking', () => {
  let orthanc: OrthancPeer;
  before(async () => {
    orthanc = await startOrthanc({ dir: join(work, 'orthanc-aet'), aeTitle: 'STRICTPACS', checkCalledAet: true });
  });
  after(async () => {
    await orthanc.stop();
  });

  test('rejects an association to a wrong called AE and stores nothing', async () => {
    const sent = await storescu(orthanc.dicomPort, study.files.slice(0, 1), { calledAet: 'WRONGAE' });
    assert.notEqual(sent.code, 0);
    assert.match(sent.stdout + sent.stderr, /Association Rejected/);
    assert.match(sent.stdout + sent.stderr, /Called AE Title Not Recognized/i);
    assert.deepEqual(await orthanc.instanceIds(), []);
  });

  test('accepts the right called AE', async () => {
    const sent = await storescu(orthanc.dicomPort, study.files.slice(0, 1), { calledAet: 'STRICTPACS' });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((await orthanc.instanceIds()).length, 1);
  });

  test('stop() ends the process by PID and is idempotent', async () => {
    const pid = orthanc.pid;
    await Promise.all([orthanc.stop(), orthanc.stop()]);
    assert.equal(alive(pid), false);
  });
});

describe('Orthanc with restricted transfer syntaxes', () => {
  let orthanc: OrthancPeer;
  before(async () => {
    orthanc = await startOrthanc({ dir: join(work, 'orthanc-ts'), acceptedTransferSyntaxes: [EXPLICIT_LE] });
  });
  after(async () => {
    await orthanc.stop();
  });

  const jpegFile = join(PYDICOM_FILES, 'SC_rgb_jpeg_dcmtk.dcm');

  test('refuses a JPEG baseline presentation context', async () => {
    // -xy proposes JPEG baseline plus the uncompressed syntaxes; storescu converts only when
    // the context with the file's own syntax was refused, and cannot decode this JPEG here.
    const sent = await storescu(orthanc.dicomPort, [jpegFile], { calledAet: orthanc.aeTitle, extra: ['-xy', '-R'] });
    assert.notEqual(sent.code, 0);
    assert.match(sent.stdout + sent.stderr, /Converting transfer syntax: JPEG Baseline -> Little Endian Explicit/);
    assert.deepEqual(await orthanc.instanceIds(), []);
  });

  test('still accepts explicit VR little endian', async () => {
    const sent = await storescu(orthanc.dicomPort, study.files.slice(0, 1), { calledAet: orthanc.aeTitle });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((await orthanc.instanceIds()).length, 1);
  });

  test('the same JPEG proposal is accepted by an unrestricted Orthanc (control)', async () => {
    const open = await startOrthanc({ dir: join(work, 'orthanc-ts-open') });
    try {
      const sent = await storescu(open.dicomPort, [jpegFile], { calledAet: open.aeTitle, extra: ['-xy', '-R'] });
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout + sent.stderr, /Converting transfer syntax: JPEG Baseline -> JPEG Baseline/);
      const ids = await open.instanceIds();
      assert.equal(ids.length, 1);
      const meta = (await open.file(ids[0]!)).toString('latin1', 0, 400);
      assert.ok(meta.includes(JPEG_BASELINE), 'Orthanc did not store the JPEG transfer syntax');
    } finally {
      await open.stop();
    }
  });
});
