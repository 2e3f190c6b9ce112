/**
 * Acceptance (issue: Receive): real files of many SOP classes, transfer syntaxes (compressed,
 * big endian, deflated) and character sets — Debian python3-pydicom's sample data — sent by
 * DCMTK storescu: every acknowledged instance is in a ZIP, and patient names in the ZIP file
 * names come out decoded correctly. The expected names come from dcmdump's own UTF-8
 * conversion (+U8), an oracle independent of our charset code.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { dcmdump, storescu } from '../support/peers/dcmtk.js';
import { containsUid, datasetOf, list, nextStudies, readZip, removeDir, startBridge, tempDir } from '../support/bridge-harness.js';

const PYDICOM_DATA = '/usr/lib/python3/dist-packages/pydicom/data';

/** A sample file and what dcmdump says of it. */
interface Sample {
  path: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** Alphabetic group of PatientName, converted to UTF-8 by dcmdump. */
  patientName: string;
  transferSyntaxUid: string;
}

/** storescu's option that proposes a file's compressed syntax as it is (DCMTK cannot transcode most). */
const PROPOSE: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': '-xy',
  '1.2.840.10008.1.2.4.51': '-xx',
  '1.2.840.10008.1.2.4.70': '-xs',
  '1.2.840.10008.1.2.4.80': '-xt',
  '1.2.840.10008.1.2.4.81': '-xu',
  '1.2.840.10008.1.2.4.90': '-xv',
  '1.2.840.10008.1.2.4.91': '-xw',
  '1.2.840.10008.1.2.5': '-xr',
  '1.2.840.10008.1.2.1.99': '-xd',
};

function tagValue(dump: string, tag: string): string | undefined {
  const line = dump.split('\n').find((l) => l.startsWith(tag));
  const match = line?.match(/\[(.*)\]/);
  return match ? match[1] : undefined;
}

/** Candidate files: Part 10 files with a study and instance UID that dcmdump reads cleanly. */
async function samples(): Promise<Sample[]> {
  const files = ['test_files', 'charset_files'].flatMap((folder) =>
    readdirSync(join(PYDICOM_DATA, folder)).filter((n) => n.endsWith('.dcm')).map((n) => join(PYDICOM_DATA, folder, n)));
  const found: Sample[] = [];
  for (const path of files) {
    const dump = await dcmdump(path, ['-q', '+U8', '-Un']);
    if (dump.code !== 0 || dump.stderr.trim() !== '') continue; // broken on purpose, or not Part 10
    if (!/\(0002,0010\)/.test(dump.stdout)) continue; // no file meta: storescu cannot tell the syntax
    const sop = tagValue(dump.stdout, '(0008,0018)');
    const study = tagValue(dump.stdout, '(0020,000d)');
    const sopClass = tagValue(dump.stdout, '(0002,0002)');
    if (!sop || !study || !sopClass?.startsWith('1.2.840.10008.5.1.4')) continue;
    found.push({
      path,
      sopInstanceUid: sop,
      studyInstanceUid: study,
      patientName: (tagValue(dump.stdout, '(0010,0010)') ?? '').split('=')[0]!,
      transferSyntaxUid: tagValue(dump.stdout, '(0002,0010)') ?? '',
    });
  }
  return found;
}

/** `FAMILY^Given^Middle` → `FAMILY, Given Middle` (SPEC §1), from dcmdump's text. */
function expectedName(pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('^').map((c) => c.trim());
  const rest = [given, middle].filter(Boolean).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest;
}

describe('receive real files (pydicom samples via storescu)', () => {
  let storage: string;
  let bridge: Bridge;
  let sent: Sample[] = [];
  const acknowledged = new Set<string>();

  before(async () => {
    storage = await tempDir();
    bridge = await startBridge(storage, { receive: { timeoutSeconds: 1 } });
    sent = await samples();
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
  });

  test('many SOP classes and transfer syntaxes are received and zipped', async () => {
    assert.ok(sent.length >= 40, `expected at least 40 usable sample files, found ${sent.length}`);
    // One storescu per file: a file whose syntax storescu cannot propose fails alone.
    let acknowledgedFiles = 0;
    for (const sample of sent) {
      const propose = PROPOSE[sample.transferSyntaxUid];
      const result = await storescu(bridge.receivePort!, [sample.path], { extra: ['-R', ...(propose ? [propose] : [])] });
      if (/Received Store Response \(Success/.test(result.stdout + result.stderr)) {
        acknowledged.add(sample.sopInstanceUid);
        acknowledgedFiles += 1;
      }
    }
    // Some samples share SOP Instance UIDs (variants of one image): a later copy replaces the earlier one.
    assert.ok(acknowledgedFiles >= sent.length * 0.9, `acknowledged ${acknowledgedFiles} of ${sent.length} files`);
    const studies = new Set(sent.filter((s) => acknowledged.has(s.sopInstanceUid)).map((s) => s.studyInstanceUid));
    await bridge.flush();
    const zips = await list(bridge.layout.inboxManual);
    assert.ok(zips.length >= studies.size, `${zips.length} ZIPs for ${studies.size} studies`);
    const zipped = new Set<string>();
    for (const zip of zips) {
      for (const file of (await readZip(join(bridge.layout.inboxManual, zip))).values()) {
        const stored = datasetOf(file);
        // A deflated dataset (1.2.840.10008.1.2.1.99) is compared inflated.
        const deflated = file.subarray(0, file.length - stored.length).includes('1.2.840.10008.1.2.1.99');
        const ds = deflated ? inflateRawSync(stored) : stored;
        for (const sample of sent) if (containsUid(ds, sample.sopInstanceUid)) zipped.add(sample.sopInstanceUid);
      }
    }
    for (const uid of acknowledged) assert.ok(zipped.has(uid), `acknowledged instance ${uid} is in no ZIP`);
    assert.deepEqual(await list(bridge.layout.inboxFailed), []);
  });

  test('patient names in ZIP names are decoded with the instance\'s character set', async () => {
    // Sent one by one, each zipped before the next: several samples share one study.
    const charsetSamples = sent.filter((s) => s.path.includes('charset_files') && [...s.patientName].some((c) => c.charCodeAt(0) > 0x7f));
    assert.ok(charsetSamples.length >= 5, `only ${charsetSamples.length} non-ASCII names`);
    for (const sample of charsetSamples) {
      const studies = nextStudies(bridge, 1);
      const result = await storescu(bridge.receivePort!, [sample.path], { extra: ['-R'] });
      assert.equal(result.code, 0, result.stderr);
      await bridge.flush();
      const [outcome] = await studies;
      const zip = basename(outcome!.path);
      assert.ok(zip.startsWith(`${expectedName(sample.patientName)}_`), `${sample.path}: ${zip} should start with ${expectedName(sample.patientName)}`);
    }
  });
});
