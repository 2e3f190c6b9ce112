import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError } from '../../../src/service/service-error.js';
import {
  buildSystemdUnit,
  quoteExecWord,
  quotePathListEntry,
  writablePaths,
  type SystemdUnitOptions,
} from '../../../src/service/systemd-unit.js';

const BASE: SystemdUnitOptions = {
  execPath: '/usr/bin/node',
  scriptPath: '/opt/dicombridge/bin/dicombridge.js',
  configPath: '/etc/dicombridge/dicombridge.json',
  workingDirectory: '/var/lib/dicombridge',
  storageFolder: '/var/lib/dicombridge',
};

/** The value of every `Key=` line, in order. */
function settings(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

describe('buildSystemdUnit', () => {
  it('runs the CLI in service mode with the config, and restarts on failure', () => {
    const unit = buildSystemdUnit(BASE);
    assert.deepEqual(settings(unit, 'ExecStart'), ['/usr/bin/node /opt/dicombridge/bin/dicombridge.js -s --config /etc/dicombridge/dicombridge.json']);
    assert.deepEqual(settings(unit, 'Description'), ['CRYPE DicomBridge Service']);
    assert.deepEqual(settings(unit, 'Type'), ['simple']);
    assert.deepEqual(settings(unit, 'WorkingDirectory'), ['/var/lib/dicombridge']);
    assert.deepEqual(settings(unit, 'Restart'), ['on-failure']);
    assert.deepEqual(settings(unit, 'RestartPreventExitStatus'), ['78']);
    assert.deepEqual(settings(unit, 'KillSignal'), ['SIGTERM']);
    assert.deepEqual(settings(unit, 'TimeoutStopSec'), ['60']);
    assert.deepEqual(settings(unit, 'WantedBy'), ['multi-user.target']);
    assert.match(unit, /\[Unit\][\s\S]*\[Service\][\s\S]*\[Install\]/);
  });

  it('runs the single executable itself when there is no script: <exe> -s --config <path>', () => {
    const { scriptPath: _none, ...single } = BASE;
    const unit = buildSystemdUnit({ ...single, execPath: '/opt/dicombridge/dicombridge' });
    assert.deepEqual(settings(unit, 'ExecStart'), ['/opt/dicombridge/dicombridge -s --config /etc/dicombridge/dicombridge.json']);
  });

  it('quotes the executable\'s path by systemd.syntax: spaces in double quotes, %% for %, $$ for $, \\ and \\" inside quotes', () => {
    const { scriptPath: _none, ...single } = BASE;
    const unit = buildSystemdUnit({ ...single, execPath: '/opt/Dicom Bridge 100%/$dicom"bridge\\', configPath: '/etc/Dicom Bridge/my config.json' });
    assert.deepEqual(settings(unit, 'ExecStart'), ['"/opt/Dicom Bridge 100%%/$$dicom\\"bridge\\\\" -s --config "/etc/Dicom Bridge/my config.json"']);
  });

  it('carries every hardening line, and none that would break Node or port 104', () => {
    const unit = buildSystemdUnit(BASE);
    for (const line of [
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'RestrictRealtime=yes',
      'RestrictNamespaces=yes',
      'SystemCallArchitectures=native',
      'UMask=0027',
    ]) {
      assert.ok(unit.split('\n').includes(line), `missing ${line}`);
    }
    assert.doesNotMatch(unit, /DynamicUser|MemoryDenyWriteExecute|PrivateNetwork|RestrictAddressFamilies/);
    // As root (no User=), binding port 104 needs no capability line; none restricts it either.
    assert.deepEqual(settings(unit, 'User'), []);
    assert.deepEqual(settings(unit, 'CapabilityBoundingSet'), []);
  });

  it('gives a non-root user exactly the capability to bind port 104', () => {
    const unit = buildSystemdUnit({ ...BASE, user: 'dicombridge' });
    assert.deepEqual(settings(unit, 'User'), ['dicombridge']);
    assert.deepEqual(settings(unit, 'AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(settings(unit, 'CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE']);
  });

  it('makes the storage folder and the config folder writable, optional if missing', () => {
    const unit = buildSystemdUnit(BASE);
    assert.deepEqual(settings(unit, 'ReadWritePaths'), ['-/var/lib/dicombridge -/etc/dicombridge']);
    const inside = buildSystemdUnit({ ...BASE, configPath: '/var/lib/dicombridge/conf/dicombridge.json' });
    assert.deepEqual(settings(inside, 'ReadWritePaths'), ['-/var/lib/dicombridge']);
  });

  it('covers paths under /home with ReadWritePaths while ProtectHome stays read-only', () => {
    const unit = buildSystemdUnit({ ...BASE, storageFolder: '/home/pacs/CrypeDcm', configPath: '/home/pacs/dicombridge.json' });
    assert.deepEqual(settings(unit, 'ReadWritePaths'), ['-/home/pacs']);
    assert.deepEqual(settings(unit, 'ProtectHome'), ['read-only']);
  });

  it('quotes paths with spaces and escapes %, $, quotes and backslashes by systemd rules', () => {
    const unit = buildSystemdUnit({
      ...BASE,
      scriptPath: '/opt/Dicom Bridge/bin/dicombridge.js',
      configPath: '/etc/my "cfg"/100%$HOME\\x.json',
      workingDirectory: '/srv/work 50%',
      storageFolder: '/srv/Crype Dcm',
    });
    assert.deepEqual(settings(unit, 'ExecStart'), [
      '/usr/bin/node "/opt/Dicom Bridge/bin/dicombridge.js" -s --config "/etc/my \\"cfg\\"/100%%$$HOME\\\\x.json"',
    ]);
    assert.deepEqual(settings(unit, 'WorkingDirectory'), ['/srv/work 50%%']);
    assert.deepEqual(settings(unit, 'ReadWritePaths'), ['"-/srv/Crype Dcm" "-/etc/my \\"cfg\\""']);
  });

  it('refuses relative or missing paths, control characters and odd user names', () => {
    const refuses = (options: SystemdUnitOptions, pattern: RegExp) =>
      assert.throws(() => buildSystemdUnit(options), (err: unknown) => err instanceof ServiceError && err.reason === 'invalid-option' && pattern.test(err.message));
    refuses({ ...BASE, configPath: 'dicombridge.json' }, /configPath must be an absolute path/);
    refuses({ ...BASE, configPath: '' }, /configPath is required/);
    refuses({ ...BASE, storageFolder: './data' }, /storageFolder must be an absolute path/);
    refuses({ ...BASE, workingDirectory: '/srv/a\nExecStartPre=/bin/sh' }, /workingDirectory cannot be written/);
    refuses({ ...BASE, user: 'x; rm' }, /plain login name/);
    refuses({ ...BASE, user: 'root' }, /leave the user out/);
  });
});

describe('systemd quoting helpers', () => {
  it('leaves plain words alone and quotes the rest', () => {
    assert.equal(quoteExecWord('/usr/bin/node'), '/usr/bin/node');
    assert.equal(quoteExecWord('--config'), '--config');
    assert.equal(quoteExecWord("it's"), '"it\'s"');
    assert.equal(quoteExecWord(''), '""');
    assert.equal(quotePathListEntry('-/a b$'), '"-/a b$"');
    assert.throws(() => quoteExecWord('a\tb'), ServiceError);
  });

  it('drops a writable folder that lies inside another', () => {
    assert.deepEqual(writablePaths('/data/x', '/data/conf.json'), ['/data']);
    assert.deepEqual(writablePaths('/data', '/data/x/conf.json'), ['/data']);
    assert.deepEqual(writablePaths('/data', '/database/conf.json'), ['/data', '/database']);
  });
});
