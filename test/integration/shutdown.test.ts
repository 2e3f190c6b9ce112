/**
 * Acceptance (issue 5, graceful shutdown): SIGTERM to the real `dicombridge -s` while storescu
 * sends a large study, then a restart and the PACS sending the whole study again: one complete
 * ZIP, every instance exactly once, no half files, nothing failed, nothing left in Work/.
 * The first run drains for 0 s (DICOMBRIDGE_DRAIN_SECONDS=0) so the transfer is really cut
 * with an A-ABORT in the middle; the bounded drain itself is the acceptor's (unit-tested there).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { datasetOf, list, listTree, readZip, removeDir, sopUidOf, tempDir } from '../support/bridge-harness.js';
import { acknowledgedCount, echoscu, freePort, spawnStorescu } from '../support/peers/dcmtk.js';
import { writeStudy } from '../support/study-files.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));

/** A running CLI and what it printed so far. */
interface Cli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `dicombridge -s` and waits until it answers C-ECHO (bounded readiness probe). */
async function startCli(configPath: string, port: number, env: Record<string, string> = {}): Promise<Cli> {
  const child = spawn(process.execPath, [BIN, '-s', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  // Both pipes are read to the end, so the bridge never blocks on a full pipe.
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`bridge exited: ${output}`);
    if ((await echoscu(port)).code === 0) return { child, output: () => output, exited };
    await new Promise((r) => setTimeout(r, 100)); // readiness probe interval of an external process
  }
  child.kill('SIGKILL');
  throw new Error(`bridge did not answer C-ECHO: ${output}`);
}

/** Runs storescu; calls `onAck(count)` as acknowledgements arrive; resolves with its exit code and count. */
function sendStudy(port: number, files: string[], onAck: (count: number) => void = () => undefined): Promise<{ code: number | null; acknowledged: number; output: string }> {
  const sender = spawnStorescu(port, files);
  let output = '';
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    onAck(acknowledgedCount(output));
  };
  sender.stdout!.on('data', onData);
  sender.stderr!.on('data', onData);
  return new Promise((resolve) => sender.once('close', (code) => resolve({ code, acknowledged: acknowledgedCount(output), output })));
}

/** Polls (bounded) until `ready()` holds: the bridge is an external process, seen only through its folders. */
async function waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes a configuration for a bridge on free ports; returns its path and DICOM port. */
async function writeConfig(dir: string, storage: string, timeoutSeconds: number): Promise<{ configPath: string; port: number }> {
  const port = await freePort();
  const guiPort = await freePort();
  const configPath = join(dir, `dicombridge-${port}.json`);
  await writeFile(configPath, JSON.stringify({
    storageFolder: storage,
    minFreeDiskMegabytes: 0,
    receive: { host: '127.0.0.1', port, timeoutSeconds },
    gui: { host: '127.0.0.1', port: guiPort },
    log: { level: 'info' },
  }));
  return { configPath, port };
}

