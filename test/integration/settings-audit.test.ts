/**
 * The audit trail of settings (issue "Secure links", Audit trail): a Save through the real GUI
 * route writes one log book row (action Settings) with the changed keys old → new and the
 * client's address, never the password (not in the log book file's bytes, not in the
 * technical log) and never a key file's contents; a refused Save writes a Failed row.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { configText, pageToken, rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { freePort } from '../support/peers/dcmtk.js';
import { createTestPki, type Issued } from '../support/test-pki.js';

type Tree = Record<string, Record<string, unknown>> & { send: { tls: Record<string, unknown> } };
interface Row { action: string; status: string; reason: string | null; peerAddress: string }

const NEW_PASSWORD = 'Tr0ub4dor&3-audit-secret';

function basic(password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
}

describe('settings saves in the log book (audit trail)', () => {
  let dir: string;
  let app: GuiUnderTest;
  let port: number;
  let token: string;
  let client: Issued;
  let auth: Record<string, string> = {};
  let blocker: Server | undefined;

  const headers = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', 'x-dicombridge-token': token, ...auth, ...extra });

  async function settings(): Promise<Tree> {
    const res = await rawRequest(port, 'GET', '/api/settings', auth);
    assert.equal(res.status, 200, res.body);
    return (res.json() as { settings: Tree }).settings;
  }

  async function settingsRows(): Promise<Row[]> {
    const res = await rawRequest(port, 'GET', '/api/logbook?action=Settings', auth);
    assert.equal(res.status, 200, res.body);
    const body = res.json() as { entries?: Row[] } | Row[];
    return Array.isArray(body) ? body : (body.entries ?? []);
  }

  /** Every byte of the log book's files (database, WAL, shared memory). */
  async function logBookBytes(): Promise<string> {
    const logs = join(app.supervisor.config.storageFolder, 'Logs');
    const names = (await readdir(logs)).filter((n) => n.startsWith('logbook.sqlite'));
    assert.ok(names.includes('logbook.sqlite'), `log book files: ${names.join(', ')}`);
    const parts = await Promise.all(names.map((n) => readFile(join(logs, n))));
    return Buffer.concat(parts).toString('latin1');
  }

  before(async () => {
    dir = await tempDir();
    client = createTestPki(dir).issue('bridge-client', { client: true });
    app = await startGui(join(dir, 'store'), { receive: { port: 11112 } });
    port = app.gui.port;
    token = await pageToken(port);
  });
  after(async () => {
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    await app?.stop();
    await removeDir(dir);
  });

  it('a Save writes one Success row: the changes old → new, the password as (changed), the key path, the address', async () => {
    const tree = await settings();
    tree.receive.port = 11113;
    tree.gui.password = NEW_PASSWORD;
    tree.send.tls = { ...tree.send.tls, certFile: client.certFile, keyFile: client.keyFile };
    const res = await rawRequest(port, 'PUT', '/api/settings', headers(), { settings: tree });
    assert.equal(res.status, 200, res.body);
    assert.ok(!res.body.includes(NEW_PASSWORD), 'the answer does not carry the password');
    // The new password is asked for at once.
    assert.equal((await rawRequest(port, 'GET', '/api/settings')).status, 401);
    auth = basic(NEW_PASSWORD);

    const rows = await settingsRows();
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const [row] = rows;
    assert.deepEqual([row.action, row.status, row.peerAddress], ['Settings', 'Success', '127.0.0.1']);
    const lines = String(row.reason).split('\n');
    assert.ok(lines.includes('receive.port: 11112 → 11113'), String(row.reason));
    assert.ok(lines.includes('gui.password: (changed)'), String(row.reason));
    assert.ok(lines.includes(`send.tls.keyFile: (empty) → ${client.keyFile}`), String(row.reason));
    assert.ok(lines.includes(`send.tls.certFile: (empty) → ${client.certFile}`), String(row.reason));
    assert.equal(lines.length, 4, String(row.reason));

    const key = await readFile(client.keyFile, 'utf8');
    const keyBody = key.split('\n')[1];
    const bytes = await logBookBytes();
    assert.ok(!bytes.includes(NEW_PASSWORD), 'the password is in the log book file');
    assert.ok(!bytes.includes(keyBody) && !bytes.includes('PRIVATE KEY'), 'key file contents are in the log book file');
    assert.ok(!app.logText().includes(NEW_PASSWORD), 'the password is in the technical log');
    // The configuration file does hold it (that is where it lives).
    assert.ok((await configText(app.configPath))?.includes(NEW_PASSWORD));
  });

  it('a refused Save (the DICOM port is taken) writes one Failed row with the reason and the attempted change', async () => {
    const taken = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve, reject) => {
      blocker?.once('error', reject);
      blocker?.listen(taken, '127.0.0.1', resolve);
    });
    const fileBefore = await configText(app.configPath);
    const tree = await settings();
    tree.receive.port = taken;
    const res = await rawRequest(port, 'PUT', '/api/settings', headers(), { settings: tree });
    assert.equal(res.status, 409, res.body);
    assert.equal(await configText(app.configPath), fileBefore, 'nothing written');

    const rows = await settingsRows();
    assert.equal(rows.length, 2);
    const [failed] = rows;
    assert.deepEqual([failed.action, failed.status, failed.peerAddress], ['Settings', 'Failed', '127.0.0.1']);
    const reason = String(failed.reason);
    assert.match(reason, /^Not saved: receive\.port: .*EADDRINUSE/);
    assert.ok(reason.split('\n').includes(`receive.port: 11113 → ${taken}`), reason);
    assert.ok(!reason.includes('gui.password'), 'the page does not send the password, so it did not change');
  });

  it('an invalid Save (400) writes a Failed row naming the rule, without the password', async () => {
    const tree = await settings();
    tree.receive.port = 0;
    tree.gui.host = '0.0.0.0';
    tree.gui.password = 'short';
    const res = await rawRequest(port, 'PUT', '/api/settings', headers(), { settings: tree });
    assert.equal(res.status, 400, res.body);
    const [failed] = await settingsRows();
    assert.equal(failed.status, 'Failed');
    const reason = String(failed.reason);
    assert.match(reason, /^Not saved: .*receive\.port: must be an integer from 1 to 65535/);
    assert.ok(reason.includes('gui.password: (changed)'), reason);
    assert.ok(!reason.includes('short'), reason);
    assert.ok(!(await logBookBytes()).includes(NEW_PASSWORD));
  });
});
