import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, defaultStorageFolder } from '../../../src/config/defaults.js';
import { ConfigError } from '../../../src/config/errors.js';
import { checkStorageFolder, cridTag, loadConfig, parseConfig, saveConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';

const base = { baseDir: '/etc/dicombridge' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG');
    return err;
  }
  assert.fail('expected a ConfigError');
}

function withReceive(receive: Record<string, unknown>): unknown {
  return { receive };
}

describe('parseConfig defaults', () => {
  it('an empty object gives every SPEC §5 default', () => {
    const c = parseConfig({}, base);
    assert.deepEqual(c, { ...DEFAULT_CONFIG, storageFolder: path.resolve('/etc/dicombridge', defaultStorageFolder()) });
    assert.equal(c.keepFailedDays, 7);
    assert.equal(c.receive.enabled, true);
    assert.equal(c.receive.port, 104);
    assert.equal(c.receive.timeoutSeconds, 30);
    assert.equal(c.receive.cridTagGroup, '0000');
    assert.equal(c.receive.cridTagElement, '0000');
    assert.equal(c.receive.host, '0.0.0.0');
    assert.equal(c.receive.aeTitle, '');
    assert.equal(c.receive.maxAssociations, 16);
    assert.equal(c.receive.maxPduLength, 262144);
    assert.equal(c.receive.zipCompressionLevel, 1);
    assert.equal(c.receive.fsync, true);
    assert.equal(c.send.enabled, false);
    assert.equal(c.send.host, '');
    assert.equal(c.send.port, 104);
    assert.equal(c.send.calledAeTitle, 'CRYPE_DCM');
    assert.equal(c.send.callingAeTitle, 'CRYPE_DCM');
    assert.equal(c.gui.host, '127.0.0.1');
    assert.equal(c.gui.port, 8104);
    assert.equal(c.log.level, 'info');
  });

  it('storage folder default depends on the platform', () => {
    assert.equal(defaultStorageFolder('win32'), 'C:\\CrypeDcm');
    assert.equal(defaultStorageFolder('linux'), '/var/lib/dicombridge');
  });

  it('DEFAULT_CONFIG is frozen and parse results are fresh objects', () => {
    assert.ok(Object.isFrozen(DEFAULT_CONFIG.receive));
    const a = parseConfig({}, base);
    a.receive.port = 5;
    assert.equal(parseConfig({}, base).receive.port, 104);
  });

  it('missing keys in a section take their defaults, given ones are kept', () => {
    const c = parseConfig({ receive: { port: 11112 }, send: { enabled: true, host: '10.0.0.1' } }, base);
    assert.equal(c.receive.port, 11112);
    assert.equal(c.receive.timeoutSeconds, 30);
    assert.equal(c.send.host, '10.0.0.1');
    assert.equal(c.send.calledAeTitle, 'CRYPE_DCM');
  });

  it('relative storage folders resolve against the config folder, absolute ones stay', () => {
    assert.equal(parseConfig({ storageFolder: '../data' }, { baseDir: '/opt/db/config' }).storageFolder, '/opt/db/data');
    assert.equal(parseConfig({ storageFolder: '/srv/x' }, { baseDir: '/opt' }).storageFolder, '/srv/x');
  });
});

