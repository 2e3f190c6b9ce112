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

/** The single executable dicombridge.exe: no script. */
const WINDOWS: InstallOptions = {
  platform: 'win32',
  execPath: 'C:\\Program Files\\DicomBridge\\dicombridge.exe',
  configPath: 'C:\\CrypeDcm\\dicombridge.json',
  workingDirectory: 'C:\\CrypeDcm',
  storageFolder: 'C:\\CrypeDcm',
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
  it('writes the WinSW wrapper, its .config and its XML beside the config, checks status, installs and starts', () => {
    const plan = planInstall(WINDOWS);
    assert.equal(plan.platform, 'win32');
    if (plan.platform !== 'win32') return;
    assert.equal(plan.displayName, 'CRYPE DicomBridge Service');
    assert.equal(plan.serviceId, 'crypedicombridgeservice');
    assert.equal(plan.folder, 'C:\\CrypeDcm\\service');
    assert.equal(plan.wrapperPath, 'C:\\CrypeDcm\\service\\dicombridge-service.exe');
    assert.deepEqual(plan.command, { executable: 'C:\\Program Files\\DicomBridge\\dicombridge.exe', args: ['-s', '--config', 'C:\\CrypeDcm\\dicombridge.json'] });
    assert.equal(plan.configPath, 'C:\\CrypeDcm\\dicombridge.json');
    assert.match(plan.xmlText, /<executable>C:\\Program Files\\DicomBridge\\dicombridge.exe<\/executable>/);
    assert.deepEqual(plan.steps, [
      { kind: 'ensure-directory', path: 'C:\\CrypeDcm\\service' },
      { kind: 'write-file', path: 'C:\\CrypeDcm\\service\\dicombridge-service.exe', source: 'winsw.exe' },
      { kind: 'write-file', path: 'C:\\CrypeDcm\\service\\dicombridge-service.exe.config', source: 'winsw.exe.config' },
      { kind: 'write-file', path: 'C:\\CrypeDcm\\service\\dicombridge-service.xml', source: 'xml' },
      { kind: 'check-status', expect: 'absent' },
      { kind: 'run', command: 'install' },
      { kind: 'run', command: 'start' },
    ]);
  });

  it('refuses a path WinSW would expand', () => {
    assert.throws(() => planInstall({ ...WINDOWS, configPath: 'C:\\%TEMP%\\x.json' }), /%/);
  });

  it('uninstalls in reverse with the same files: status, stop and wait, uninstall, remove the files', () => {
    const plan = planUninstall(WINDOWS);
    assert.ok(plan.platform === 'win32' && plan.action === 'uninstall');
    assert.equal(plan.configPath, undefined, 'a missing config file does not block removal');
    assert.deepEqual(plan.steps.slice(4), [
      { kind: 'check-status', expect: 'present' },
      { kind: 'stop-and-wait' },
      { kind: 'run', command: 'uninstall' },
      { kind: 'remove-files', folder: 'C:\\CrypeDcm\\service' },
    ]);
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

  it('prints the Windows steps as rem lines: what the service runs, the files, the commands; then the XML', () => {
    const plan = planInstall(WINDOWS);
    const text = formatPlan(plan);
    const [head, xml] = text.split('\r\n\r\n');
    for (const line of head.split('\r\n')) assert.match(line, /^rem /);
    assert.ok(head.includes('"CRYPE DicomBridge Service" (key crypedicombridgeservice), which runs: "C:\\Program Files\\DicomBridge\\dicombridge.exe" -s --config C:\\CrypeDcm\\dicombridge.json'), head);
    assert.ok(head.includes('write C:\\CrypeDcm\\service\\dicombridge-service.exe (WinSW winsw.exe'), head);
    assert.ok(head.includes('write C:\\CrypeDcm\\service\\dicombridge-service.xml with the text below'), head);
    for (const command of ['status', 'install', 'start']) assert.ok(head.includes(`run: C:\\CrypeDcm\\service\\dicombridge-service.exe ${command}`), command);
    assert.ok(plan.platform === 'win32' && xml === plan.xmlText);
    const removal = formatPlan(planUninstall(WINDOWS));
    assert.match(removal, /stop and remove/);
    for (const command of ['stop', 'uninstall']) assert.ok(removal.includes(`dicombridge-service.exe ${command}`), command);
    assert.ok(removal.includes('remove C:\\CrypeDcm\\service\\dicombridge-service.*'));
  });
});
