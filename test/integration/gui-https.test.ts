/**
 * The admin GUI over HTTPS and its certificates (issue 10, "Admin GUI over HTTPS"): with
 * gui.tls the GUI serves HTTPS only, with HSTS; a Save switches HTTP ↔ HTTPS and reloads a
 * renewed certificate; GET /api/certificates and /health describe each configured certificate
 * and warn 30 days before expiry; a Save naming a key that is not its certificate's is refused
 * naming that key, with nothing written; a Basic login opens a session cookie; plain HTTP off
 * loopback is flagged for the page's warning.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probeRunningBridge } from '../../src/cli/already-running.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { configText, rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { rawTlsRequest } from '../support/https-client.js';
import { createTestPki, type TestPki } from '../support/test-pki.js';

type Tree = Record<string, unknown> & { gui: Record<string, unknown>; receive: Record<string, unknown> };

interface CertificatesAnswer {
  certificates: Array<{ setting: string; inUse: boolean; certificate?: { subject: string; commonName: string; daysLeft: number }; error?: string }>;
  warnings: string[];
  gui: { https: boolean; plainOffLoopback: boolean; warning: string };
}

const jsonHeaders = (token: string, extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', 'x-dicombridge-token': token, ...extra });

/** Resolves with the error a plain-HTTP request meets (or its status if one ever answers). */
function plainHttpOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

async function tokenOver(port: number, caFile: string, headers: Record<string, string> = {}): Promise<string> {
  const page = await rawTlsRequest(port, caFile, 'GET', '/', headers);
  const match = /name="dicombridge-token" content="([^"]+)"/.exec(page.body);
  if (!match) throw new Error(`no token in the page (status ${page.status})`);
  return match[1];
}

