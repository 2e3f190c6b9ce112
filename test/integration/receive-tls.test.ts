/**
 * Acceptance (issue 10, "DICOM TLS", receiving side): DCMTK storescu/echoscu with `+tls` send
 * to the bridge's TLS port with mutual TLS, and the study is zipped byte for byte as over plain
 * DICOM. Refused: no client certificate, one from another CA, TLS 1.1, plain DICOM on the TLS
 * port, TLS on the plain port, a handshake that never finishes (which never holds the only
 * association slot). Each refusal is logged with the peer and counted in /metrics by reason; the
 * bridge keeps serving. A renewed certificate is used for the next connection without a restart.
 *
 * Needs the private network namespace:
 * `unshare -n sh -c 'ip link set lo up && DICOMBRIDGE_NETNS=private node --test dist/test/integration/receive-tls.test.js'`
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { datasetOf, list, nextStudies, readZip, removeDir, sopUidOf, tempDir } from '../support/bridge-harness.js';
import { rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { acknowledgedCount, freePort, runTool } from '../support/peers/dcmtk.js';
import { requirePrivateNetns } from '../support/peers/storescp.js';
import { noopLogger } from '../../src/dicom/ul/logger.js';
import { requestAssociation } from '../../src/dicom/ul/requestor.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';
import { createTestPki, type Issued, type TestPki } from '../support/test-pki.js';

/** The value of one sample in a text exposition, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  const series = entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Log lines (pino JSON) of the bridge so far. */
function logLines(app: GuiUnderTest): Array<Record<string, unknown>> {
  return app.logText().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Refusal lines with this reason. */
function refusals(app: GuiUnderTest, reason: string): Array<Record<string, unknown>> {
  return logLines(app).filter((l) => l.reason === reason && typeof l.msg === 'string' && l.msg.startsWith('DICOM peer refused'));
}

/** Waits (bounded) until `ready()` holds, checking after each log line. */
async function until(what: string, ready: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('receiving over DICOM TLS (PS3.15 Annex B)', () => {
  let work: string;
  let pki: TestPki;
  let server: Issued;
  let client: Issued;
  let stranger: Issued;
  let app: GuiUnderTest;
  let tlsPort: number;
  let plainPort: number;
  let study: StudyFiles;

  /** DCMTK's TLS options with our client certificate (or `+tla`: none) and trust in our CA. */
  const tlsArgs = (who: Issued | null): string[] => [...(who === null ? ['+tla'] : ['+tls', who.keyFile, who.certFile]), '+cf', pki.caFile];
  const echo = (port: number, extra: string[]) => runTool('echoscu', ['-v', '-aet', 'ECHOSCU', '-aec', 'CRYPE_DCM', ...extra, '127.0.0.1', String(port)], 30_000);
  const metrics = async (): Promise<string> => (await rawRequest(app.gui.port, 'GET', '/metrics')).body;

  before(async () => {
    requirePrivateNetns('the TLS receive test');
    work = await tempDir();
    await mkdir(join(work, 'pki'));
    await mkdir(join(work, 'other'));
    pki = createTestPki(join(work, 'pki'));
    server = pki.issue('bridge', { commonName: 'bridge.test' });
    client = pki.issue('pacs', { commonName: 'PACS1', client: true });
    stranger = createTestPki(join(work, 'other'), 'Other CA').issue('stranger', { commonName: 'PACS1', client: true });
    tlsPort = await freePort();
    app = await startGui(join(work, 'store'), {
      receive: {
        maxAssociations: 1,
        associationTimeoutSeconds: 2,
        timeoutSeconds: 3600,
        tls: { enabled: true, port: tlsPort, certFile: server.certFile, keyFile: server.keyFile, caFile: pki.caFile, requireClientCert: true },
      },
    });
    plainPort = app.supervisor.bridge.receivePort!;
    study = await writeStudy(join(work, 'study'), { count: 3 });
  });
  after(async () => {
    await app?.stop();
    await removeDir(work);
  });

  it('takes a study from storescu +tls with mutual TLS and zips it byte for byte, as over plain DICOM', async () => {
    const studies = nextStudies(app.supervisor.bridge, 1);
    const sent = await runTool('storescu', ['-v', '-aet', 'STORESCU', '-aec', 'CRYPE_DCM', ...tlsArgs(client), '127.0.0.1', String(tlsPort), ...study.files]);
    assert.equal(sent.code, 0, sent.stderr + sent.stdout);
    assert.equal(acknowledgedCount(sent.stdout + sent.stderr), 3);
    await app.supervisor.bridge.flush();
    const [outcome] = await studies;
    assert.equal(outcome!.status, 'Success');
    const entries = [...(await readZip(outcome!.path)).values()].map(datasetOf);
    assert.equal(entries.length, 3);
    for (const ds of entries) assert.ok(ds.equals(study.datasets.get(sopUidOf(ds))!), 'zipped byte for byte');
    const inUse = logLines(app).find((l) => l.msg === 'TLS handshake complete');
    assert.equal(inUse?.commonName, 'PACS1', 'the client certificate was verified');
    assert.match(String(inUse?.protocol), /^TLSv1\.[23]$/);
  });

  it('refuses a peer without a client certificate; nothing is stored', async () => {
    const before = await list(join(work, 'store', 'Inbox_Manual'));
    const result = await runTool('storescu', ['-aet', 'STORESCU', '-aec', 'CRYPE_DCM', ...tlsArgs(null), '127.0.0.1', String(tlsPort), study.files[0]!]);
    assert.notEqual(result.code, 0);
    await until('the refusal is logged', () => refusals(app, 'no-client-certificate').length === 1);
    assert.match(String(refusals(app, 'no-client-certificate')[0]!.peer), /^127\.0\.0\.1:\d+$/);
    await app.supervisor.bridge.flush();
    assert.deepEqual(await list(join(work, 'store', 'Inbox_Manual')), before);
    assert.equal(app.supervisor.bridge.studiesInProgress, 0);
  });

  it('refuses a client certificate from another CA', async () => {
    const result = await echo(tlsPort, tlsArgs(stranger));
    assert.notEqual(result.code, 0, result.stdout);
    await until('the refusal is logged', () => refusals(app, 'untrusted-client-certificate').length === 1);
    assert.match(String(refusals(app, 'untrusted-client-certificate')[0]!.msg), /client certificate "PACS1" is not trusted/);
  });

  it('refuses TLS 1.1', async () => {
    const error = await new Promise<Error | null>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1', port: tlsPort, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0',
        ca: readFileSync(pki.caFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile),
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(null);
      });
      socket.once('error', resolve);
    });
    assert.ok(error !== null, 'the handshake failed');
    await until('the refusal is logged', () => refusals(app, 'tls-version-not-accepted').length === 1);
  });

  it('closes plain DICOM on the TLS port and TLS on the plain port, logged with the peer; both keep serving', async () => {
    const plainOnTls = await echo(tlsPort, []);
    assert.notEqual(plainOnTls.code, 0);
    await until('plain DICOM on the TLS port is logged', () => refusals(app, 'not-tls').length === 1);
    assert.match(String(refusals(app, 'not-tls')[0]!.peer), /^127\.0\.0\.1:\d+$/);

    const tlsOnPlain = await echo(plainPort, tlsArgs(client));
    assert.notEqual(tlsOnPlain.code, 0);
    await until('TLS on the plain port is logged', () => refusals(app, 'tls-on-plain-port').length === 1);
    assert.match(String(refusals(app, 'tls-on-plain-port')[0]!.peer), /^127\.0\.0\.1:\d+$/);

    const plain = await echo(plainPort, []);
    assert.equal(plain.code, 0, plain.stderr);
    const secure = await echo(tlsPort, tlsArgs(client));
    assert.equal(secure.code, 0, secure.stderr);
  });

  it('closes a handshake that never finishes within the association timeout, without its taking the only slot', async () => {
    const raw = net.connect({ host: '127.0.0.1', port: tlsPort });
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => {});
    // The first bytes of a ClientHello record (handshake, TLS 1.0 record version, 512 bytes), then nothing.
    raw.write(Buffer.from('160301020001', 'hex'));
    const secure = await echo(tlsPort, tlsArgs(client));
    assert.equal(secure.code, 0, `with maxAssociations 1, echoscu +tls succeeds while the handshake hangs: ${secure.stderr}`);
    await closed;
    assert.equal(refusals(app, 'tls-handshake-timeout').length, 1);
  });

  it('counts associations on both listeners against one receive.maxAssociations', async () => {
    const held = await requestAssociation({
      host: '127.0.0.1', port: plainPort, callingAeTitle: 'HOLDER', calledAeTitle: 'CRYPE_DCM',
      contexts: [{ pcId: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
      maxPduLength: 16384, connectTimeoutMs: 5000, artimTimeoutMs: 5000, log: noopLogger,
    });
    try {
      const refused = await echo(tlsPort, tlsArgs(client));
      assert.notEqual(refused.code, 0, 'the only slot is taken on the plain listener');
      assert.match(refused.stdout + refused.stderr, /Local Limit Exceeded/i);
    } finally {
      await held.release();
    }
    const secure = await echo(tlsPort, tlsArgs(client));
    assert.equal(secure.code, 0, secure.stderr);
  });

  it('counts every refusal in /metrics by reason', async () => {
    const text = await metrics();
    for (const reason of ['no-client-certificate', 'untrusted-client-certificate', 'tls-version-not-accepted', 'not-tls', 'tls-on-plain-port', 'tls-handshake-timeout']) {
      assert.equal(sample(text, 'dicombridge_peers_refused_total', { reason }), 1, reason);
    }
    assert.equal(sample(text, 'dicombridge_peers_refused_total', { reason: 'unknown-calling-ae-title' }), 0);
    assert.equal(sample(text, 'dicombridge_tls_receiver_listening'), 1);
    const status = (await rawRequest(app.gui.port, 'GET', '/api/status')).json() as { receiving: { tls?: { text: string; listening: boolean } } };
    assert.equal(status.receiving.tls?.text, `TLS: on, listening on 127.0.0.1:${tlsPort}`);
    assert.equal(status.receiving.tls?.listening, true);
  });

  it('uses a renewed certificate for the next connection, without a restart', async () => {
    const serialOf = () => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: readFileSync(pki.caFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) });
      socket.once('secureConnect', () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial);
      });
      socket.once('error', reject);
    });
    const first = await serialOf();
    const renewed = pki.issue('bridge-renewed', { commonName: 'bridge.test' });
    const reloads = logLines(app).filter((l) => String(l.msg).startsWith('DICOM TLS certificate reloaded')).length;
    await copyFile(renewed.keyFile, server.keyFile);
    await copyFile(renewed.certFile, server.certFile);
    // The files are polled (every 5 s): wait for the reload that follows both copies.
    await until('the renewed certificate is loaded', () => logLines(app).filter((l) => String(l.msg) === 'DICOM TLS certificate reloaded (the certificate files changed)').length > reloads);
    const second = await serialOf();
    assert.notEqual(second, first);
    const secure = await echo(tlsPort, tlsArgs(client));
    assert.equal(secure.code, 0, secure.stderr);
  });
});
