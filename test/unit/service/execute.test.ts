import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { executePlan, runCommand, type CommandResult, type WindowsFiles } from '../../../src/service/execute.js';
import { planInstall, planUninstall, type InstallOptions } from '../../../src/service/plan.js';
import { ServiceError } from '../../../src/service/service-error.js';

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

/** Files in memory, keyed by Windows path: the Windows plan's file steps without Windows. */
function fakeFiles(existing: Record<string, string> = {}) {
  const files = new Map<string, Buffer>(Object.entries(existing).map(([k, v]) => [k, Buffer.from(v)]));
  const dirs = new Set<string>();
  const busy = new Map<string, number>();
  const api: WindowsFiles = {
    canRead: async (path) => {
      if (!files.has(path)) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    },
    exists: async (path) => dirs.has(path) || files.has(path),
    mkdir: async (path) => void dirs.add(path),
    write: async (path, bytes) => void files.set(path, Buffer.from(bytes)),
    list: async (folder) => [...files.keys()].filter((p) => p.startsWith(`${folder}\\`)).map((p) => p.slice(folder.length + 1)),
    remove: async (path) => {
      const left = busy.get(path) ?? 0;
      if (left > 0) {
        busy.set(path, left - 1);
        throw Object.assign(new Error(`EBUSY ${path}`), { code: 'EBUSY' });
      }
      files.delete(path);
    },
    removeDirIfEmpty: async (folder) => {
      if (![...files.keys()].some((p) => p.startsWith(`${folder}\\`))) dirs.delete(folder);
    },
  };
  return { api, files, dirs, busy };
}

/** The WinSW wrapper as a scripted command: `status` answers from a list, other commands succeed unless told. */
function fakeWrapper(statuses: string[], answers: Record<string, Partial<CommandResult>> = {}) {
  const calls: string[] = [];
  const run = async (command: string, args: readonly string[]): Promise<CommandResult> => {
    const line = [command.split('\\').pop(), ...args].join(' ');
    calls.push(line);
    if (line === 'dicombridge-service.exe status') return { exitCode: 0, stdout: `${statuses.length > 1 ? statuses.shift() : statuses[0]}\r\n`, stderr: '' };
    return { exitCode: 0, stdout: '', stderr: '', ...answers[line] };
  };
  return { calls, run };
}

const ASSETS: Record<string, Buffer> = { 'winsw.exe': Buffer.from('MZ winsw'), 'winsw.exe.config': Buffer.from('<configuration/>') };