describe('admin GUI over HTTPS', () => {
  let dir: string;
  let pki: TestPki;
  let app: GuiUnderTest;
  let port: number;
  let gui: { certFile: string; keyFile: string };

  before(async () => {
    dir = await tempDir();
    pki = createTestPki(dir);
    gui = pki.issue('gui', { commonName: 'bridge-gui.example', days: 10 });
    app = await startGui(join(dir, 'store'), { gui: { tls: gui } });
    port = app.gui.port;
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  it('serves the page over HTTPS only, with HSTS and the security headers', async () => {
    assert.match(app.gui.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await rawTlsRequest(port, pki.caFile, 'GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.peerCommonName, 'bridge-gui.example');
    const plain = await plainHttpOutcome(port);
    assert.ok(!plain.startsWith('HTTP'), `plain HTTP got an answer: ${plain}`);
    // An Origin of the https page is same-origin; the http one is not.
    const token = await tokenOver(port, pki.caFile);
    const settings = ((await rawTlsRequest(port, pki.caFile, 'GET', '/api/settings')).json() as { settings: Tree }).settings;
    const ok = await rawTlsRequest(port, pki.caFile, 'POST', '/api/settings/validate', jsonHeaders(token, { origin: `https://127.0.0.1:${port}` }), { settings });
    assert.equal(ok.status, 200);
    const foreign = await rawTlsRequest(port, pki.caFile, 'POST', '/api/settings/validate', jsonHeaders(token, { origin: `http://127.0.0.1:${port}` }), { settings });
    assert.equal(foreign.status, 403);
  });

  it('describes the GUI certificate and warns about its expiry in /api/certificates and /health', async () => {
    const answer = (await rawTlsRequest(port, pki.caFile, 'GET', '/api/certificates')).json() as CertificatesAnswer;
    const entry = answer.certificates.find((c) => c.setting === 'gui.tls.certFile');
    assert.ok(entry?.certificate, JSON.stringify(answer));
    assert.equal(entry.certificate.commonName, 'bridge-gui.example');
    assert.match(entry.certificate.subject, /CN=bridge-gui\.example/);
    assert.ok(entry.certificate.daysLeft === 9 || entry.certificate.daysLeft === 10, `days left ${entry.certificate.daysLeft}`);
    assert.equal(answer.gui.https, true);
    assert.equal(answer.gui.plainOffLoopback, false);
    assert.equal(answer.warnings.length, 1);
    assert.match(answer.warnings[0], /certificate "bridge-gui\.example" \(gui\.tls\.certFile\) expires in (9|10) days/);

    const health = await rawTlsRequest(port, pki.caFile, 'GET', '/health');
    assert.equal(health.status, 200, health.body);
    const body = health.json() as { status: string; warnings: string[] };
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.warnings, answer.warnings);
  });

  it('refuses to save a key that is not its certificate\'s, naming the key, with nothing written', async () => {
    const token = await tokenOver(port, pki.caFile);
    const settings = ((await rawTlsRequest(port, pki.caFile, 'GET', '/api/settings')).json() as { settings: Tree }).settings;
    const other = pki.issue('other', { commonName: 'other' });
    const receiving = pki.issue('receiving', { commonName: 'bridge-dicom.example' });
    const before = await configText(app.configPath);
    for (const [tree, key] of [
      [{ ...settings, receive: { ...settings.receive, tls: { ...(settings.receive.tls as object), certFile: receiving.certFile, keyFile: other.keyFile } } }, 'receive.tls.keyFile'],
      [{ ...settings, gui: { ...settings.gui, tls: { certFile: gui.certFile, keyFile: other.keyFile } } }, 'gui.tls.keyFile'],
    ] as const) {
      const checked = await rawTlsRequest(port, pki.caFile, 'POST', '/api/settings/validate', jsonHeaders(token), { settings: tree });
      const checkedErrors = (checked.json() as { errors: Array<{ key: string; text: string }> }).errors;
      assert.deepEqual(checkedErrors.map((e) => e.key), [key]);
      const saved = await rawTlsRequest(port, pki.caFile, 'PUT', '/api/settings', jsonHeaders(token), { settings: tree });
      assert.equal(saved.status, 400, saved.body);
      const errors = (saved.json() as { errors: Array<{ key: string; text: string }> }).errors;
      assert.deepEqual(errors.map((e) => e.key), [key]);
      assert.ok(errors[0].text.startsWith(`${key}: ${other.keyFile} is not the key of the certificate in `), errors[0].text);
      assert.equal(await configText(app.configPath), before);
    }
    // Switched on, an unreadable file is refused too; switched off, a path not there yet is accepted.
    const missing = join(dir, 'not-yet.pem');
    const on = { ...settings, receive: { ...settings.receive, tls: { ...(settings.receive.tls as object), enabled: true, certFile: missing, keyFile: missing, caFile: pki.caFile } } };
    const refused = await rawTlsRequest(port, pki.caFile, 'POST', '/api/settings/validate', jsonHeaders(token), { settings: on });
    assert.deepEqual((refused.json() as { errors: Array<{ key: string }> }).errors.map((e) => e.key), ['receive.tls.certFile']);
    const off = { ...settings, receive: { ...settings.receive, tls: { ...(settings.receive.tls as object), enabled: false, certFile: missing, keyFile: missing } } };
    const accepted = await rawTlsRequest(port, pki.caFile, 'POST', '/api/settings/validate', jsonHeaders(token), { settings: off });
    assert.deepEqual((accepted.json() as { errors: unknown[] }).errors, []);
  });

  it('is found by a second start over HTTPS only when it shows our own certificate', async () => {
    const probe = (tls: { certFile: string; keyFile: string }) => probeRunningBridge({ gui: { host: '127.0.0.1', port, password: '', tls }, configPath: app.configPath });
    assert.equal((await probe(gui))?.url, `https://127.0.0.1:${port}/`);
    assert.equal(await probe(pki.issue('stranger')), null);
  });

  it('uses a renewed certificate after a Save, without a restart', async () => {
    const renewed = pki.issue('renewed', { commonName: 'bridge-gui-renewed.example', days: 365 });
    await copyFile(renewed.keyFile, gui.keyFile);
    await copyFile(renewed.certFile, gui.certFile);
    const token = await tokenOver(port, pki.caFile);
    const settings = ((await rawTlsRequest(port, pki.caFile, 'GET', '/api/settings')).json() as { settings: Tree }).settings;
    const saved = await rawTlsRequest(port, pki.caFile, 'PUT', '/api/settings', jsonHeaders(token), { settings });
    assert.equal(saved.status, 200, saved.body);
    const after = await rawTlsRequest(port, pki.caFile, 'GET', '/api/certificates');
    assert.equal(after.peerCommonName, 'bridge-gui-renewed.example');
    assert.deepEqual((after.json() as CertificatesAnswer).warnings, []);
  });

  it('uses a renewed certificate when its files change, without a Save', async () => {
    const renewed = pki.issue('renewed-again', { commonName: 'bridge-gui-third.example', days: 365 });
    await copyFile(renewed.keyFile, gui.keyFile);
    await copyFile(renewed.certFile, gui.certFile);
    // The files are polled (every 5 s): ask until the new certificate is shown, at most 30 s.
    const deadline = Date.now() + 30_000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await rawTlsRequest(port, pki.caFile, 'GET', '/api/status')).peerCommonName;
      if (seen === 'bridge-gui-third.example') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(seen, 'bridge-gui-third.example');
  });
});

describe('admin GUI switching between HTTP and HTTPS on Save', () => {
  let dir: string;
  let pki: TestPki;
  let app: GuiUnderTest;

  before(async () => {
    dir = await tempDir();
    pki = createTestPki(dir);
    app = await startGui(join(dir, 'store'));
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  it('moves the page to https:// on the same port and back', async () => {
    const port = app.gui.port;
    const page = await rawRequest(port, 'GET', '/');
    assert.equal(page.headers['strict-transport-security'], undefined);
    const token = /name="dicombridge-token" content="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const settings = ((await rawRequest(port, 'GET', '/api/settings')).json() as { settings: Tree }).settings;
    const tls = pki.issue('gui', { commonName: 'switched.example', days: 200 });

    const toHttps = await rawRequest(port, 'PUT', '/api/settings', jsonHeaders(token), { settings: { ...settings, gui: { ...settings.gui, tls } } });
    assert.equal(toHttps.status, 200, toHttps.body);
    assert.equal((toHttps.json() as { guiUrl: string }).guiUrl, `https://127.0.0.1:${port}/`);
    assert.equal(app.gui.url, `https://127.0.0.1:${port}/`);
    const secure = await rawTlsRequest(port, pki.caFile, 'GET', '/api/status');
    assert.equal(secure.status, 200);
    assert.equal(secure.peerCommonName, 'switched.example');
    assert.ok(!(await plainHttpOutcome(port)).startsWith('HTTP'));
    assert.deepEqual((JSON.parse((await configText(app.configPath)) ?? '{}') as Tree).gui.tls, tls);

    const back = await rawTlsRequest(port, pki.caFile, 'PUT', '/api/settings', jsonHeaders(token), { settings: { ...settings, gui: { ...settings.gui, tls: { certFile: '', keyFile: '' } } } });
    assert.equal(back.status, 200, back.body);
    assert.equal((back.json() as { guiUrl: string }).guiUrl, `http://127.0.0.1:${port}/`);
    assert.equal((await rawRequest(port, 'GET', '/api/status')).status, 200);
  });
});

describe('admin GUI sessions', () => {
  const password = 'correct horse battery';
  let dir: string;
  let pki: TestPki;
  let app: GuiUnderTest;
  let port: number;
  const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`admin:${secret}`).toString('base64')}` });

  before(async () => {
    dir = await tempDir();
    pki = createTestPki(dir);
    app = await startGui(join(dir, 'store'), { gui: { host: '127.0.0.1', password, tls: pki.issue('gui', { days: 100 }) } });
    port = app.gui.port;
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  it('opens a session after one Basic login: the cookie alone then authorizes reads and, with the token, writes', async () => {
    assert.equal((await rawTlsRequest(port, pki.caFile, 'GET', '/api/status')).status, 401);
    const login = await rawTlsRequest(port, pki.caFile, 'GET', '/', basic(password));
    assert.equal(login.status, 200);
    const setCookie = String(login.headers['set-cookie']);
    assert.match(setCookie, /^dicombridge_session=[A-Za-z0-9_-]{43}; Secure; HttpOnly; SameSite=Strict; Path=\/$/);
    const cookie = setCookie.split(';')[0];
    const token = /name="dicombridge-token" content="([^"]+)"/.exec(login.body)?.[1] ?? '';

    const read = await rawTlsRequest(port, pki.caFile, 'GET', '/api/settings', { cookie });
    assert.equal(read.status, 200);
    assert.equal(read.headers['set-cookie'], undefined, 'a valid session opens no new one');
    const settings = (read.json() as { settings: Tree }).settings;
    const write = await rawTlsRequest(port, pki.caFile, 'PUT', '/api/settings', jsonHeaders(token, { cookie }), { settings: { ...settings, keepFailedDays: 9 } });
    assert.equal(write.status, 200, write.body);
    // The cookie is not the token: a write without it is still refused.
    assert.equal((await rawTlsRequest(port, pki.caFile, 'PUT', '/api/settings', { cookie, 'content-type': 'application/json' }, { settings })).status, 403);
    // A made-up session is no login.
    assert.equal((await rawTlsRequest(port, pki.caFile, 'GET', '/api/status', { cookie: 'dicombridge_session=forged' })).status, 401);
  });

  it('still answers 401 to a wrong password, and 429 after ten a minute, but keeps an open session', async () => {
    const login = await rawTlsRequest(port, pki.caFile, 'GET', '/api/status', basic(password));
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    let wrong = 0;
    for (let i = 0; i < 12; i++) {
      const res = await rawTlsRequest(port, pki.caFile, 'GET', '/api/status', basic(`wrong password ${i}`));
      if (res.status === 401) wrong++;
      else assert.equal(res.status, 429);
    }
    assert.ok(wrong >= 1 && wrong <= 10, `${wrong} answered 401`);
    assert.equal((await rawTlsRequest(port, pki.caFile, 'GET', '/api/status', basic(password))).status, 429);
    // Someone guessing does not lock out who is logged in already.
    assert.equal((await rawTlsRequest(port, pki.caFile, 'GET', '/api/status', { cookie })).status, 200);
    assert.ok(!app.logText().includes(password), 'password in the log');
  });
});

describe('admin GUI over plain HTTP off loopback', () => {
  // Only inside the suite's private network namespace (run-tests.sh): an address is added to its loopback.
  const inPrivateNetns = process.env.DICOMBRIDGE_NETNS === 'private';
  const address = '10.0.0.1';
  let dir: string;
  let app: GuiUnderTest;

  before(async () => {
    if (!inPrivateNetns) return;
    execFileSync('ip', ['addr', 'replace', `${address}/32`, 'dev', 'lo']);
    dir = await tempDir();
    app = await startGui(join(dir, 'store'), { gui: { host: address, password: 'a long enough password' } });
  });
  after(async () => {
    if (!inPrivateNetns) return;
    await app.stop();
    await removeDir(dir);
    execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
  });

  it('tells the page that the password crosses the network without encryption', { skip: inPrivateNetns ? false : 'needs the private network namespace of run-tests.sh (see test/unit/web/routes/certificates.test.ts)' }, async () => {
    const answer = await new Promise<CertificatesAnswer>((resolve, reject) => {
      const auth = `Basic ${Buffer.from('admin:a long enough password').toString('base64')}`;
      const req = request({ host: address, port: app.gui.port, path: '/api/certificates', headers: { authorization: auth } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CertificatesAnswer));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.gui.https, false);
    assert.equal(answer.gui.plainOffLoopback, true);
    assert.match(answer.gui.warning, /^password sent without encryption/);
  });
});