/** Resolves once the CLI has printed a line matching `pattern` (bounded). */
function printed(cli: Cli, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!pattern.test(cli.output())) return;
      clearTimeout(timer);
      cli.child.stdout!.off('data', check);
      resolve();
    };
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${cli.output().slice(-2000)}`)), timeoutMs);
    cli.child.stdout!.on('data', check);
    check();
  });
}

/** A TCP connection that sends nothing: an open association the drain has to wait for. */
function silentConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

function jsonLines(text: string): LogLine[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

describe('graceful shutdown', () => {
  let storage: string;
  let work: string;
  const children: ChildProcess[] = [];

  before(async () => {
    storage = await tempDir();
    work = await tempDir();
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await removeDir(storage);
    await removeDir(work);
  });

  test('SIGTERM mid-transfer, restart, the whole study again → one complete ZIP, nothing lost or duplicated', async () => {
    const count = 300;
    const study = await writeStudy(join(work, 'study'), { count, rows: 128, columns: 256 }); // 64 KiB of pixels each
    const { configPath, port } = await writeConfig(work, storage, 10);
    const incoming = join(storage, 'Work', 'incoming');
    const staging = join(storage, 'Work', 'staging');

    // Run 1: SIGTERM once some instances are acknowledged.
    const first = await startCli(configPath, port, { DICOMBRIDGE_DRAIN_SECONDS: '0' });
    children.push(first.child);
    let signalled = false;
    const cut = await sendStudy(port, study.files, (acknowledged) => {
      if (!signalled && acknowledged >= 40) {
        signalled = true;
        first.child.kill('SIGTERM');
      }
    });
    assert.equal(await first.exited, 0, first.output());
    assert.ok(signalled, `SIGTERM sent (storescu: ${cut.output.slice(-500)})`);
    assert.notEqual(cut.code, 0, 'storescu ends with an error for the rest');
    assert.ok(cut.acknowledged >= 40 && cut.acknowledged < count, `cut after ${cut.acknowledged} acknowledgements`);

    const lines = jsonLines(first.output());
    assert.ok(lines.some((l) => l.msg.startsWith('stopped gracefully')), 'console says it stopped gracefully');
    assert.ok(lines.some((l) => l.msg.startsWith('stopping') && l.signal === 'SIGTERM'));
    const fileLines = jsonLines(await readFile(join(storage, 'Logs', 'dicombridge.log'), 'utf8'));
    assert.ok(fileLines.some((l) => l.msg.startsWith('stopped gracefully')), 'the log file was flushed to its last line');
    const stores = fileLines.filter((l) => l.msg.startsWith('C-STORE answered'));
    assert.ok(stores.length >= 40 && stores.every((l) => typeof l.assoc === 'string' && l.callingAet === 'STORESCU'), 'association lines carry their id');
    assert.equal(new Set(stores.map((l) => l.assoc)).size, 1, 'one association, one id');
    assert.deepEqual(await listTree(incoming), [], 'no half-received instance left behind');
    const stagedFolders = await list(staging);
    const storedLines = stores.filter((l) => l.status === 0);
    assert.ok(storedLines.length > 0 && storedLines.every((l) => l.study === stagedFolders[0]), 'each stored instance\'s line names its study');
    assert.equal(stagedFolders.length, 1, `the cut study stays staged: ${JSON.stringify(stagedFolders)} ${JSON.stringify((await listTree(staging)).filter((f) => !f.startsWith(stagedFolders[0]!)))}`);
    assert.ok((await list(join(staging, stagedFolders[0]!))).length >= cut.acknowledged, 'every acknowledged instance is staged');
    assert.deepEqual(await list(join(storage, 'Inbox_Manual')), []);

    // Run 2: the PACS sends the whole study again; staged copies are replaced.
    const second = await startCli(configPath, port);
    children.push(second.child);
    const resend = await sendStudy(port, study.files);
    assert.equal(resend.code, 0, resend.output.slice(-2000));
    assert.equal(resend.acknowledged, count);
    // Staging empties once the study's quiet time has passed and it is zipped.
    await waitFor('the study to be zipped', async () => (await list(staging)).length === 0);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());

    const zips = (await list(join(storage, 'Inbox_Manual'))).filter((n) => n.endsWith('.zip'));
    assert.equal(zips.length, 1, `exactly one ZIP: ${zips.join(', ')}`);
    assert.deepEqual(await list(join(storage, 'Inbox_Auto')), []);
    assert.deepEqual(await listTree(join(storage, 'Inbox_Failed')), []);
    assert.deepEqual(await listTree(incoming), []);
    assert.deepEqual(await listTree(staging), []);

    const entries = await readZip(join(storage, 'Inbox_Manual', zips[0]!));
    const seen = new Map<string, number>();
    for (const file of entries.values()) {
      const dataset = datasetOf(file);
      const uid = sopUidOf(dataset);
      seen.set(uid, (seen.get(uid) ?? 0) + 1);
      assert.ok(dataset.equals(study.datasets.get(uid)!), `instance ${uid} intact`);
    }
    assert.equal(entries.size, count);
    assert.deepEqual([...seen.keys()].sort(), [...study.sopUids].sort(), 'every instance, nothing else');
    assert.ok([...seen.values()].every((n) => n === 1), 'no instance twice');

    // The study's lines carry its staging folder name.
    const secondLines = jsonLines(await readFile(join(storage, 'Logs', 'dicombridge.log'), 'utf8'));
    const zipped = secondLines.find((l) => l.msg === 'study zipped');
    assert.equal(zipped?.study, stagedFolders[0], 'the adopted staging folder was completed, under its name');
  });

  test('SIGTERM lets an association in progress finish within the drain time: every instance acknowledged and staged', async () => {
    const folder = await tempDir();
    try {
      const count = 150;
      const study = await writeStudy(join(work, 'drained'), { count, rows: 128, columns: 256 });
      const { configPath, port } = await writeConfig(work, folder, 3600);
      const cli = await startCli(configPath, port, { DICOMBRIDGE_DRAIN_SECONDS: '20' });
      children.push(cli.child);
      let signalled = false;
      const sent = await sendStudy(port, study.files, (acknowledged) => {
        if (!signalled && acknowledged >= 20) {
          signalled = true;
          cli.child.kill('SIGTERM');
        }
      });
      assert.equal(await cli.exited, 0, cli.output());
      assert.ok(signalled);
      assert.equal(sent.code, 0, sent.output.slice(-2000));
      assert.equal(sent.acknowledged, count, 'the association finished after the stop signal');
      const staged = await list(join(folder, 'Work', 'staging'));
      assert.equal(staged.length, 1);
      assert.equal((await list(join(folder, 'Work', 'staging', staged[0]!))).length, count);
      assert.deepEqual(await listTree(join(folder, 'Work', 'incoming')), []);
      assert.ok(jsonLines(cli.output()).some((l) => l.msg.startsWith('stopped gracefully')));
    } finally {
      await removeDir(folder);
    }
  });

  test('an association still open after the drain time is aborted and the bridge still stops with 0', async () => {
    const folder = await tempDir();
    try {
      const { configPath, port } = await writeConfig(work, folder, 3600);
      const cli = await startCli(configPath, port, { DICOMBRIDGE_DRAIN_SECONDS: '1' });
      children.push(cli.child);
      const socket = await silentConnection(port);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined); // a reset by the abort is expected
      cli.child.kill('SIGTERM');
      assert.equal(await cli.exited, 0, cli.output());
      await closed;
      const lines = jsonLines(cli.output());
      assert.ok(lines.some((l) => l.msg === 'aborting associations still open after the drain time'), cli.output().slice(-2000));
      assert.ok(lines.some((l) => l.msg.startsWith('stopped gracefully')));
    } finally {
      await removeDir(folder);
    }
  });

  test('a second signal during the shutdown exits at once with code 1, saying it was forced', async () => {
    const folder = await tempDir();
    try {
      const { configPath, port } = await writeConfig(work, folder, 3600);
      const cli = await startCli(configPath, port, { DICOMBRIDGE_DRAIN_SECONDS: '20' });
      children.push(cli.child);
      const socket = await silentConnection(port); // holds the drain open
      socket.on('error', () => undefined);
      cli.child.kill('SIGTERM');
      await printed(cli, /"msg":"stopping/);
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, 1);
      socket.destroy();
      const lines = jsonLines(cli.output());
      assert.ok(lines.some((l) => l.msg.startsWith('forced stop') && l.signal === 'SIGINT'), cli.output().slice(-2000));
      assert.ok(!lines.some((l) => l.msg.startsWith('stopped gracefully')));
    } finally {
      await removeDir(folder);
    }
  });
});
