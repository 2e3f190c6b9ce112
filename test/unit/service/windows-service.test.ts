import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ServiceError } from '../../../src/service/service-error.js';
import {
  checkWindowsPath,
  defaultWindowsEntryPath,
  forwardShutdownMessage,
  SERVICE_ARGV_ENV,
  serviceArgvFromEnv,
  windowsServiceId,
} from '../../../src/service/windows-service.js';

describe('windows service helpers', () => {
  it('derives node-windows\' service key from the name', () => {
    assert.equal(windowsServiceId('CRYPE DicomBridge Service'), 'crypedicombridgeservice');
  });

  it('accepts drive and UNC paths, refuses relative, root-relative and %VAR% paths', () => {
    assert.equal(checkWindowsPath('p', 'C:/CrypeDcm/x.json'), 'C:\\CrypeDcm\\x.json');
    assert.equal(checkWindowsPath('p', '\\\\srv\\share\\x.json'), '\\\\srv\\share\\x.json');
    for (const bad of ['x.json', '\\CrypeDcm\\x.json', 'C:x.json', 'C:\\%APPDATA%\\x.json', 'C:\\a"b']) {
      assert.throws(() => checkWindowsPath('p', bad), ServiceError, bad);
    }
  });

  it('reads the service argv back from the environment, and refuses a malformed one', () => {
    assert.equal(serviceArgvFromEnv({}), undefined);
    assert.deepEqual(serviceArgvFromEnv({ [SERVICE_ARGV_ENV]: '["-s","--config","C:\\\\a b\\\\x.json"]' }), ['-s', '--config', 'C:\\a b\\x.json']);
    assert.throws(() => serviceArgvFromEnv({ [SERVICE_ARGV_ENV]: '-s' }), /not valid JSON/);
    assert.throws(() => serviceArgvFromEnv({ [SERVICE_ARGV_ENV]: '["-s",1]' }), /array of strings/);
  });

  it('turns the wrapper\'s "shutdown" message into SIGTERM and unrefs the IPC channel', () => {
    const proc = new EventEmitter() as EventEmitter & { channel: { unref(): void } };
    let unrefs = 0;
    proc.channel = { unref: () => void (unrefs += 1) };
    const signals: string[] = [];
    proc.on('SIGTERM', (signal: string) => signals.push(signal));
    forwardShutdownMessage(proc as unknown as Parameters<typeof forwardShutdownMessage>[0]);
    assert.equal(unrefs, 1);
    proc.emit('message', 'hello');
    assert.deepEqual(signals, []);
    proc.emit('message', 'shutdown');
    assert.deepEqual(signals, ['SIGTERM']);
  });

  it('the built entry script restores argv from the environment and runs the CLI', async () => {
    const entry = defaultWindowsEntryPath();
    const pkg = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [entry], { env: { ...process.env, [SERVICE_ARGV_ENV]: '["--version"]' } }, (err, out) => (err ? reject(err) : resolve(out)));
    });
    assert.equal(stdout.trim(), `DicomBridge ${pkg.version} (Node.js ${process.version})`);
  });
});