describe('parseConfig rules', () => {
  it('port 0 names key, rule and value', () => {
    const e = configError(() => parseConfig(withReceive({ port: 0 }), base));
    assert.equal(e.message, 'receive.port: must be an integer from 1 to 65535 (got 0)');
    assert.equal(e.key, 'receive.port');
    assert.equal(e.rule, 'must be an integer from 1 to 65535');
  });

  it('unknown keys are refused by name, at any depth', () => {
    assert.equal(configError(() => parseConfig(withReceive({ prot: 104 }), base)).message, 'receive.prot: unknown key');
    const e = configError(() => parseConfig({ storageFoldr: '/x' }, base));
    assert.equal(e.key, 'storageFoldr');
    assert.equal(e.rule, 'unknown key');
  });

  it('unknown keys come first and every issue is listed', () => {
    const e = configError(() => parseConfig({ keepFailedDays: 0, recieve: {} }, base));
    assert.equal(e.key, 'recieve');
    assert.equal(e.issues.length, 2);
    assert.equal(e.issues[1].text, 'keepFailedDays: must be an integer from 1 to 365 (got 0)');
  });

  const bad: Array<[string, unknown, string]> = [
    ['keepFailedDays', { keepFailedDays: 366 }, 'must be an integer from 1 to 365'],
    ['keepFailedDays', { keepFailedDays: 1.5 }, 'must be an integer from 1 to 365'],
    ['receive.port', withReceive({ port: '104' }), 'must be an integer from 1 to 65535'],
    ['receive.port', withReceive({ port: 65536 }), 'must be an integer from 1 to 65535'],
    ['receive.timeoutSeconds', withReceive({ timeoutSeconds: 3601 }), 'must be an integer from 1 to 3600'],
    ['receive.timeoutSeconds', withReceive({ timeoutSeconds: 0 }), 'must be an integer from 1 to 3600'],
    ['receive.cridTagGroup', withReceive({ cridTagGroup: '10' }), 'must be 4 hexadecimal digits, e.g. "0010"'],
    ['receive.cridTagElement', withReceive({ cridTagElement: '00G0' }), 'must be 4 hexadecimal digits, e.g. "0010"'],
    ['receive.cridTagGroup', withReceive({ cridTagGroup: 16 }), 'must be 4 hexadecimal digits, e.g. "0010"'],
    ['receive.enabled', withReceive({ enabled: 'yes' }), 'must be true or false'],
    ['receive.fsync', withReceive({ fsync: 0 }), 'must be true or false'],
    ['receive.host', withReceive({ host: 'localhost' }), 'must be an IP address, e.g. "127.0.0.1"'],
    ['receive.maxAssociations', withReceive({ maxAssociations: 0 }), 'must be an integer from 1 to 256'],
    ['receive.maxAssociations', withReceive({ maxAssociations: 257 }), 'must be an integer from 1 to 256'],
    ['receive.maxPduLength', withReceive({ maxPduLength: 4095 }), 'must be an integer from 4096 to 16777216'],
    ['receive.maxPduLength', withReceive({ maxPduLength: 16777217 }), 'must be an integer from 4096 to 16777216'],
    ['receive.zipCompressionLevel', withReceive({ zipCompressionLevel: 10 }), 'must be an integer from 0 to 9'],
    ['receive.aeTitle', withReceive({ aeTitle: 'MY AE' }), 'must be "" (answer to any called AE title) or 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.port', { send: { port: -1 } }, 'must be an integer from 1 to 65535'],
    ['send.host', { send: { host: '300.1.1.1' } }, 'must be an IPv4 address or a host name, or empty'],
    ['send.host', { send: { host: 'pacs_1.local' } }, 'must be an IPv4 address or a host name, or empty'],
    ['send.host', { send: { host: '-pacs' } }, 'must be an IPv4 address or a host name, or empty'],
    ['send.calledAeTitle', { send: { calledAeTitle: '' } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.calledAeTitle', { send: { calledAeTitle: '   ' } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.calledAeTitle', { send: { calledAeTitle: 'A'.repeat(17) } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.callingAeTitle', { send: { callingAeTitle: 'A\\B' } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.callingAeTitle', { send: { callingAeTitle: 'A\tB' } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.callingAeTitle', { send: { callingAeTitle: 'CRYPE DCM' } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['send.callingAeTitle', { send: { callingAeTitle: 'ÄRZTE' } }, 'must be 1 to 16 ASCII characters without spaces, backslash or control characters'],
    ['gui.host', { gui: { host: 'example.org' } }, 'must be an IP address, e.g. "127.0.0.1"'],
    ['gui.port', { gui: { port: 70000 } }, 'must be an integer from 1 to 65535'],
    ['log.level', { log: { level: 'verbose' } }, 'must be one of "trace", "debug", "info", "warn", "error"'],
    ['storageFolder', { storageFolder: '' }, 'must be a folder path (not empty, no NUL character)'],
    ['storageFolder', { storageFolder: 'a\0b' }, 'must be a folder path (not empty, no NUL character)'],
    ['receive', { receive: 5 }, 'must be an object'],
    ['', [], 'must be a JSON object'],
  ];
  for (const [key, json, rule] of bad) {
    it(`refuses ${JSON.stringify(json)} at ${key || 'the root'}`, () => {
      const e = configError(() => parseConfig(json, base));
      assert.equal(e.key, key);
      assert.equal(e.rule, rule);
      assert.equal(e.issues.length, 1);
      assert.match(e.message, /\(got .+\)$/);
    });
  }

  it('send.host is required when sending is enabled', () => {
    const e = configError(() => parseConfig({ send: { enabled: true } }, base));
    assert.equal(e.message, 'send.host: must be set when send.enabled is true');
    assert.equal(configError(() => parseConfig({ send: { enabled: true, host: ' ' } }, base)).message, 'send.host: must be set when send.enabled is true (got " ")');
    assert.equal(parseConfig({ send: { enabled: false, host: '' } }, base).send.host, '');
  });

  it('accepts IPv4, host names and trims AE titles', () => {
    const c = parseConfig({ send: { host: 'pacs-01.hospital.local', calledAeTitle: '  PACS  ', callingAeTitle: 'CRYPE_DCM' } }, base);
    assert.equal(c.send.host, 'pacs-01.hospital.local');
    assert.equal(c.send.calledAeTitle, 'PACS');
    assert.equal(parseConfig({ send: { host: '192.168.1.100' } }, base).send.host, '192.168.1.100');
    assert.equal(parseConfig({ receive: { aeTitle: ' BRIDGE ' } }, base).receive.aeTitle, 'BRIDGE');
    assert.equal(parseConfig({ gui: { host: '::1' } }, base).gui.host, '::1');
    assert.equal(parseConfig({ send: { calledAeTitle: 'A'.repeat(16) } }, base).send.calledAeTitle, 'A'.repeat(16));
  });

  it('CRYPE ID tag: hex is upper-cased, a non-data element is refused', () => {
    const c = parseConfig(withReceive({ cridTagGroup: '0010', cridTagElement: '2201' }), base);
    assert.equal(cridTag(c), 0x00102201);
    assert.equal(parseConfig(withReceive({ cridTagGroup: '0010', cridTagElement: '21b0' }), base).receive.cridTagElement, '21B0');
    assert.equal(configError(() => parseConfig(withReceive({ cridTagGroup: '0010', cridTagElement: '0000' }), base)).key, 'receive.cridTagElement');
    assert.equal(configError(() => parseConfig(withReceive({ cridTagGroup: '0002', cridTagElement: '0010' }), base)).key, 'receive.cridTagGroup');
    assert.equal(configError(() => parseConfig(withReceive({ cridTagGroup: 'FFFE', cridTagElement: 'E000' }), base)).key, 'receive.cridTagGroup');
  });

  it('cridTag is null when the feature is off and handles the high bit', () => {
    assert.equal(cridTag(parseConfig({}, base)), null);
    assert.equal(cridTag({ receive: { ...DEFAULT_CONFIG.receive, cridTagGroup: 'FFFC', cridTagElement: 'FFFC' } }), 0xfffcfffc);
  });

  it('a long bad value is shortened in the message', () => {
    const e = configError(() => parseConfig({ send: { host: 'x'.repeat(500) } }, base));
    assert.ok(e.message.length < 200, e.message);
  });
});

describe('loadConfig and saveConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dicombridge-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('no path gives the embedded defaults', async () => {
    const c = await loadConfig();
    assert.equal(c.receive.port, DEFAULT_CONFIG.receive.port);
    assert.ok(path.isAbsolute(c.storageFolder));
  });

  it('loads a file, strips a BOM and resolves relative folders against its folder', async () => {
    const file = path.join(dir, 'a.json');
    await writeFile(file, '\ufeff{"storageFolder":"store","receive":{"port":2104}}');
    const c = await loadConfig(file);
    assert.equal(c.storageFolder, path.join(dir, 'store'));
    assert.equal(c.receive.port, 2104);
  });

  it('invalid JSON and a missing file are ConfigErrors naming the file', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{"receive": ');
    await assert.rejects(loadConfig(file), (e: unknown) => e instanceof ConfigError && e.rule === 'must be valid JSON' && e.message.includes(file));
    const missing = path.join(dir, 'missing.json');
    await assert.rejects(loadConfig(missing), (e: unknown) => e instanceof ConfigError && e.message.includes('ENOENT'));
  });

  it('an invalid value in a file is refused by key', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ receive: { prot: 1 } }));
    await assert.rejects(loadConfig(file), { code: 'ERR_CONFIG', key: 'receive.prot', message: 'receive.prot: unknown key' });
  });

  it('saveConfig round-trips, replaces the file and leaves no temporary file', async () => {
    const file = path.join(dir, 'saved.json');
    await writeFile(file, '{}');
    const config: Config = parseConfig({ storageFolder: path.join(dir, 's'), send: { enabled: true, host: '10.0.0.1' } }, { baseDir: dir });
    await saveConfig(file, config);
    assert.deepEqual(await loadConfig(file), config);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), config);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
  });

  it('saveConfig refuses an invalid config and keeps the old file', async () => {
    const file = path.join(dir, 'keep.json');
    await writeFile(file, '{"keepFailedDays": 3}');
    const config = parseConfig({}, { baseDir: dir });
    config.receive.port = 0;
    await assert.rejects(saveConfig(file, config), { key: 'receive.port' });
    assert.equal(await readFile(file, 'utf8'), '{"keepFailedDays": 3}');
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
  });

  it('checkStorageFolder creates a writable folder and refuses an unwritable one', async () => {
    const folder = path.join(dir, 'store', 'deep');
    await checkStorageFolder({ storageFolder: folder });
    assert.deepEqual(await readdir(folder), []);
    const blocker = path.join(dir, 'a-file');
    await writeFile(blocker, 'x');
    await assert.rejects(checkStorageFolder({ storageFolder: path.join(blocker, 'sub') }), { code: 'ERR_CONFIG', key: 'storageFolder' });
  });

  it('off loopback the GUI needs a password of 12+ characters, and the message never shows it', () => {
    const parse = (gui: object) => parseConfig({ gui }, { baseDir: dir });
    assert.equal(parse({ host: '127.0.0.1' }).gui.password, '');
    assert.equal(parse({ host: '0.0.0.0', password: 'long enough secret' }).gui.host, '0.0.0.0');
    for (const gui of [{ host: '0.0.0.0' }, { host: '192.0.2.10', password: 'too-short' }]) {
      assert.throws(() => parse(gui), (err: ConfigError) => err.key === 'gui.password' && !err.message.includes('too-short'));
    }
  });

  it('a missing file gives the defaults only when asked (the GUI\'s Save creates it), else is refused', async () => {
    const missing = path.join(dir, 'not-yet', 'dicombridge.json');
    const c = await loadConfig(missing, { missingOk: true });
    assert.equal(c.receive.port, DEFAULT_CONFIG.receive.port);
    await assert.rejects(loadConfig(missing), { code: 'ERR_CONFIG' });
  });

  it('config/dev.json, copied into a data folder as npm start does, keeps its storage in that folder', async () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
    const data = path.join(dir, 'data');
    await mkdir(data, { recursive: true });
    await copyFile(path.join(root, 'config', 'dev.json'), path.join(data, 'dicombridge.json'));
    const c = await loadConfig(path.join(data, 'dicombridge.json'));
    assert.equal(c.storageFolder, data);
    assert.equal(c.receive.host, '127.0.0.1');
    assert.equal(c.receive.port, 11112);
    assert.equal(c.gui.port, 8104);
    assert.equal(c.send.enabled, false);
  });
});
