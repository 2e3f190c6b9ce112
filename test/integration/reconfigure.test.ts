/**
 * Acceptance (issue 4, "Save ... takes effect at once, no restart") against real DCMTK peers:
 * `bridge.reconfigure` re-binds the receiver (new port, AE title, on/off), refuses a port in
 * use while the old one keeps answering, lets a transfer running on the old port finish into
 * its study ZIP, applies a new study timeout, and switches sending on and re-targets it, a
 * retry included. storescp needs the private network namespace of scripts/run-tests.sh.
 */
import assert from 'node:assert/strict';
import { readFile, rename } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createBridge, type Bridge } from '../../src/app.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Logger } from '../../src/dicom/ul/logger.js';
import { datasetOf, list, nextEvents, nextStudies, readZip, removeDir, sopUidOf, tempDir, testLogger } from '../support/bridge-harness.js';
import { acknowledgedCount, echoscu, freePort, spawnStorescu, storescu } from '../support/peers/dcmtk.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy } from '../support/study-files.js';
import { writeZip } from '../support/zip-files.js';

/** A bridge on 127.0.0.1:`port` (a real port: re-binding keeps or changes it). */
async function bridgeOn(storage: string, port: number, overrides: Record<string, unknown> = {}, log: Logger = testLogger()): Promise<Bridge> {
  const receive = { host: '127.0.0.1', port, timeoutSeconds: 1, ...(overrides.receive as object | undefined) };
  const config = parseConfig({ ...overrides, storageFolder: storage, receive }, { baseDir: storage });
  return createBridge(config, { log });
}

/** The bridge's settings with `change` applied, as the GUI would save them. */
function changed(bridge: Bridge, change: (next: Config) => void): Config {
  const next = structuredClone(bridge.config);
  change(next);
  return next;
}