describe('executePlan on Windows (WinSW wrapper, scripted)', () => {
  const options: InstallOptions = {
    platform: 'win32',
    execPath: 'C:\\Program Files\\DicomBridge\\dicombridge.exe',
    configPath: 'C:\\CrypeDcm\\dicombridge.json',
    workingDirectory: 'C:\\CrypeDcm',
    storageFolder: 'C:\\CrypeDcm',
  };
  const folder = 'C:\\CrypeDcm\\service';
  const config = { 'C:\\CrypeDcm\\dicombridge.json': '{}' };
  const deps = (run: (c: string, a: readonly string[]) => Promise<CommandResult>, files: WindowsFiles) => ({ run, windowsFiles: files, asset: (name: string) => ASSETS[name], pauseMs: 0 });

  it('refuses without an elevated prompt (net session fails) and writes nothing', async () => {
    const { calls, run } = fakeRun({ 'net session': { exitCode: 2, stderr: 'System error 5 has occurred. Access is denied.' } });
    const files = fakeFiles(config);
    await assert.rejects(
      executePlan(planInstall(options), deps(run, files.api)),
      (err: unknown) => err instanceof ServiceError && err.reason === 'needs-elevation' && /Run as administrator/.test(err.message),
    );
    assert.deepEqual(calls, ['net session']);
    assert.equal(files.files.size, 1);
  });

  it('refuses a config file that does not exist, before writing anything', async () => {
    const { run } = fakeRun();
    const files = fakeFiles();
    await assert.rejects(executePlan(planInstall(options), deps(run, files.api)), (err: unknown) => err instanceof ServiceError && err.reason === 'config-missing');
    assert.equal(files.files.size, 0);
  });

  it('outside the single executable (no WinSW asset) says to use dicombridge.exe, and writes nothing', async () => {
    const { run } = fakeRun();
    const files = fakeFiles(config);
    await assert.rejects(
      executePlan(planInstall(options), { ...deps(run, files.api), asset: () => undefined }),
      (err: unknown) => err instanceof ServiceError && err.reason === 'wrapper-missing' && /dicombridge\.exe -i/.test(err.message),
    );
    assert.equal(files.files.size, 1);
  });

  it('installs: wrapper, .config and XML written, then status, install, start', async () => {
    const wrapper = fakeWrapper(['NonExistent']);
    const files = fakeFiles(config);
    const plan = planInstall(options);
    const logged: string[] = [];
    await executePlan(plan, { ...deps(async (c, a) => (c === 'net' ? { exitCode: 0, stdout: '', stderr: '' } : wrapper.run(c, a)), files.api), log: (l) => logged.push(l) });
    assert.deepEqual(wrapper.calls, ['dicombridge-service.exe status', 'dicombridge-service.exe install', 'dicombridge-service.exe start']);
    assert.deepEqual(files.files.get(`${folder}\\dicombridge-service.exe`), ASSETS['winsw.exe']);
    assert.deepEqual(files.files.get(`${folder}\\dicombridge-service.exe.config`), ASSETS['winsw.exe.config']);
    assert.ok(plan.platform === 'win32');
    assert.equal(files.files.get(`${folder}\\dicombridge-service.xml`)?.toString('utf8'), plan.xmlText);
    assert.ok(logged.some((l) => l.endsWith('dicombridge-service.exe" start')), logged.join('\n'));
  });

  it('refuses to install over an existing service and removes what it wrote', async () => {
    const wrapper = fakeWrapper(['Started']);
    const files = fakeFiles(config);
    await assert.rejects(
      executePlan(planInstall(options), deps(wrapper.run, files.api)),
      (err: unknown) => err instanceof ServiceError && err.reason === 'already-installed' && /dicombridge -u/.test(err.message),
    );
    assert.deepEqual(wrapper.calls, ['net session', 'dicombridge-service.exe status']);
    assert.deepEqual([...files.files.keys()], Object.keys(config));
    assert.equal(files.dirs.has(folder), false);
  });

  it('reports a failed install with the wrapper\'s message and removes its files; a failed start keeps the service and says how to remove it', async () => {
    const failing = fakeWrapper(['NonExistent'], { 'dicombridge-service.exe install': { exitCode: -1, stderr: "System.Exception: Installation failure: Service with id 'crypedicombridgeservice' already exists\r\n" } });
    const files = fakeFiles(config);
    await assert.rejects(executePlan(planInstall(options), deps(failing.run, files.api)), /install` failed with exit code -1: System.Exception: Installation failure/);
    assert.deepEqual([...files.files.keys()], Object.keys(config));
    const noStart = fakeWrapper(['NonExistent'], { 'dicombridge-service.exe start': { exitCode: 2, stderr: 'AccessDenied' } });
    const kept = fakeFiles(config);
    await assert.rejects(executePlan(planInstall(options), deps(noStart.run, kept.api)), /installed but did not start: .*AccessDenied.*dicombridge-service\.err\.log.*dicombridge -u/);
    assert.equal(kept.files.size, 4, 'the registered service keeps its wrapper');
  });

  it('uninstalls: status, stop, status until Stopped, uninstall, then removes the wrapper, its logs and the folder', async () => {
    const wrapper = fakeWrapper(['Started', 'Started', 'Started', 'Stopped']);
    const files = fakeFiles({ ...config, [`${folder}\\dicombridge-service.out.log`]: 'log', [`${folder}\\dicombridge-service.wrapper.log`]: 'log' });
    files.busy.set(`${folder}\\dicombridge-service.exe`, 2); // the wrapper process is still exiting
    await executePlan(planUninstall(options), deps(wrapper.run, files.api));
    assert.deepEqual(wrapper.calls, [
      'net session',
      'dicombridge-service.exe status',
      'dicombridge-service.exe status',
      'dicombridge-service.exe stop',
      'dicombridge-service.exe status',
      'dicombridge-service.exe status',
      'dicombridge-service.exe uninstall',
    ]);
    assert.deepEqual([...files.files.keys()], Object.keys(config), 'only the configuration is left');
    assert.equal(files.dirs.has(folder), false);
  });

  it('uninstalls a stopped service without stop; refuses a service that is not installed and leaves nothing behind', async () => {
    const stopped = fakeWrapper(['Stopped']);
    await executePlan(planUninstall(options), deps(stopped.run, fakeFiles(config).api));
    assert.ok(!stopped.calls.includes('dicombridge-service.exe stop'));
    assert.ok(stopped.calls.includes('dicombridge-service.exe uninstall'));
    const absent = fakeWrapper(['NonExistent']);
    const files = fakeFiles(config);
    await assert.rejects(executePlan(planUninstall(options), deps(absent.run, files.api)), (err: unknown) => err instanceof ServiceError && err.reason === 'not-installed');
    assert.ok(!absent.calls.includes('dicombridge-service.exe uninstall'));
    assert.deepEqual([...files.files.keys()], Object.keys(config));
  });

  it('gives up waiting for a service that does not stop, within the bound', async () => {
    const wrapper = fakeWrapper(['Started']);
    await assert.rejects(executePlan(planUninstall(options), { ...deps(wrapper.run, fakeFiles(config).api), stopWaitMs: 0 }), /did not stop in time/);
  });
});

describe('runCommand', () => {
  it('returns exit code and output of a real process', async () => {
    const ok = await runCommand(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exitCode = 3']);
    assert.deepEqual(ok, { exitCode: 3, stdout: 'out', stderr: 'err' });
    await assert.rejects(runCommand('/nonexistent/dicombridge-no-such-binary', []), { code: 'ENOENT' });
  });
});
