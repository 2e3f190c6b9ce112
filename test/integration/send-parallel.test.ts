/**
 * Acceptance of `send.associations` against real peers: a ZIP sent over 4 parallel
 * associations reaches DCMTK `storescp --fork` complete and byte for byte, with the same log
 * book row as over one; a PACS that takes one association at a time still gets every
 * instance, and the bridge warns once, naming the setting.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { DimseServiceProvider, type DatasetSink } from '../../src/dicom/dimse/service.js';
import { createAcceptor, type Acceptor } from '../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../src/dicom/ul/logger.js';
import type { LogEntry } from '../../src/logbook/schema.js';
import { datasetOf, nextEvents, removeDir, sendOverrides, startBridge, tempDir } from '../support/bridge-harness.js';
import { captureLog, LEVEL, type LogCapture } from '../support/log-capture.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';
import { writeZip } from '../support/zip-files.js';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
/** Real files of several SOP classes and transfer syntaxes, beside a generated study. */
const REAL_FILES = ['CT_small.dcm', 'ExplVR_BigEnd.dcm', 'MR_small_implicit.dcm', 'image_dfl.dcm', 'JPEG-lossy.dcm', 'SC_rgb_rle.dcm', 'JPEG2000.dcm']
  .map((f) => join(PYDICOM, f));

/** The datasets a PACS receives: a deflated one padded to even length (PS3.5 §A.5). */
async function expectedDatasets(study: StudyFiles): Promise<Buffer[]> {
  const expected = [...study.datasets.values()];
  for (const file of REAL_FILES) {
    const ds = datasetOf(await readFile(file));
    expected.push(ds.length % 2 === 1 ? Buffer.concat([ds, Buffer.alloc(1)]) : ds);
  }
  return expected;
}

/** Every expected dataset is among those received, byte for byte, and nothing else came. */
function assertArrived(received: Buffer[], expected: Buffer[]): void {
  assert.equal(received.length, expected.length);
  expected.forEach((ds, i) => assert.ok(received.some((r) => r.equals(ds)), `dataset ${i} arrived byte-identical`));
}

/** What a log book row says of a ZIP, less what differs between two sends of it. */
function rowFacts(row: LogEntry): Partial<LogEntry> {
  const { id: _id, timestamp: _t, sendingMs: _s, fileName: _f, ...facts } = row as LogEntry & Record<string, unknown>;
  return facts;
}

const established = (log: LogCapture) => log.lines().filter((l) => l.msg === 'send: association established').length;
const settingWarnings = (log: LogCapture) => log.lines().filter((l) => l.level === LEVEL.warn && l.msg.includes('send.associations'));

describe('send.associations against real peers', () => {
  let work: string;
  let study: StudyFiles;
  let zipPath: string;
  let expected: Buffer[];
  before(async () => {
    work = await tempDir();
    study = await writeStudy(join(work, 'study'), { count: 40, rows: 64, columns: 64 });
    zipPath = join(work, 'study.zip');
    await writeZip(zipPath, [...study.files, ...REAL_FILES]);
    expected = await expectedDatasets(study);
  });
  after(async () => {
    await removeDir(work);
  });

  describe('to storescp --fork', () => {
    let storage: string;
    let scp: StorescpPeer;
    let bridge: Bridge;
    let log: LogCapture;
    before(async () => {
      storage = await tempDir();
      scp = await startStorescp({ outDir: join(work, 'fork'), aeTitle: 'PACS', extraArgs: ['+xa', '--fork'] });
      log = captureLog();
      bridge = await startBridge(storage, sendOverrides(scp.port), { log: log.log });
    });
    after(async () => {
      await bridge.stop();
      await scp.stop();
      await removeDir(storage);
    });

    test('associations 4 (set while running): every instance arrives byte-identical over 4 associations, log book row as with 1', async () => {
      let sent = nextEvents(bridge, 'send', 1);
      await copyFile(zipPath, join(bridge.layout.outboxAuto, 'one.zip'));
      const [overOne] = await sent;
      assert.equal(overOne!.status, 'Success', overOne!.reason);
      assert.equal(established(log), 1);
      const rowOverOne = bridge.logBook.latest(1)[0]!;

      const next = structuredClone(bridge.config);
      next.send.associations = 4;
      assert.ok((await bridge.reconfigure(next)).includes('parallel associations per ZIP now 4 (from the next ZIP)'));
      for (const file of await scp.files()) await removeDir(file);
      sent = nextEvents(bridge, 'send', 1);
      await copyFile(zipPath, join(bridge.layout.outboxAuto, 'four.zip'));
      const [overFour] = await sent;
      assert.equal(overFour!.status, 'Success', overFour!.reason);
      assert.equal(overFour!.sent, expected.length);
      assert.equal(established(log), 1 + 4, 'the second ZIP went over 4 associations');
      assert.deepEqual(settingWarnings(log), []);

      assertArrived((await Promise.all((await scp.files()).map((f) => readFile(f)))).map(datasetOf), expected);
      assert.deepEqual(rowFacts(bridge.logBook.latest(1)[0]!), rowFacts(rowOverOne));
    });
  });

  describe('to a PACS that takes one association at a time', () => {
    let storage: string;
    let acceptor: Acceptor;
    const stored: Buffer[] = [];
    let bridge: Bridge;
    let log: LogCapture;
    before(async () => {
      storage = await tempDir();
      acceptor = createAcceptor({
        aeTitle: 'PACS', maxPduLength: 16384, implementationClassUid: '2.25.7', implementationVersionName: 'ONE_AT_A_TIME',
        acceptContext: (_as, tss) => ({ result: 0, transferSyntax: tss[0] }),
        // Beyond one association: rejected, "local limit exceeded" (PS3.8 Table 9-21).
        maxAssociations: 1, artimTimeoutMs: 10_000, idleTimeoutMs: 0, log: noopLogger,
        onAssociation: (channel) => new DimseServiceProvider(channel, {
          onStore: (): DatasetSink => {
            const chunks: Buffer[] = [];
            return {
              write: (chunk) => void chunks.push(Buffer.from(chunk)),
              end: async () => {
                stored.push(Buffer.concat(chunks));
                return { status: 0 };
              },
              abort: () => undefined,
            };
          },
        }, noopLogger),
      });
      const { port } = await acceptor.listen(0, '127.0.0.1');
      log = captureLog();
      bridge = await startBridge(storage, sendOverrides(port, { associations: 4 }), { log: log.log });
    });
    after(async () => {
      await bridge.stop();
      await acceptor.close();
      await removeDir(storage);
    });

    test('every instance arrives, the ZIP counts as sent and one warning names send.associations', async () => {
      const sent = nextEvents(bridge, 'send', 1);
      await copyFile(zipPath, join(bridge.layout.outboxAuto, 'limited.zip'));
      const [outcome] = await sent;
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      assertArrived(stored, expected);
      const warnings = settingWarnings(log);
      assert.equal(warnings.length, 1, 'warned once');
      assert.match(warnings[0]!.msg, /took only 1 of the 4 parallel associations asked for by send\.associations.*local limit exceeded/);
      const row = bridge.logBook.latest(1)[0]!;
      assert.equal(row.status, 'Success');
      assert.equal(row.reason, null);
    });
  });
});
