/**
 * Acceptance (issue 10, "Known peers", server side): with `receive.allowedPeers` set, echoscu
 * with a known calling AE title is served and an unknown one is rejected with (1, 1, 3)
 * "calling AE title not recognised"; a known title from a disallowed address (127.0.0.2, a
 * second loopback address of the test's network namespace) is rejected the same way; over
 * mutual TLS an entry's certificate CN is checked. Each rejection is logged with the address
 * and counted in /metrics by reason; a saved list applies at once, without a restart.
 *
 * Needs the private network namespace:
 * `unshare -n sh -c 'ip link set lo up && DICOMBRIDGE_NETNS=private node --test dist/test/integration/receive-peers.test.js'`
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ASSOCIATE_RQ_ECHO } from '../fixtures/pdus.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { freePort, runTool } from '../support/peers/dcmtk.js';
import { requirePrivateNetns } from '../support/peers/storescp.js';
import { connectScriptedPeer } from '../support/scripted-peer.js';
import { createTestPki, type Issued, type TestPki } from '../support/test-pki.js';

/** The value of one sample in a text exposition, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  const series = entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('known peers (receive.allowedPeers)', () => {
  let work: string;
  let pki: TestPki;
  let client: Issued;
  let otherName: Issued;
  let app: GuiUnderTest;
  let plainPort: number;
  let tlsPort: number;

  const echo = (port: number, callingAet: string, extra: string[] = []) =>
    runTool('echoscu', ['-v', '-aet', callingAet, '-aec', 'CRYPE_DCM', ...extra, '127.0.0.1', String(port)], 30_000);
  const refusalLines = (reason: string): Array<Record<string, unknown>> => app.logText().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.reason === reason && String(l.msg).startsWith('DICOM peer refused'));

  before(async () => {
    requirePrivateNetns('the allow-list test');
    work = await tempDir();
    await mkdir(join(work, 'pki'));
    pki = createTestPki(join(work, 'pki'));
    const server = pki.issue('bridge', { commonName: 'bridge.test' });
    client = pki.issue('pacs', { commonName: 'PACS1', client: true });
    otherName = pki.issue('modality', { commonName: 'MODALITY7', client: true });
    tlsPort = await freePort();
    app = await startGui(join(work, 'store'), {
      receive: {
        allowedPeers: [
          { aeTitle: 'KNOWN', host: '127.0.0.1' },
          { aeTitle: 'ECHOSCU', host: '127.0.0.0/31' },
          { aeTitle: 'BYNAME', host: 'localhost' },
          { aeTitle: 'TLSPEER', commonName: 'PACS1' },
        ],
        tls: { enabled: true, port: tlsPort, certFile: server.certFile, keyFile: server.keyFile, caFile: pki.caFile, requireClientCert: true },
      },
    });
    plainPort = app.supervisor.bridge.receivePort!;
  });
  after(async () => {
    await app?.stop();
    await removeDir(work);
  });

  it('serves a known calling AE title, by IP, CIDR range and host name', async () => {
    for (const aet of ['KNOWN', 'ECHOSCU', 'BYNAME']) {
      const result = await echo(plainPort, aet);
      assert.equal(result.code, 0, `${aet}: ${result.stdout}${result.stderr}`);
    }
  });

  it('rejects an unknown calling AE title with (1, 1, 3), logged with the address', async () => {
    const result = await echo(plainPort, 'STRANGER');
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /Calling AE Title Not Recognized/);
    const [line] = refusalLines('unknown-calling-ae-title');
    assert.ok(line !== undefined, 'logged');
    assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/);
    assert.equal(line.callingAet, 'STRANGER');
  });

  it('rejects a known calling AE title from another address with (1, 1, 3)', async () => {
    // KNOWN may only come from 127.0.0.1; ECHOSCU from 127.0.0.0/31: 127.0.0.2 is neither.
    const peer = await connectScriptedPeer(plainPort, '127.0.0.1', '127.0.0.2');
    peer.send(ASSOCIATE_RQ_ECHO.bytes);
    const rj = await peer.readPdu();
    assert.equal(rj.type, 0x03, 'A-ASSOCIATE-RJ');
    assert.deepEqual([...rj.body.subarray(1, 4)], [1, 1, 3], 'permanent, service user, calling AE title not recognised');
    await peer.close();
    const [line] = refusalLines('address-not-allowed');
    assert.ok(line !== undefined, 'logged');
    assert.match(String(line.peer), /^127\.0\.0\.2:\d+$/);
    assert.match(String(line.msg), /"ECHOSCU" from 127\.0\.0\.2/);
  });

  it('over mutual TLS, checks the client certificate CN an entry names', async () => {
    const good = await echo(tlsPort, 'TLSPEER', ['+tls', client.keyFile, client.certFile, '+cf', pki.caFile]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const wrongCn = await echo(tlsPort, 'TLSPEER', ['+tls', otherName.keyFile, otherName.certFile, '+cf', pki.caFile]);
    assert.notEqual(wrongCn.code, 0);
    assert.match(wrongCn.stdout + wrongCn.stderr, /Calling AE Title Not Recognized/);
    const [line] = refusalLines('certificate-name-mismatch');
    assert.ok(line !== undefined, 'logged');
    assert.equal(line.commonName, 'MODALITY7');
  });

  it('counts each rejection in /metrics by reason', async () => {
    const text = (await rawRequest(app.gui.port, 'GET', '/metrics')).body;
    assert.equal(sample(text, 'dicombridge_peers_refused_total', { reason: 'unknown-calling-ae-title' }), 1);
    assert.equal(sample(text, 'dicombridge_peers_refused_total', { reason: 'address-not-allowed' }), 1);
    assert.equal(sample(text, 'dicombridge_peers_refused_total', { reason: 'certificate-name-mismatch' }), 1);
    assert.equal(sample(text, 'dicombridge_associations_rejected_total', { reason: 'calling-ae-title-not-recognised' }), 3);
  });

  it('applies a saved list at once: emptied, any peer is served; a host name that does not resolve is refused', async () => {
    const settings = (await rawRequest(app.gui.port, 'GET', '/api/settings')).json() as { settings: { receive: Record<string, unknown> } };
    await assert.rejects(
      app.supervisor.save({ ...settings.settings, receive: { ...settings.settings.receive, allowedPeers: [{ aeTitle: 'X', host: 'no-such-host.invalid' }] } }),
      /receive\.allowedPeers\[0\]\.host/,
    );
    assert.notEqual((await echo(plainPort, 'STRANGER')).code, 0, 'the old list still applies');
    await app.supervisor.save({ ...settings.settings, receive: { ...settings.settings.receive, allowedPeers: [] } });
    const result = await echo(plainPort, 'STRANGER');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(app.supervisor.bridge.receivePort, plainPort, 'no re-bind');
  });
});
