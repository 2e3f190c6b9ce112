import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { executePlan, runCommand, type CommandResult } from '../../../src/service/execute.js';
import { planInstall, planUninstall, type InstallOptions } from '../../../src/service/plan.js';
import { ServiceError } from '../../../src/service/service-error.js';
import type { NodeWindowsModule, NodeWindowsServiceConfig } from '../../../src/service/windows-service.js';

/** A fake command runner: records calls, answers from a table (default exit 0). */
function fakeRun(answers: Record<string, Partial<CommandResult>> = {}) {
  const calls: string[] = [];
  const run = async (command: string, args: readonly string[]): Promise<CommandResult> => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    return { exitCode: 0, stdout: '', stderr: '', ...answers[line] };
  };
  return { calls, run };
}

describe('executePlan on Linux', () => {
  let dir: string;
  let options: InstallOptions;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dicombridge-service-'));
    await mkdir(join(dir, 'conf'));
    await writeFile(join(dir, 'conf', 'dicombridge.json'), '{}');
    await mkdir(join(dir, 'units'));
    options = {
      platform: 'linux',
      execPath: process.execPath,
      scriptPath: '/opt/dicombridge/bin/dicombridge.js',
      configPath: join(dir, 'conf', 'dicombridge.json'),
      workingDirectory: join(dir, 'work'),
      storageFolder: join(dir, 'storage', 'CrypeDcm'),
      unitDirectory: join(dir, 'units'),
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a non-root user before touching anything', async () => {
    const { calls, run } = fakeRun();
    await assert.rejects(
      executePlan(planInstall(options), { run, getuid: () => 1000 }),
      (err: unknown) => err instanceof ServiceError && err.reason === 'needs-root' && /needs root: run with sudo/.test(err.message),
    );
    await assert.rejects(executePlan(planUninstall({ platform: 'linux', unitDirectory: join(dir, 'units') }), { run, getuid: () => 1000 }), /removing a service needs root/);
    assert.deepEqual(calls, []);
    assert.deepEqual(await readdir(join(dir, 'units')), []);
    await assert.rejects(stat(join(dir, 'storage')), { code: 'ENOENT' });
  });

  it('refuses a config file that does not exist', async () => {
    const { calls, run } = fakeRun();
    const plan = planInstall({ ...options, configPath: join(dir, 'conf', 'missing.json') });
    await assert.rejects(executePlan(plan, { run, getuid: () => 0 }), (err: unknown) => err instanceof ServiceError && err.reason === 'config-missing');
    assert.deepEqual(calls, []);
  });

  it('installs: folders created, unit written 0644 atomically, systemctl reload then enable --now', async () => {
    const { calls, run } = fakeRun();
    const plan = planInstall(options);
    const logged: string[] = [];
    await executePlan(plan, { run, getuid: () => 0, log: (l) => logged.push(l) });
    const unitPath = join(dir, 'units', 'dicombridge.service');
    assert.ok(plan.platform === 'linux');
    assert.equal(await readFile(unitPath, 'utf8'), plan.unitText);
    assert.equal((await stat(unitPath)).mode & 0o777, 0o644);
    assert.deepEqual(await readdir(join(dir, 'units')), ['dicombridge.service'], 'no temporary file left');
    assert.ok((await stat(join(dir, 'storage', 'CrypeDcm'))).isDirectory());
    assert.ok((await stat(join(dir, 'work'))).isDirectory());
    assert.deepEqual(calls, ['systemctl daemon-reload', 'systemctl enable --now dicombridge.service']);
    assert.equal(logged.length, 5);
  });

  it('reports a failing systemctl with its own message', async () => {
    const { run } = fakeRun({ 'systemctl enable --now dicombridge.service': { exitCode: 1, stderr: 'Failed to enable unit: Access denied\n' } });
    await assert.rejects(
      executePlan(planInstall(options), { run, getuid: () => 0 }),
      (err: unknown) => err instanceof ServiceError && err.reason === 'command-failed' && /exit code 1: Failed to enable unit: Access denied/.test(err.message),
    );
  });

  it('reports a missing systemctl binary', async () => {
    const run = async (): Promise<CommandResult> => {
      throw Object.assign(new Error('spawn systemctl ENOENT'), { code: 'ENOENT' });
    };
    await assert.rejects(executePlan(planInstall(options), { run, getuid: () => 0 }), /is this a systemd system\?/);
  });

  it('uninstalls: disable --now, remove the unit, reload; then refuses as not installed', async () => {
    const unitPath = join(dir, 'units', 'dicombridge.service');
    await writeFile(unitPath, '[Service]\n');
    const { calls, run } = fakeRun();
    const plan = planUninstall({ platform: 'linux', unitDirectory: join(dir, 'units') });
    await executePlan(plan, { run, getuid: () => 0 });
    assert.deepEqual(calls, ['systemctl disable --now dicombridge.service', 'systemctl daemon-reload']);
    await assert.rejects(stat(unitPath), { code: 'ENOENT' });
    await assert.rejects(executePlan(plan, { run, getuid: () => 0 }), (err: unknown) => err instanceof ServiceError && err.reason === 'not-installed');
    assert.equal(calls.length, 2, 'nothing run when not installed');
  });
});

