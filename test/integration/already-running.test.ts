/**
 * Acceptance (issue 12 point 7, the double-click): while `dicombridge -s` runs (the service),
 * `dicombridge` started in the foreground with the same configuration names the running GUI,
 * opens it (here: no browser can be found, which is said) and exits 0, and the service keeps
 * receiving. With another configuration file on the same GUI port it fails as before, naming
 * gui.port. With nothing running the foreground mode starts as before.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { list, removeDir, tempDir } from '../support/bridge-harness.js';
import { echoscu, freePort, storescu } from '../support/peers/dcmtk.js';
import { writeStudy } from '../support/study-files.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));

/** A running CLI and what it printed so far. */
interface Cli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts the CLI with these arguments; `env` replaces chosen variables (PATH without a browser opener). */
function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => {
    if (signal) output += `\n[killed by ${signal}]`;
    resolve(code);
  }));
  return { child, output: () => output, exited };
}

/** Resolves once the CLI has printed a line matching `pattern`; rejects if it exits first (bounded). */
function printed(cli: Cli, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      cli.child.stdout!.off('data', check);
      cli.child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      if (pattern.test(cli.output())) done();
    };
    const onExit = (): void => done(new Error(`exited before printing ${pattern}: ${cli.output().slice(-2000)}`));
    const timer = setTimeout(() => done(new Error(`no ${pattern} in ${cli.output().slice(-2000)}`)), timeoutMs);
    cli.child.stdout!.on('data', check);
    cli.child.once('exit', onExit);
    check();
  });
}

/** Polls (bounded) until `ready()` holds: the bridge is an external process, seen only through its folders. */
async function waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('dicombridge started again while the service runs (double-click)', () => {
  let work: string;
  let noBrowserPath: string;
  const children: ChildProcess[] = [];

  before(async () => {
    work = await tempDir();
    noBrowserPath = join(work, 'empty-bin'); // PATH without xdg-open: the browser cannot be opened
    await mkdir(noBrowserPath);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await removeDir(work);
  });

  /** Writes a configuration on free DICOM port (or the given ports); returns its path and ports. */
  async function writeConfig(name: string, guiPort?: number): Promise<{ configPath: string; port: number; guiPort: number; storage: string }> {
    const port = await freePort();
    const gui = guiPort ?? (await freePort());
    const storage = join(work, `store-${name}`);
    const configPath = join(work, `${name}.json`);
    await writeFile(configPath, JSON.stringify({
      storageFolder: storage,
      minFreeDiskMegabytes: 0,
      receive: { host: '127.0.0.1', port, timeoutSeconds: 2 },
      gui: { host: '127.0.0.1', port: gui },
      log: { level: 'info' },
    }));
    return { configPath, port, guiPort: gui, storage };
  }

  test('the second start opens the running GUI and exits 0; the service keeps receiving; another config fails naming gui.port', async () => {
    const a = await writeConfig('service');
    const service = startCli(['-s', '--config', a.configPath]);
    children.push(service.child);
    await printed(service, /DicomBridge admin GUI: http:\/\/127\.0\.0\.1:\d+\//);

    const again = startCli(['--config', a.configPath], { PATH: noBrowserPath });
    children.push(again.child);
    assert.equal(await again.exited, 0, again.output());
    assert.ok(
      again.output().includes(`DicomBridge is already running (service): admin GUI at http://127.0.0.1:${a.guiPort}/; opened it in your browser`),
      again.output(),
    );
    assert.match(again.output(), /no browser opened .*open http:\/\/127\.0\.0\.1:\d+\/ by hand/);
    assert.doesNotMatch(again.output(), /cannot listen/);

    // The service still receives: C-ECHO, and a study becomes a ZIP.
    assert.equal((await echoscu(a.port)).code, 0);
    const study = await writeStudy(join(work, 'study'), { count: 3, rows: 8, columns: 8 });
    const sent = await storescu(a.port, study.files);
    assert.equal(sent.code, 0, sent.stderr);
    const zips = async (): Promise<string[]> => [...(await list(join(a.storage, 'Inbox_Auto'))), ...(await list(join(a.storage, 'Inbox_Manual')))].filter((n) => n.endsWith('.zip'));
    await waitFor('the study ZIP', async () => (await zips()).length === 1);

    // Another configuration file on the same GUI port: fails as before, naming the key.
    const b = await writeConfig('other', a.guiPort);
    const other = startCli(['--config', b.configPath], { PATH: noBrowserPath });
    children.push(other.child);
    assert.equal(await other.exited, 1, other.output());
    assert.match(other.output(), /gui\.host\/gui\.port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    assert.doesNotMatch(other.output(), /already running/);

    service.child.kill('SIGTERM');
    assert.equal(await service.exited, 0, service.output());

    // Nothing running any more: the foreground mode starts as before.
    const alone = startCli(['--config', a.configPath], { PATH: noBrowserPath });
    children.push(alone.child);
    await printed(alone, /DicomBridge admin GUI: http:\/\/127\.0\.0\.1:\d+\//);
    assert.doesNotMatch(alone.output(), /already running/);
    alone.child.kill('SIGTERM');
    assert.equal(await alone.exited, 0, alone.output());
  });
});
