/**
 * The console as an administrator sees it (SPEC §6, issue 11 point 5): `dicombridge` in the
 * foreground on a terminal (a pseudo-terminal from util-linux `script`) prints one readable
 * line per event — start, a study received from storescu, stop on Ctrl+C — while the log file
 * keeps its JSON lines; `dicombridge -s` on the same terminal still prints JSON lines.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { freePort, storescu } from '../support/peers/dcmtk.js';
import { writeStudy } from '../support/study-files.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));
const SCRIPT = '/usr/bin/script';
/** Starts every ANSI colour sequence (none expected with NO_COLOR). */
const ESC = '\u001b';

/** Quotes one word for `sh -c`. */
const shellWord = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI running inside a pseudo-terminal, and what the terminal showed so far. */
interface TerminalRun {
  child: ChildProcess;
  screen: () => string;
  exited: Promise<number | null>;
}

/** Runs `dicombridge args` on a pseudo-terminal: `script -qfec` gives it a TTY as stdin/stdout. */
function onTerminal(args: string[], env: Record<string, string>): TerminalRun {
  const command = ['exec', process.execPath, BIN, ...args].map(shellWord).join(' ').replace(/^'exec'/, 'exec');
  const child = spawn(SCRIPT, ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm-256color', ...env } });
  let screen = '';
  child.stdout!.on('data', (c: Buffer) => (screen += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (screen += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, screen: () => screen, exited };
}

/** Resolves once the terminal shows `pattern`; rejects if it exits first or after the bound. */
function shows(run: TerminalRun, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      run.child.stdout!.off('data', check);
      run.child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      if (pattern.test(run.screen())) done();
    };
    const onExit = (): void => done(new Error(`exited before showing ${pattern}: ${run.screen().slice(-3000)}`));
    const timer = setTimeout(() => done(new Error(`no ${pattern} in ${run.screen().slice(-3000)}`)), timeoutMs);
    run.child.stdout!.on('data', check);
    run.child.once('exit', onExit);
    check();
  });
}

describe('the console on a terminal', () => {
  let work: string;
  let noBrowserPath: string;
  const children: ChildProcess[] = [];

  before(async () => {
    work = await tempDir();
    noBrowserPath = join(work, 'empty-bin'); // no xdg-open: the foreground mode cannot open a browser
    await mkdir(noBrowserPath);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await removeDir(work);
  });

  async function writeConfig(name: string): Promise<{ configPath: string; port: number; storage: string }> {
    const port = await freePort();
    const storage = join(work, `store-${name}`);
    const configPath = join(work, `${name}.json`);
    await writeFile(configPath, JSON.stringify({
      storageFolder: storage,
      minFreeDiskMegabytes: 0,
      receive: { host: '127.0.0.1', port, timeoutSeconds: 1 },
      gui: { host: '127.0.0.1', port: await freePort() },
      log: { level: 'info' },
    }));
    return { configPath, port, storage };
  }

  it('the foreground mode prints readable lines: start, the received study, stop; the log file keeps JSON', async () => {
    const { configPath, port, storage } = await writeConfig('fg');
    const run = onTerminal(['--config', configPath], { PATH: noBrowserPath, NO_COLOR: '1' });
    children.push(run.child);
    await shows(run, /\d\d:\d\d:\d\d DicomBridge \S+ started: DICOM on port \d+, admin GUI http:/);

    const study = await writeStudy(join(work, 'study'), { count: 3, patientName: 'DOE^Jane' });
    const sent = await storescu(port, study.files, { callingAet: 'PACS1' });
    assert.equal(sent.code, 0, sent.stderr);
    await shows(run, / received CT study DOE, Jane \(3 instances\) from PACS1 → Inbox_Manual\/\S.*\.zip/);

    run.child.stdin!.write('\u0003'); // Ctrl+C on the terminal: SIGINT to the bridge
    assert.equal(await run.exited, 0, run.screen());
    // The terminal echoes the Ctrl+C as "^C" before the next line.
    const lines = run.screen().replaceAll('^C', '').split(/\r?\n/).filter((l) => l.trim() !== '');
    assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d stopping \(SIGINT\): /.test(l)), run.screen());
    assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d stopped gracefully/.test(l)), run.screen());
    // No JSON, no per-association or per-instance chatter, no colour codes (NO_COLOR).
    assert.ok(!lines.some((l) => l.trimStart().startsWith('{')), run.screen());
    assert.doesNotMatch(run.screen(), /C-STORE answered|association accepted/);
    assert.ok(!run.screen().includes(ESC), 'no colour codes with NO_COLOR');

    const file = await readFile(join(storage, 'Logs', 'dicombridge.log'), 'utf8');
    const records = file.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const zipped = records.find((r) => r.msg === 'study zipped');
    assert.equal(zipped?.patientName, 'DOE, Jane');
    assert.deepEqual(zipped?.callingAet, ['PACS1']);
    assert.equal(zipped?.inbox, 'Inbox_Manual');
  });

  it('-s on the same terminal keeps JSON lines', async () => {
    const { configPath, port } = await writeConfig('svc');
    const run = onTerminal(['-s', '--config', configPath], { PATH: noBrowserPath });
    children.push(run.child);
    await shows(run, /"msg":"DicomBridge running"/);
    const study = await writeStudy(join(work, 'study-s'), { count: 2, patientName: 'ROE^Rick' });
    assert.equal((await storescu(port, study.files, { callingAet: 'PACS2' })).code, 0);
    await shows(run, /"msg":"study zipped"/);
    run.child.stdin!.write('\u0003');
    assert.equal(await run.exited, 0, run.screen());
    const lines = run.screen().split(/\r?\n/).filter((l) => l.trim().startsWith('{'));
    assert.ok(lines.length > 3);
    const zipped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'study zipped');
    assert.equal(zipped?.patientName, 'ROE, Rick');
    assert.doesNotMatch(run.screen(), / received CT study/);
  });
});
