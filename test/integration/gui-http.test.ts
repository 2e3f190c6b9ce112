/**
 * The admin GUI's HTTP side (issue 4 point 5 and its HTTP acceptance): a foreign Host or
 * Origin is refused, a state-changing request without the page token is refused, invalid
 * settings are refused key by key with nothing written, a password is required off loopback
 * and never shown or logged, and the live event stream carries new log book rows.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { configText, pageToken, rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { freePort } from '../support/peers/dcmtk.js';

type Section = Record<string, unknown>;
interface Settings {
  storageFolder: string;
  keepFailedDays: number;
  receive: Section;
  send: Section;
  gui: Section;
  [key: string]: unknown;
}

async function currentSettings(port: number): Promise<Settings> {
  const res = await rawRequest(port, 'GET', '/api/settings');
  assert.equal(res.status, 200);
  return (res.json() as { settings: Settings }).settings;
}

function jsonHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', 'x-dicombridge-token': token, ...extra };
}

describe('admin GUI over HTTP', () => {
  let dir: string;
  let app: GuiUnderTest;
  let port: number;
  let token: string;

  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'));
    port = app.gui.port;
    token = await pageToken(port);
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  it('serves the page with security headers and its token', async () => {
    const page = await rawRequest(port, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['access-control-allow-origin'], undefined);
    assert.ok(page.body.includes(token));
    assert.ok(!page.body.includes('__DICOMBRIDGE_TOKEN__'));
  });

  it('answers under its own address and localhost, refuses a foreign Host (DNS rebinding)', async () => {
    assert.equal((await rawRequest(port, 'GET', '/api/status', { host: `localhost:${port}` })).status, 200);
    for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1:${port + 1}`, '']) {
      const res = await rawRequest(port, 'GET', '/api/status', { host });
      assert.equal(res.status, 403, `Host "${host}"`);
      assert.equal((res.json() as { error: string }).error, 'unknown Host header');
    }
    // The page itself is refused too, so a rebinding page cannot read the token.
    assert.equal((await rawRequest(port, 'GET', '/', { host: `attacker.example:${port}` })).status, 403);
  });

  it('refuses a foreign Origin and a cross-site fetch even with the right token', async () => {
    const settings = await currentSettings(port);
    const before = await configText(app.configPath);
    const foreign = await rawRequest(port, 'PUT', '/api/settings', jsonHeaders(token, { origin: 'http://attacker.example' }), { settings });
    assert.equal(foreign.status, 403);
    const crossSite = await rawRequest(port, 'POST', '/api/echo', jsonHeaders(token, { 'sec-fetch-site': 'cross-site' }), { send: settings.send });
    assert.equal(crossSite.status, 403);
    assert.equal(await configText(app.configPath), before);
    // Navigating to the page from another port (the GUI moved) or a link is a harmless read.
    const navigate = await rawRequest(port, 'GET', '/', { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate' });
    assert.equal(navigate.status, 200);
  });

  it('refuses state-changing requests without the token, with a wrong one, or not JSON', async () => {
    const settings = await currentSettings(port);
    settings.keepFailedDays = 9;
    const cases: Array<[Record<string, string>, number]> = [
      [{ 'content-type': 'application/json' }, 403],
      [jsonHeaders('not-the-token'), 403],
      [{ 'x-dicombridge-token': token, 'content-type': 'text/plain' }, 415],
      [{ 'x-dicombridge-token': token, 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [headers, status] of cases) {
      const res = await rawRequest(port, 'PUT', '/api/settings', headers, { settings });
      assert.equal(res.status, status, JSON.stringify(headers));
    }
    assert.equal(await configText(app.configPath), null, 'nothing written');
    assert.equal(app.supervisor.config.keepFailedDays, 7);
  });

  it('refuses invalid values key by key and writes nothing', async () => {
    const settings = await currentSettings(port);
    settings.receive = { ...settings.receive, port: 0, timeoutSeconds: 4000, cridTagGroup: '12G4' };
    settings.send = { ...settings.send, calledAeTitle: 'A'.repeat(17) };
    const res = await rawRequest(port, 'PUT', '/api/settings', jsonHeaders(token), { settings });
    assert.equal(res.status, 400);
    const { errors } = res.json() as { errors: Array<{ key: string; rule: string }> };
    assert.deepEqual(errors.map((e) => e.key).sort(), ['receive.cridTagGroup', 'receive.port', 'receive.timeoutSeconds', 'send.calledAeTitle']);
    assert.equal(errors.find((e) => e.key === 'receive.port')?.rule, 'must be an integer from 1 to 65535');
    assert.equal(await configText(app.configPath), null);
  });

  it('saves valid settings atomically and applies them at once', async () => {
    const settings = await currentSettings(port);
    settings.receive = { ...settings.receive, timeoutSeconds: 45 };
    settings.keepFailedDays = 12;
    const res = await rawRequest(port, 'PUT', '/api/settings', jsonHeaders(token), { settings });
    assert.equal(res.status, 200, res.body);
    const saved = JSON.parse((await configText(app.configPath)) ?? '{}') as Settings;
    assert.equal(saved.keepFailedDays, 12);
    assert.equal(saved.receive.timeoutSeconds, 45);
    assert.equal(app.supervisor.config.receive.timeoutSeconds, 45);
    const check = await rawRequest(port, 'POST', '/api/settings/validate', jsonHeaders(token), { settings: { ...settings, bogus: 1 } });
    assert.deepEqual((check.json() as { errors: Array<{ key: string }> }).errors.map((e) => e.key), ['bogus']);
  });

  it('lists folders read-only for Browse and refuses relative paths', async () => {
    await mkdir(join(dir, 'pick', 'one'), { recursive: true });
    await mkdir(join(dir, 'pick', 'two'), { recursive: true });
    const res = await rawRequest(port, 'GET', `/api/folders?path=${encodeURIComponent(join(dir, 'pick'))}`);
    assert.equal(res.status, 200);
    const body = res.json() as { path: string; parent: string; folders: string[] };
    assert.deepEqual(body.folders, ['one', 'two']);
    assert.equal(body.parent, dir);
    assert.equal((await rawRequest(port, 'GET', '/api/folders?path=relative/x')).status, 400);
    assert.equal((await rawRequest(port, 'GET', `/api/folders?path=${encodeURIComponent(join(dir, 'missing'))}`)).status, 404);
  });

  it('Browse refuses system folders and lists only folders a storage folder can be in', async () => {
    for (const system of ['/proc', '/etc', '/proc/self', '/usr/lib', '/sys']) {
      const res = await rawRequest(port, 'GET', `/api/folders?path=${encodeURIComponent(system)}`);
      assert.equal(res.status, 403, `${system}: ${res.body}`);
    }
    const top = await rawRequest(port, 'GET', '/api/folders?path=%2F');
    assert.equal(top.status, 200, top.body);
    const { folders } = top.json() as { folders: string[] };
    for (const hidden of ['proc', 'etc', 'sys', 'dev', 'usr', 'boot', 'bin', 'sbin', 'run']) assert.ok(!folders.includes(hidden), `/${hidden} hidden: ${folders.join(',')}`);
    assert.ok(folders.includes('tmp'), 'the way to the temp folder is shown');
    await mkdir(join(dir, 'writable', 'inner'), { recursive: true });
    const temp = await rawRequest(port, 'GET', `/api/folders?path=${encodeURIComponent(join(dir, 'writable'))}`);
    assert.equal(temp.status, 200, temp.body);
    assert.deepEqual((temp.json() as { folders: string[] }).folders, ['inner']);
    // A link in a writable folder does not lead into a system area.
    await symlink('/etc', join(dir, 'writable', 'etc-link'));
    assert.equal((await rawRequest(port, 'GET', `/api/folders?path=${encodeURIComponent(join(dir, 'writable', 'etc-link'))}`)).status, 403);
    assert.deepEqual((await rawRequest(port, 'GET', `/api/folders?path=${encodeURIComponent(join(dir, 'writable'))}`)).json(), temp.json());
  });

  it('streams new log book rows to open pages', async () => {
    const received = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/events' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          if (text.includes('event: logbook')) {
            req.destroy();
            resolve(text);
          } else if (text.includes('event: status')) {
            app.supervisor.bridge.logBook.add({ action: 'Receive', status: 'Success', patientName: '<img src=x onerror=alert(1)>' });
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    const text = await received;
    const line = text.split('\n').find((_l, i, all) => all[i - 1] === 'event: logbook');
    const row = JSON.parse((line ?? '').replace(/^data: /, '')) as { patientName: string };
    assert.equal(row.patientName, '<img src=x onerror=alert(1)>');
  });

  it('records a failed echo with its reason in the log book', async () => {
    const res = await rawRequest(port, 'POST', '/api/echo', jsonHeaders(token), {
      send: { host: '127.0.0.1', port: 1, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', timeoutSeconds: 5 },
    });
    assert.equal(res.status, 200);
    const body = res.json() as { ok: boolean; reason: string };
    assert.equal(body.ok, false);
    assert.match(body.reason, /connection refused/);
    const [row] = app.supervisor.bridge.logBook.latest(1);
    assert.equal(row.action, 'Echo');
    assert.equal(row.status, 'Failed');
    assert.match(row.reason ?? '', /connection refused/);
    const empty = await rawRequest(port, 'POST', '/api/echo', jsonHeaders(token), { send: { host: '' } });
    assert.equal(empty.status, 400);
    assert.equal((empty.json() as { errors: Array<{ key: string }> }).errors[0].key, 'send.host');
  });
});

describe('admin GUI moving to another port on Save', () => {
  let dir: string;
  let app: GuiUnderTest;
  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'));
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  it('answers on the new port at once and the old one goes away', { timeout: 30_000 }, async () => {
    const oldPort = app.gui.port;
    const token = await pageToken(oldPort);
    const settings = await currentSettings(oldPort);
    const newPort = await freePort();
    settings.gui = { ...settings.gui, port: newPort };
    const res = await rawRequest(oldPort, 'PUT', '/api/settings', jsonHeaders(token), { settings });
    assert.equal(res.status, 200, res.body);
    assert.equal((res.json() as { guiUrl: string }).guiUrl, `http://127.0.0.1:${newPort}/`);
    assert.equal(app.gui.port, newPort);
    const status = await rawRequest(newPort, 'GET', '/api/status');
    assert.equal(status.status, 200);
    // The token stays, so the open page keeps working after it moves.
    assert.equal(await pageToken(newPort), token);
    // The old address closes shortly after the answer (a reset while it closes is fine).
    for (;;) {
      const code = await rawRequest(oldPort, 'GET', '/api/status', { connection: 'close' }).then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code,
      );
      if (code === 'ECONNREFUSED') break;
    }
  });

  it('refuses a GUI port that is taken, keeping the old one', async () => {
    const port = app.gui.port;
    const token = await pageToken(port);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const settings = await currentSettings(port);
      settings.gui = { ...settings.gui, port: (taken.address() as AddressInfo).port };
      const res = await rawRequest(port, 'PUT', '/api/settings', jsonHeaders(token), { settings });
      assert.equal(res.status, 409);
      assert.equal((res.json() as { errors: Array<{ key: string }> }).errors[0].key, 'gui.port');
      assert.equal((await rawRequest(port, 'GET', '/api/status')).status, 200);
    } finally {
      taken.close();
    }
  });
});

describe('admin GUI with a password', () => {
  const password = 'correct horse battery';
  let dir: string;
  let app: GuiUnderTest;

  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'), { gui: { host: '127.0.0.1', password } });
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`admin:${secret}`).toString('base64')}` });

  it('asks for the password, accepts the right one, never shows or logs it', async () => {
    const port = app.gui.port;
    const none = await rawRequest(port, 'GET', '/api/settings');
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic /);
    assert.equal((await rawRequest(port, 'GET', '/api/settings', basic('wrong password!'))).status, 401);
    const ok = await rawRequest(port, 'GET', '/api/settings', basic(password));
    assert.equal(ok.status, 200);
    assert.ok(!ok.body.includes(password));
    const token = await pageToken(port, basic(password));
    const { settings } = ok.json() as { settings: Settings };
    settings.keepFailedDays = 3;
    const saved = await rawRequest(port, 'PUT', '/api/settings', { ...basic(password), ...jsonHeaders(token) }, { settings });
    assert.equal(saved.status, 200, saved.body);
    // The GUI never sends the password; Save keeps the one in the file.
    assert.equal((JSON.parse((await configText(app.configPath)) ?? '{}') as Settings).gui.password, password);
    assert.ok(!app.logText().includes(password), 'password in the log');
  });

  it('stops answering after ten wrong passwords a minute', async () => {
    const port = app.gui.port;
    for (let i = 0; i < 10; i++) await rawRequest(port, 'GET', '/api/status', basic(`guess ${i}`));
    assert.equal((await rawRequest(port, 'GET', '/api/status', basic(password))).status, 429);
  });
});
