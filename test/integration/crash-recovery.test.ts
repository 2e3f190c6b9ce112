/**
 * Acceptance (issue: Receive): the bridge killed with SIGKILL while storescu is sending, after
 * it acknowledged some instances, then restarted: every acknowledged instance ends up in a ZIP,
 * and no partial file survives.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { datasetOf, list, listTree, nextStudies, readZip, removeDir, sopUidOf, startBridge, tempDir } from '../support/bridge-harness.js';
import { echoscu, freePort, spawnStorescu } from '../support/peers/dcmtk.js';
import { writeStudy } from '../support/study-files.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));

/** Starts the real CLI in service mode and waits until it answers C-ECHO (bounded). */
async function startCli(configPath: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, '-s', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`bridge exited: ${stderr}`);
    if ((await echoscu(port)).code === 0) return child;
    await new Promise((r) => setTimeout(r, 100)); // readiness probe interval, not synchronisation of the test's subject
  }
  child.kill('SIGKILL');
  throw new Error(`bridge did not answer C-ECHO: ${stderr}`);
}

describe('crash recovery', () => {
  let storage: string;
  let work: string;
  let child: ChildProcess | undefined;

  before(async () => {
    storage = await tempDir();
    work = await tempDir();
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await removeDir(storage);
    await removeDir(work);
  });

  test('SIGKILL after some acknowledged instances, restart → every acknowledged instance is zipped', async () => {
    const study = await writeStudy(join(work, 'study'), { count: 120, rows: 256, columns: 256 });
    const port = await freePort();
    const configPath = join(work, 'config.json');
    await writeFile(configPath, JSON.stringify({
      storageFolder: storage,
      receive: { host: '127.0.0.1', port, timeoutSeconds: 3600 },
      gui: { port: await freePort() }, // the CLI serves its GUI too: never on a fixed port in tests
      log: { level: 'warn' },
    }));
    child = await startCli(configPath, port);

    const sender = spawnStorescu(port, study.files);
    let output = '';
    let acknowledged = 0;
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        acknowledged = output.split('\n').filter((l) => l.includes('Received Store Response (Success')).length;
        if (acknowledged >= 30) {
          child!.kill('SIGKILL');
          resolve();
        }
      };
      sender.stdout!.on('data', onData);
      sender.stderr!.on('data', onData);
      sender.once('exit', () => resolve());
    });
    await new Promise((r) => child!.once('exit', r));
    await new Promise((r) => (sender.exitCode === null ? sender.once('exit', r) : r(null)));
    assert.ok(acknowledged >= 30 && acknowledged < 120, `killed mid-transfer after ${acknowledged} acknowledgements`);

    // Restart on the same storage folder; the staged study is completed after the quiet time.
    const bridge = await startBridge(storage, { receive: { timeoutSeconds: 1 } });
    try {
      assert.deepEqual(await list(bridge.layout.incoming), [], 'partial instances removed at start');
      const [outcome] = await nextStudies(bridge, 1);
      assert.equal(outcome!.status, 'Success');
      const entries = await readZip(outcome!.path);
      const zipped = new Set<string>();
      for (const file of entries.values()) {
        const ds = datasetOf(file);
        const uid = sopUidOf(ds);
        zipped.add(uid);
        assert.ok(ds.equals(study.datasets.get(uid)!), `recovered instance ${uid} intact`);
      }
      // storescu sends the files in order: the first `acknowledged` ones were acknowledged.
      for (const uid of study.sopUids.slice(0, acknowledged)) assert.ok(zipped.has(uid), `acknowledged ${uid} lost`);
      assert.deepEqual(await listTree(bridge.layout.staging), []);
    } finally {
      await bridge.stop();
    }
  });
});
