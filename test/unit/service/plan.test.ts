import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPlan, planInstall, planUninstall, type InstallOptions } from '../../../src/service/plan.js';
import { ServiceError } from '../../../src/service/service-error.js';

const LINUX: InstallOptions = {
  platform: 'linux',
  execPath: '/usr/bin/node',
  scriptPath: '/opt/dicombridge/bin/dicombridge.js',
  configPath: '/etc/dicombridge/dicombridge.json',
  workingDirectory: '/var/lib/dicombridge',
  storageFolder: '/var/lib/dicombridge',
};

const WINDOWS: InstallOptions = {
  platform: 'win32',
  execPath: 'C:\\Program Files\\nodejs\\node.exe',
  scriptPath: 'C:\\Program Files\\DicomBridge\\bin\\dicombridge.js',
  configPath: 'C:\\CrypeDcm\\dicombridge.json',
  workingDirectory: 'C:\\CrypeDcm',
  storageFolder: 'C:\\CrypeDcm',
  windowsEntryPath: 'C:\\Program Files\\DicomBridge\\dist\\src\\service\\windows-entry.js',
};

describe('planInstall / planUninstall on Linux', () => {
  it('creates the folders, writes the unit, reloads and enables it', () => {
    const plan = planInstall(LINUX);
    assert.equal(plan.platform, 'linux');
    if (plan.platform !== 'linux') return;
    assert.equal(plan.unitPath, '/etc/systemd/system/dicombridge.service');
    assert.match(plan.unitText ?? '', /^ExecStart=.* -s --config \/etc\/dicombridge\/dicombridge\.json$/m);
    assert.deepEqual(plan.steps, [
      { kind: 'ensure-directory', path: '/var/lib/dicombridge' },
      { kind: 'write-unit', path: '/etc/systemd/system/dicombridge.service', mode: 0o644 },
      { kind: 'run', command: 'systemctl', args: ['daemon-reload'] },
      { kind: 'run', command: 'systemctl', args: ['enable', '--now', 'dicombridge.service'] },
    ]);
  });

  it('uninstalls in reverse: disable --now, remove the unit, reload', () => {
    const plan = planUninstall({ platform: 'linux' });
    assert.equal(plan.platform, 'linux');
    if (plan.platform !== 'linux') return;
    assert.equal(plan.unitText, undefined);
    assert.deepEqual(plan.steps, [
      { kind: 'run', command: 'systemctl', args: ['disable', '--now', 'dicombridge.service'] },
      { kind: 'remove-unit', path: '/etc/systemd/system/dicombridge.service' },
      { kind: 'run', command: 'systemctl', args: ['daemon-reload'] },
    ]);
  });

  it('refuses a missing or relative config path with a clear message', () => {
    const { configPath: _omit, ...noConfig } = LINUX;
    assert.throws(() => planInstall(noConfig), (err: unknown) => err instanceof ServiceError && err.reason === 'invalid-option' && /add --config with an absolute path/.test(err.message));
    assert.throws(() => planInstall({ ...LINUX, configPath: 'config/dev.json' }), /configPath must be an absolute path \(got "config\/dev.json"\)/);
    assert.throws(() => planInstall({ ...WINDOWS, configPath: 'dicombridge.json' }), /configPath must be an absolute path with a drive letter/);
  });

  it('refuses platforms without a supported service manager', () => {
    assert.throws(() => planInstall({ ...LINUX, platform: 'darwin' }), (err: unknown) => err instanceof ServiceError && err.reason === 'unsupported-platform');
    assert.throws(() => planUninstall({ platform: 'freebsd' }), (err: unknown) => err instanceof ServiceError && err.reason === 'unsupported-platform');
  });
});

describe('planInstall / planUninstall on Windows', () => {
  it('registers "CRYPE DicomBridge Service", automatic, -s --config <path>, restart on failure', () => {
    const plan = planInstall(WINDOWS);
    assert.equal(plan.platform, 'win32');
    if (plan.platform !== 'win32' || plan.action !== 'install') return;
    const s = plan.service;
    assert.equal(s.name, 'CRYPE DicomBridge Service');
    assert.equal(s.id, 'crypedicombridgeservice');
    assert.equal(s.execPath, 'C:\\Program Files\\nodejs\\node.exe');
    assert.equal(s.script, WINDOWS.windowsEntryPath);
    assert.deepEqual(s.args, ['-s', '--config', 'C:\\CrypeDcm\\dicombridge.json']);
    assert.deepEqual(JSON.parse(s.env.DICOMBRIDGE_SERVICE_ARGV), ['-s', '--config', 'C:\\CrypeDcm\\dicombridge.json']);
    assert.equal(s.startType, 'automatic');
    assert.ok(s.restart.maxRestartsPerMinute > 0 && s.restart.waitSeconds > 0);
    assert.equal(s.stopTimeoutSeconds, 60);
  });

  it('refuses a path WinSW would expand', () => {
    assert.throws(() => planInstall({ ...WINDOWS, configPath: 'C:\\%TEMP%\\x.json' }), /%/);
  });

  it('uninstalls by name and entry script', () => {
    const plan = planUninstall({ platform: 'win32', windowsEntryPath: WINDOWS.windowsEntryPath });
    assert.deepEqual(plan, {
      platform: 'win32',
      action: 'uninstall',
      service: { name: 'CRYPE DicomBridge Service', id: 'crypedicombridgeservice', script: WINDOWS.windowsEntryPath },
    });
  });
});

describe('formatPlan', () => {
  it('prints the Linux steps as comment lines before the unit text', () => {
    const plan = planInstall(LINUX);
    const text = formatPlan(plan);
    const [head, unit] = text.split('\n\n# CRYPE DicomBridge');
    for (const line of head.split('\n')) assert.match(line, /^#/);
    assert.match(head, /run: systemctl daemon-reload/);
    assert.match(head, /run: systemctl enable --now dicombridge.service/);
    assert.ok(plan.platform === 'linux' && text.endsWith(plan.unitText ?? 'missing'));
    assert.ok(unit.includes('[Service]'));
  });

  it('prints only comment lines for a Linux uninstall, in reverse order', () => {
    const lines = formatPlan(planUninstall({ platform: 'linux' })).trimEnd().split('\n');
    for (const line of lines) assert.match(line, /^#/);
    assert.match(lines[1], /systemctl disable --now dicombridge.service/);
    assert.match(lines[2], /remove \/etc\/systemd\/system\/dicombridge.service/);
    assert.match(lines[3], /systemctl daemon-reload/);
  });

  it('prints the Windows service definition', () => {
    const text = formatPlan(planInstall(WINDOWS));
    assert.match(text, /name: +CRYPE DicomBridge Service/);
    assert.match(text, /program: +"C:\\Program Files\\nodejs\\node.exe" "C:\\Program Files\\DicomBridge\\dist\\src\\service\\windows-entry.js"/);
    assert.match(text, /arguments: +-s --config C:\\CrypeDcm\\dicombridge.json/);
    assert.match(text, /start type: +automatic/);
    assert.match(formatPlan(planUninstall({ platform: 'win32', windowsEntryPath: WINDOWS.windowsEntryPath })), /stop and remove/);
  });
});