/** A fake node-windows: records constructor options and answers install/start/uninstall with events. */
function fakeNodeWindows(behaviour: { install?: string; start?: string; uninstall?: string } = {}) {
  const created: { config: NodeWindowsServiceConfig; service: FakeService }[] = [];
  const calls: string[] = [];
  class FakeService extends EventEmitter {
    workingdirectory = '';
    constructor(readonly config: NodeWindowsServiceConfig) {
      super();
      created.push({ config, service: this });
    }
    install(): void {
      calls.push('install');
      setImmediate(() => this.emit(behaviour.install ?? 'install'));
    }
    start(): void {
      calls.push('start');
      setImmediate(() => (behaviour.start === 'error' ? this.emit('error', new Error('NET START failed')) : this.emit('start')));
    }
    uninstall(): void {
      calls.push('uninstall');
      setImmediate(() => this.emit(behaviour.uninstall ?? 'uninstall'));
    }
  }
  const lib: NodeWindowsModule = { Service: FakeService };
  return { lib, created, calls };
}

describe('executePlan on Windows (injected node-windows)', () => {
  const options: InstallOptions = {
    platform: 'win32',
    execPath: 'C:\\Program Files\\nodejs\\node.exe',
    scriptPath: 'C:\\Program Files\\DicomBridge\\bin\\dicombridge.js',
    configPath: 'C:\\CrypeDcm\\dicombridge.json',
    workingDirectory: 'C:\\CrypeDcm',
    storageFolder: 'C:\\CrypeDcm',
    windowsEntryPath: 'C:\\Program Files\\DicomBridge\\dist\\src\\service\\windows-entry.js',
  };

  it('refuses without an elevated prompt (net session fails) and never loads the library', async () => {
    const { calls, run } = fakeRun({ 'net session': { exitCode: 2, stderr: 'System error 5 has occurred. Access is denied.' } });
    let loaded = false;
    await assert.rejects(
      executePlan(planInstall(options), { run, loadNodeWindows: async () => ((loaded = true), fakeNodeWindows().lib) }),
      (err: unknown) => err instanceof ServiceError && err.reason === 'needs-elevation' && /Run as administrator/.test(err.message),
    );
    assert.deepEqual(calls, ['net session']);
    assert.equal(loaded, false);
  });

  it('passes name, description, node, entry script, argv, folder, restart and stop settings; then starts', async () => {
    const { run } = fakeRun();
    const fake = fakeNodeWindows();
    await executePlan(planInstall(options), { run, loadNodeWindows: async () => fake.lib });
    assert.deepEqual(fake.calls, ['install', 'start']);
    assert.equal(fake.created.length, 1);
    const { config, service } = fake.created[0];
    assert.deepEqual(config, {
      name: 'CRYPE DicomBridge Service',
      description: 'Receives DICOM studies from the PACS into the CRYPE inbox folders and sends CRYPE outbox ZIP files to the PACS.',
      script: 'C:\\Program Files\\DicomBridge\\dist\\src\\service\\windows-entry.js',
      execPath: 'C:\\Program Files\\nodejs\\node.exe',
      nodeOptions: '--enable-source-maps',
      env: [{ name: 'DICOMBRIDGE_SERVICE_ARGV', value: '["-s","--config","C:\\\\CrypeDcm\\\\dicombridge.json"]' }],
      wait: 2,
      grow: 0.5,
      maxRestarts: 5,
      stopparentfirst: true,
      stoptimeout: 60,
    });
    assert.equal(service.workingdirectory, 'C:\\CrypeDcm');
    assert.equal(service.listenerCount('error'), 0, 'listeners removed after each step');
  });

  it('refuses to install over an existing service', async () => {
    const { run } = fakeRun();
    const fake = fakeNodeWindows({ install: 'alreadyinstalled' });
    await assert.rejects(executePlan(planInstall(options), { run, loadNodeWindows: async () => fake.lib }), (err: unknown) => err instanceof ServiceError && err.reason === 'already-installed');
    assert.deepEqual(fake.calls, ['install']);
  });

  it('reports a start failure', async () => {
    const { run } = fakeRun();
    const fake = fakeNodeWindows({ start: 'error' });
    await assert.rejects(executePlan(planInstall(options), { run, loadNodeWindows: async () => fake.lib }), /starting the service "CRYPE DicomBridge Service" failed: Error: NET START failed/);
  });

  it('gives up on a step that never reports, within the bound', async () => {
    const { run } = fakeRun();
    const fake = fakeNodeWindows({ install: 'nothing-known' });
    await assert.rejects(executePlan(planInstall(options), { run, loadNodeWindows: async () => fake.lib, windowsTimeoutMs: 1 }), /did not finish within/);
  });

  it('uninstalls by name and script; reports a service that is not installed', async () => {
    const { run } = fakeRun();
    const plan = planUninstall({ platform: 'win32', windowsEntryPath: options.windowsEntryPath });
    const fake = fakeNodeWindows();
    await executePlan(plan, { run, loadNodeWindows: async () => fake.lib });
    assert.deepEqual(fake.created[0].config, { name: 'CRYPE DicomBridge Service', script: options.windowsEntryPath });
    assert.deepEqual(fake.calls, ['uninstall']);
    const absent = fakeNodeWindows({ uninstall: 'alreadyuninstalled' });
    await assert.rejects(executePlan(plan, { run, loadNodeWindows: async () => absent.lib }), (err: unknown) => err instanceof ServiceError && err.reason === 'not-installed');
  });

  it('says so when the optional node-windows package is absent', async () => {
    const { run } = fakeRun();
    // Not installed on Linux (the package is win32-only): the real loader must fail clearly.
    await assert.rejects(executePlan(planInstall(options), { run }), (err: unknown) => err instanceof ServiceError && err.reason === 'library-missing' && /npm install/.test(err.message));
  });
});

describe('runCommand', () => {
  it('returns exit code and output of a real process', async () => {
    const ok = await runCommand(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exitCode = 3']);
    assert.deepEqual(ok, { exitCode: 3, stdout: 'out', stderr: 'err' });
    await assert.rejects(runCommand('/nonexistent/dicombridge-no-such-binary', []), { code: 'ENOENT' });
  });
});
