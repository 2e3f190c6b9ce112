import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError } from '../../../src/service/service-error.js';
import { buildWinswXml, checkWindowsPath, escapeXml, serviceFiles, type WinswServiceOptions } from '../../../src/service/winsw.js';

const BASE: WinswServiceOptions = {
  executable: 'C:\\CrypeDcm\\dicombridge.exe',
  configPath: 'C:\\CrypeDcm\\dicombridge.json',
  workingDirectory: 'C:\\CrypeDcm',
};

/** The text of every element of that name, unescaped as an XML reader (WinSW's XmlDocument) sees it. */
function elements(xml: string, name: string): string[] {
  const unescape = (t: string) => t.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => unescape(m[1]));
}

describe('buildWinswXml (WinSW 1.17 configuration)', () => {
  it('names the service, runs dicombridge.exe -s --config <path> from the storage folder, automatic start', () => {
    const xml = buildWinswXml(BASE);
    assert.deepEqual(elements(xml, 'id'), ['crypedicombridgeservice']);
    assert.deepEqual(elements(xml, 'name'), ['CRYPE DicomBridge Service']);
    assert.equal(elements(xml, 'description').length, 1);
    assert.deepEqual(elements(xml, 'executable'), ['C:\\CrypeDcm\\dicombridge.exe']);
    assert.deepEqual(elements(xml, 'argument'), ['-s', '--config', 'C:\\CrypeDcm\\dicombridge.json']);
    assert.deepEqual(elements(xml, 'workingdirectory'), ['C:\\CrypeDcm']);
    assert.deepEqual(elements(xml, 'startmode'), ['Automatic']);
  });

  it('restarts on failure with growing delays, stops with Ctrl+C and up to 60 s, rolls its logs by size', () => {
    const xml = buildWinswXml(BASE);
    assert.deepEqual([...xml.matchAll(/<onfailure action="restart" delay="(\d+) sec"\/>/g)].map((m) => Number(m[1])), [5, 30, 60]);
    assert.deepEqual(elements(xml, 'resetfailure'), ['1 day']);
    assert.deepEqual(elements(xml, 'stopparentprocessfirst'), ['true']);
    assert.deepEqual(elements(xml, 'stoptimeout'), ['60 sec']);
    assert.match(xml, /<log mode="roll-by-size">\s*<sizeThreshold>10240<\/sizeThreshold>\s*<keepFiles>8<\/keepFiles>\s*<\/log>/);
    assert.doesNotMatch(xml, /stopargument|<arguments>|<env /, 'no stop program: WinSW sends Ctrl+C itself');
  });

  it('starts directly with <service> (WinSW reads stoptimeout from the first node), CRLF line ends', () => {
    const xml = buildWinswXml(BASE);
    assert.ok(xml.startsWith('<service>\r\n'), xml.slice(0, 40));
    assert.ok(xml.endsWith('</service>\r\n'));
    assert.doesNotMatch(xml, /<\?xml/);
    assert.doesNotMatch(xml.replace(/\r\n/g, ''), /\n/);
  });

  it('escapes paths with spaces, ampersands and apostrophes; leaves the quoting of arguments to WinSW', () => {
    const xml = buildWinswXml({
      executable: "C:\\Program Files\\R&D's Bridge\\dicombridge.exe",
      configPath: 'C:\\Data & Co\\dicom bridge.json',
      workingDirectory: 'C:\\Data & Co\\Crype Dcm',
    });
    assert.ok(xml.includes('<executable>C:\\Program Files\\R&amp;D&apos;s Bridge\\dicombridge.exe</executable>'), xml);
    assert.ok(xml.includes('<argument>C:\\Data &amp; Co\\dicom bridge.json</argument>'), 'no quotes of our own: WinSW adds them around a word with a space');
    assert.deepEqual(elements(xml, 'executable'), ["C:\\Program Files\\R&D's Bridge\\dicombridge.exe"]);
    assert.deepEqual(elements(xml, 'argument'), ['-s', '--config', 'C:\\Data & Co\\dicom bridge.json']);
    assert.deepEqual(elements(xml, 'workingdirectory'), ['C:\\Data & Co\\Crype Dcm']);
    assert.doesNotMatch(xml.replace(/&(amp|apos|quot|lt|gt);/g, ''), /&/, 'every & is an entity');
  });

  it('in a development checkout runs node.exe with the bin script first', () => {
    const xml = buildWinswXml({ ...BASE, executable: 'C:\\Program Files\\nodejs\\node.exe', leadingArgs: ['C:\\DicomBridge\\bin\\dicombridge.js'] });
    assert.deepEqual(elements(xml, 'argument'), ['C:\\DicomBridge\\bin\\dicombridge.js', '-s', '--config', 'C:\\CrypeDcm\\dicombridge.json']);
  });

  it('refuses what WinSW would expand or misquote: %VAR%, relative paths, a trailing backslash', () => {
    const refuses = (options: WinswServiceOptions, pattern: RegExp) =>
      assert.throws(() => buildWinswXml(options), (err: unknown) => err instanceof ServiceError && err.reason === 'invalid-option' && pattern.test(err.message));
    refuses({ ...BASE, configPath: 'C:\\%TEMP%\\x.json' }, /%/);
    refuses({ ...BASE, executable: 'dicombridge.exe' }, /execPath must be an absolute path/);
    refuses({ ...BASE, configPath: 'C:\\CrypeDcm\\' }, /cannot end with a backslash/);
    refuses({ ...BASE, workingDirectory: 'CrypeDcm' }, /workingDirectory must be an absolute path/);
  });
});

describe('windows path helpers', () => {
  it('accepts drive and UNC paths, refuses relative, root-relative and %VAR% paths', () => {
    assert.equal(checkWindowsPath('p', 'C:/CrypeDcm/x.json'), 'C:\\CrypeDcm\\x.json');
    assert.equal(checkWindowsPath('p', '\\\\srv\\share\\x.json'), '\\\\srv\\share\\x.json');
    for (const bad of ['x.json', '\\CrypeDcm\\x.json', 'C:x.json', 'C:\\%APPDATA%\\x.json', 'C:\\a"b']) {
      assert.throws(() => checkWindowsPath('p', bad), ServiceError, bad);
    }
  });

  it('escapes the five XML characters', () => {
    assert.equal(escapeXml(`a&b<c>d"e'f`), 'a&amp;b&lt;c&gt;d&quot;e&apos;f');
  });

  it('puts the wrapper files in a "service" folder beside the configuration file', () => {
    assert.deepEqual(serviceFiles('C:\\Crype Dcm\\dicombridge.json'), {
      folder: 'C:\\Crype Dcm\\service',
      wrapper: 'C:\\Crype Dcm\\service\\dicombridge-service.exe',
      wrapperConfig: 'C:\\Crype Dcm\\service\\dicombridge-service.exe.config',
      xml: 'C:\\Crype Dcm\\service\\dicombridge-service.xml',
    });
  });
});