/** A logger that lets a test wait for a given warning (e.g. the sender's retry). */
function warningWatcher(): { log: Logger; next(message: string): Promise<void> } {
  const waiters: Array<{ message: string; resolve: () => void }> = [];
  const log: Logger = {
    debug() {},
    info() {},
    error() {},
    warn(_obj, message) {
      for (const waiter of waiters.filter((w) => w.message === message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    child: () => log,
  };
  return { log, next: (message) => new Promise((resolve) => waiters.push({ message, resolve })) };
}

/** SOP Instance UIDs of the files a storescp received. */
async function receivedUids(scp: StorescpPeer): Promise<Set<string>> {
  const uids = new Set<string>();
  for (const file of await scp.files()) uids.add(sopUidOf(datasetOf(await readFile(file))));
  return uids;
}

/** Writes a ZIP elsewhere and moves it into Outbox_Auto in one rename, as a careful app would. */
async function dropZip(bridge: Bridge, work: string, name: string, files: string[]): Promise<void> {
  const staged = join(work, name);
  await writeZip(staged, files);
  await rename(staged, join(bridge.layout.outboxAuto, name));
}

/** Listens on 127.0.0.1:port with a plain TCP server (another program holding the port). */
function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('reconfiguring a running bridge', () => {
  let work: string;
  let storage: string;
  let bridge: Bridge | undefined;

  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeDir(work);
  });

  /** Each test gets a fresh storage folder and stops its bridge. */
  async function start(port: number, overrides: Record<string, unknown> = {}, log?: Logger): Promise<Bridge> {
    storage = await tempDir();
    bridge = await bridgeOn(storage, port, overrides, log);
    return bridge;
  }
  async function stop(): Promise<void> {
    await bridge?.stop();
    bridge = undefined;
    await removeDir(storage);
  }

  describe('the DICOM receiver', () => {
    test('a new port: echoscu succeeds on it and fails on the old one, without a restart', async () => {
      const oldPort = await freePort();
      const b = await start(oldPort);
      try {
        assert.equal((await echoscu(oldPort)).code, 0);
        const newPort = await freePort();
        const next = changed(b, (c) => (c.receive.port = newPort));
        const lines = await b.reconfigure(next);
        assert.deepEqual(lines, [`DICOM receiver now listening on 127.0.0.1:${newPort}`]);
        assert.equal(b.config, next);
        assert.equal(b.receivePort, newPort);
        assert.equal((await echoscu(newPort)).code, 0, 'the new port answers');
        assert.notEqual((await echoscu(oldPort)).code, 0, 'the old port no longer answers');
      } finally {
        await stop();
      }
    });

    test('a port already in use → ConfigError naming receive.port; the old port still answers', async () => {
      const oldPort = await freePort();
      const b = await start(oldPort);
      const busyPort = await freePort();
      const holder = await occupy(busyPort);
      try {
        const before = b.config;
        await assert.rejects(b.reconfigure(changed(b, (c) => (c.receive.port = busyPort))), (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.key, 'receive.port');
          assert.match(err.rule, /EADDRINUSE/);
          return true;
        });
        assert.equal(b.config, before, 'settings unchanged');
        assert.equal(b.receivePort, oldPort);
        assert.equal((await echoscu(oldPort)).code, 0, 'the old port still answers');
      } finally {
        await new Promise((resolve) => holder.close(resolve));
        await stop();
      }
    });

    test('an address that is not this machine\'s → ConfigError naming receive.host; nothing changes', async () => {
      const port = await freePort();
      const b = await start(port);
      try {
        await assert.rejects(b.reconfigure(changed(b, (c) => (c.receive.host = '192.0.2.1'))), (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.key, 'receive.host');
          return true;
        });
        assert.equal(b.config.receive.host, '127.0.0.1');
        assert.equal((await echoscu(port)).code, 0);
      } finally {
        await stop();
      }
    });

    test('a storescu transfer running on the old port completes, and its ZIP holds every instance', async () => {
      const oldPort = await freePort();
      const b = await start(oldPort, { receive: { timeoutSeconds: 3600 } });
      try {
        const study = await writeStudy(join(work, 'moving'), { count: 40, rows: 128, columns: 128 });
        const sender = spawnStorescu(oldPort, study.files);
        let output = '';
        const exited = new Promise<number | null>((resolve) => sender.once('exit', (code) => resolve(code)));
        // Freeze storescu in the middle of its association, so the port changes under it.
        await new Promise<void>((resolve) => {
          const onData = (chunk: Buffer) => {
            output += chunk.toString();
            if (acknowledgedCount(output) >= 5 && sender.exitCode === null) {
              sender.kill('SIGSTOP');
              sender.stdout!.off('data', onData);
              sender.stderr!.off('data', onData);
              resolve();
            }
          };
          sender.stdout!.on('data', onData);
          sender.stderr!.on('data', onData);
        });
        const newPort = await freePort();
        await b.reconfigure(changed(b, (c) => (c.receive.port = newPort)));
        assert.ok(b.activeAssociations >= 1, 'the old association is still open');
        assert.notEqual((await echoscu(oldPort)).code, 0, 'the old port no longer accepts');
        assert.equal((await echoscu(newPort)).code, 0, 'the new port answers meanwhile');
        sender.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        sender.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        sender.kill('SIGCONT');
        assert.equal(await exited, 0, output);
        assert.equal(acknowledgedCount(output), 40, 'every instance acknowledged');

        const zipped = nextStudies(b, 1);
        await b.flush();
        const [outcome] = await zipped;
        assert.equal(outcome!.status, 'Success');
        assert.equal(outcome!.instances, 40);
        const entries = await readZip(outcome!.path);
        const uids = new Set([...entries.values()].map((file) => sopUidOf(datasetOf(file))));
        assert.deepEqual([...uids].sort(), [...study.sopUids].sort());
        assert.deepEqual(await list(b.layout.incoming), [], 'no partial file left');
      } finally {
        await stop();
      }
    });

    test('receiving off → echoscu fails; on again → echoscu succeeds', async () => {
      const port = await freePort();
      const b = await start(port);
      try {
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.receive.enabled = false))), ['DICOM receiving now off']);
        assert.equal(b.receivePort, null);
        assert.notEqual((await echoscu(port)).code, 0);
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.receive.enabled = true))), [`DICOM receiving now on, listening on 127.0.0.1:${port}`]);
        assert.equal((await echoscu(port)).code, 0);
      } finally {
        await stop();
      }
    });

    test('a new AE title on the same port: the old called AE title is rejected, the new one accepted', async () => {
      const port = await freePort();
      const b = await start(port, { receive: { aeTitle: 'CRYPE_DCM' } });
      try {
        assert.equal((await echoscu(port, 'CRYPE_DCM')).code, 0);
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.receive.aeTitle = 'NEW_AE'))), ['DICOM receiver AE title now NEW_AE']);
        assert.equal(b.receivePort, port);
        const refused = await echoscu(port, 'CRYPE_DCM');
        assert.notEqual(refused.code, 0);
        assert.match(refused.stdout + refused.stderr, /Called AE Title Not Recognized/i);
        assert.equal((await echoscu(port, 'NEW_AE')).code, 0);
      } finally {
        await stop();
      }
    });

    test('a new study timeout applies to a study being staged', async () => {
      const port = await freePort();
      const b = await start(port, { receive: { timeoutSeconds: 3600 } });
      try {
        const study = await writeStudy(join(work, 'waiting'), { count: 3 });
        assert.equal((await storescu(port, study.files)).code, 0);
        assert.equal(b.studiesInProgress, 1, 'staged, waiting for an hour of quiet');
        const completed = nextStudies(b, 1);
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.receive.timeoutSeconds = 1))), ['study timeout now 1 s']);
        const [outcome] = await completed;
        assert.equal(outcome!.status, 'Success');
        assert.equal(outcome!.instances, 3);
      } finally {
        await stop();
      }
    });

    test('calls run one after the other: the second applies on top of the first', async () => {
      const port = await freePort();
      const b = await start(port);
      try {
        const [p1, p2] = [await freePort(), await freePort()];
        const first = changed(b, (c) => (c.receive.port = p1));
        const second = structuredClone(first);
        second.receive.port = p2;
        second.receive.timeoutSeconds = 5;
        const [lines1, lines2] = await Promise.all([b.reconfigure(first), b.reconfigure(second)]);
        assert.deepEqual(lines1, [`DICOM receiver now listening on 127.0.0.1:${p1}`]);
        assert.deepEqual(lines2, [`DICOM receiver now listening on 127.0.0.1:${p2}`, 'study timeout now 5 s']);
        assert.equal(b.config, second);
        assert.equal((await echoscu(p2)).code, 0);
        assert.notEqual((await echoscu(p1)).code, 0);
      } finally {
        await stop();
      }
    });

    test('another storage folder is refused with a TypeError (that needs a stop and start)', async () => {
      const b = await start(await freePort());
      try {
        await assert.rejects(b.reconfigure(changed(b, (c) => (c.storageFolder = join(work, 'elsewhere')))), TypeError);
      } finally {
        await stop();
      }
    });

    test('log.level is applied to a pino logger', async () => {
      const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })) as unknown as Logger & { level: string };
      const b = await start(await freePort(), {}, log);
      try {
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.log.level = 'warn'))), ['log level now warn']);
        assert.equal(log.level, 'warn');
      } finally {
        await stop();
      }
    });
  });

  describe('sending', () => {
    let pacsA: StorescpPeer;
    let pacsB: StorescpPeer;
    before(async () => {
      pacsA = await startStorescp({ outDir: join(work, 'pacs-a'), aeTitle: 'PACS_A' });
      pacsB = await startStorescp({ outDir: join(work, 'pacs-b'), aeTitle: 'PACS_B' });
    });
    after(async () => {
      await pacsA?.stop();
      await pacsB?.stop();
    });

    /** Sending settings towards a storescp (or any port), fast scan for tests. */
    function sendTo(c: Config, aeTitle: string, port: number): void {
      Object.assign(c.send, { host: '127.0.0.1', port, calledAeTitle: aeTitle, scanIntervalSeconds: 1, stableSeconds: 1, retryDelaySeconds: 1, timeoutSeconds: 10 });
    }

    test('switched on, a ZIP goes to the PACS; re-targeted, the next ZIP goes to the new PACS', async () => {
      const b = await start(await freePort());
      try {
        const lines = await b.reconfigure(changed(b, (c) => {
          c.send.enabled = true;
          sendTo(c, 'PACS_A', pacsA.port);
        }));
        assert.ok(lines.includes(`sending now on, to PACS_A@127.0.0.1:${pacsA.port}`), lines.join('\n'));

        const first = await writeStudy(join(work, 'send-1'), { count: 3 });
        let sent = nextEvents(b, 'send', 1);
        await dropZip(b, work, 'first.zip', first.files);
        let [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        const atA = await receivedUids(pacsA);
        for (const uid of first.sopUids) assert.ok(atA.has(uid), `${uid} reached PACS_A`);

        assert.deepEqual(
          await b.reconfigure(changed(b, (c) => sendTo(c, 'PACS_B', pacsB.port))),
          [`sending now to PACS_B@127.0.0.1:${pacsB.port}`],
        );
        const second = await writeStudy(join(work, 'send-2'), { count: 2 });
        sent = nextEvents(b, 'send', 1);
        await dropZip(b, work, 'second.zip', second.files);
        [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        const atB = await receivedUids(pacsB);
        for (const uid of second.sopUids) assert.ok(atB.has(uid), `${uid} reached PACS_B`);
        const atANow = await receivedUids(pacsA);
        for (const uid of second.sopUids) assert.ok(!atANow.has(uid), `${uid} did not go to PACS_A`);
      } finally {
        await stop();
      }
    });

    test('a retry after a failed attempt uses the target saved meanwhile', async () => {
      const warnings = warningWatcher();
      const closedPort = await freePort();
      const b = await start(await freePort(), {}, warnings.log);
      try {
        await b.reconfigure(changed(b, (c) => {
          c.send.enabled = true;
          sendTo(c, 'PACS_A', closedPort);
          c.send.retries = 5;
        }));
        const study = await writeStudy(join(work, 'retry'), { count: 2 });
        const retrying = warnings.next('send failed; retrying');
        const sent = nextEvents(b, 'send', 1);
        await dropZip(b, work, 'retry.zip', study.files);
        await retrying;
        await b.reconfigure(changed(b, (c) => sendTo(c, 'PACS_A', pacsA.port)));
        const [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        const atA = await receivedUids(pacsA);
        for (const uid of study.sopUids) assert.ok(atA.has(uid), `${uid} reached PACS_A on the retry`);
      } finally {
        await stop();
      }
    });

    test('switched off then on again: a ZIP dropped meanwhile is sent once sending is on', async () => {
      const b = await start(await freePort(), { send: { enabled: true, host: '127.0.0.1', port: pacsA.port, calledAeTitle: 'PACS_A', scanIntervalSeconds: 1, stableSeconds: 1 } });
      try {
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.send.incompleteZipSeconds = 30))), ['unreadable Outbox files now go to Outbox_Failed after 30 s unchanged']);
        assert.deepEqual(await b.reconfigure(changed(b, (c) => (c.send.enabled = false))), ['sending now off (a ZIP being sent finishes)']);
        const study = await writeStudy(join(work, 'later'), { count: 2 });
        await dropZip(b, work, 'later.zip', study.files);
        const sent = nextEvents(b, 'send', 1);
        await b.reconfigure(changed(b, (c) => (c.send.enabled = true)));
        const [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        assert.equal(outcome!.zipName, 'later.zip');
        const atA = await receivedUids(pacsA);
        for (const uid of study.sopUids) assert.ok(atA.has(uid), `${uid} reached PACS_A`);
      } finally {
        await stop();
      }
    });
  });
});
