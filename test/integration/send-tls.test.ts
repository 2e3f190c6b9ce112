/**
 * Acceptance (issue: Secure links, DICOM TLS, sending side) against real peers: Outbox ZIPs
 * reach DCMTK `storescp +tls` (mutual TLS and server-only) and Orthanc with DicomTlsEnabled
 * byte for byte; a trust failure (a PACS certificate from another CA, an expired one) sends the
 * ZIP to Outbox_Failed at once with the reason in words; `dicombridge echo` and POST /api/echo
 * say what failed; a renewed CA file is used without a restart.
 * Certificates come from test/support/test-pki.ts plus `openssl ca` for one expired in 2020.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bridge } from '../../src/app.js';
import type { SendOutcome } from '../../src/bridge/send/outbox-sender.js';
import { datasetOf, list, nextEvents, removeDir, sendOverrides, sopUidOf, startBridge, tempDir } from '../support/bridge-harness.js';
import { pageToken, rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { runTool } from '../support/peers/dcmtk.js';
import { startOrthanc, type OrthancPeer } from '../support/peers/orthanc.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';
import { createTestPki, type Issued, type TestPki } from '../support/test-pki.js';
import { writeZip } from '../support/zip-files.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));

/** A server certificate signed by `pki` with the given subjectAltName, through `openssl ca` so the validity can lie in the past. */
function issueWith(pki: TestPki, dir: string, name: string, options: { subjectAltName: string; startDate?: string; endDate?: string }): Issued {
  const db = join(dir, `${name}-db`);
  execFileSync('mkdir', ['-p', db]);
  execFileSync('sh', ['-c', `: > '${db}/index.txt' && echo 1000 > '${db}/serial'`]);
  const cnf = join(dir, `${name}-ca.cnf`);
  execFileSync('sh', ['-c', `cat > '${cnf}'`], {
    input: `[ca]\ndefault_ca = ca_default\n[ca_default]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}\nserial = ${db}/serial\ndefault_md = sha256\ndefault_days = 30\npolicy = any\n[any]\ncommonName = supplied\n`,
  });
  const ext = join(dir, `${name}.ext`);
  execFileSync('sh', ['-c', `cat > '${ext}'`], {
    input: `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${options.subjectAltName}\n`,
  });
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`], { stdio: 'pipe' });
  execFileSync('openssl', ['ca', '-batch', '-notext', '-config', cnf, '-cert', pki.caFile, '-keyfile', pki.caKeyFile, '-in', csr, '-out', certFile, '-extfile', ext,
    ...(options.startDate ? ['-startdate', options.startDate] : []), ...(options.endDate ? ['-enddate', options.endDate] : [])], { stdio: 'pipe' });
  return { certFile, keyFile };
}

describe('sending over DICOM TLS', () => {
  let work: string;
  let pki: TestPki;
  /** Our client certificate (the bridge's). */
  let ours: Issued;
  /** The PACS's certificate from our CA, for 127.0.0.1 and localhost. */
  let pacs: Issued;
  /** A PACS certificate from another CA. */
  let foreign: Issued;
  let expired: Issued;
  /** A certificate for pacs.example only: not for 127.0.0.1. */
  let otherHost: Issued;
  let otherCaFile: string;
  const peers: StorescpPeer[] = [];
  let mutual: StorescpPeer;
  let serverOnly: StorescpPeer;
  let untrusted: StorescpPeer;
  let outdated: StorescpPeer;
  let wrongHost: StorescpPeer;
  let plain: StorescpPeer;

  /** storescp +tls with `cert`, trusting our CA; requires our client certificate or ignores it. */
  async function tlsStorescp(name: string, cert: Issued, requireClientCert: boolean): Promise<StorescpPeer> {
    const peer = await startStorescp({
      outDir: join(work, name),
      aeTitle: 'PACS',
      extraArgs: ['+tls', cert.keyFile, cert.certFile, '+cf', pki.caFile, requireClientCert ? '-rc' : '-ic', '+xa'],
      // echoscu +tls with our client certificate, not checking the PACS's (some are meant to fail our check).
      probe: async (port) => (await runTool('echoscu', ['-aet', 'PROBE', '-aec', 'PACS', '+tls', ours.keyFile, ours.certFile, '-ic', '127.0.0.1', String(port)], 30_000)).code === 0,
    });
    peers.push(peer);
    return peer;
  }

  before(async () => {
    work = await tempDir();
    const pkiDir = join(work, 'pki');
    await mkdir(pkiDir);
    pki = createTestPki(pkiDir, 'Bridge Test CA');
    ours = pki.issue('bridge', { client: true });
    pacs = pki.issue('pacs');
    const other = createTestPki(pkiDir, 'Other CA');
    otherCaFile = other.caFile;
    foreign = other.issue('foreign');
    expired = issueWith(pki, pkiDir, 'expired', { subjectAltName: 'IP:127.0.0.1,DNS:localhost', startDate: '20200101000000Z', endDate: '20200102000000Z' });
    otherHost = issueWith(pki, pkiDir, 'otherhost', { subjectAltName: 'DNS:pacs.example' });
    mutual = await tlsStorescp('mutual', pacs, true);
    serverOnly = await tlsStorescp('server-only', pacs, false);
    untrusted = await tlsStorescp('untrusted', foreign, false);
    outdated = await tlsStorescp('expired', expired, false);
    wrongHost = await tlsStorescp('wrong-host', otherHost, false);
    plain = await startStorescp({ outDir: join(work, 'plain'), aeTitle: 'PACS' });
    peers.push(plain);
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await removeDir(work);
  });

  /** send.tls with our CA, and our client certificate unless `client` is false. */
  function tlsSettings(client = true): Record<string, unknown> {
    return { enabled: true, caFile: pki.caFile, certFile: client ? ours.certFile : '', keyFile: client ? ours.keyFile : '' };
  }

  /** Writes a study, zips it into Outbox_Auto, waits for the send outcome. */
  async function sendStudy(bridge: Bridge, name: string, count: number): Promise<{ outcome: SendOutcome; study: StudyFiles }> {
    const study = await writeStudy(join(work, `${name}-study`), { count });
    const zip = join(work, `${name}.zip`);
    await writeZip(zip, study.files);
    const sent = nextEvents(bridge, 'send', 1);
    await copyFile(zip, join(bridge.layout.outboxAuto, `${name}.zip`));
    const [outcome] = await sent;
    return { outcome: outcome!, study };
  }

  async function assertByteIdentical(study: StudyFiles, received: Buffer[]): Promise<void> {
    const byUid = new Map(received.map((file) => {
      const ds = datasetOf(file);
      return [sopUidOf(ds), ds] as const;
    }));
    for (const [uid, dataset] of study.datasets) assert.ok(byUid.get(uid)?.equals(dataset), `${uid} arrived byte-identical`);
  }

  for (const [label, peer, client] of [['mutual TLS with our client certificate', () => mutual, true], ['server authentication only', () => serverOnly, false]] as const) {
    test(`a ZIP reaches storescp +tls byte for byte (${label}); the ZIP is deleted`, async () => {
      const storage = await tempDir();
      const bridge = await startBridge(storage, sendOverrides(peer().port, { tls: tlsSettings(client) }));
      try {
        const { outcome, study } = await sendStudy(bridge, `to-storescp-${client}`, 5);
        assert.equal(outcome.status, 'Success', outcome.reason);
        assert.equal(outcome.sent, 5);
        assert.deepEqual(await list(bridge.layout.outboxAuto), []);
        assert.deepEqual(await list(bridge.layout.outboxFailed), []);
        await assertByteIdentical(study, await Promise.all((await peer().files()).map((f) => readFile(f))));
      } finally {
        await bridge.stop();
        await removeDir(storage);
      }
    });
  }

  describe('to Orthanc with DicomTlsEnabled (mutual TLS)', () => {
    let orthanc: OrthancPeer;
    before(async () => {
      orthanc = await startOrthanc({ dir: join(work, 'orthanc'), aeTitle: 'PACS', tls: { certFile: pacs.certFile, keyFile: pacs.keyFile, caFile: pki.caFile, requireClientCert: true } });
    });
    after(async () => {
      await orthanc.stop();
    });

    test('a ZIP is stored byte for byte', async () => {
      const storage = await tempDir();
      const bridge = await startBridge(storage, sendOverrides(orthanc.dicomPort, { tls: tlsSettings(true) }));
      try {
        const { outcome, study } = await sendStudy(bridge, 'to-orthanc', 4);
        assert.equal(outcome.status, 'Success', outcome.reason);
        assert.deepEqual(await list(bridge.layout.outboxAuto), []);
        const ids = await orthanc.instanceIds();
        assert.equal(ids.length, 4);
        await assertByteIdentical(study, await Promise.all(ids.map((id) => orthanc.file(id))));
      } finally {
        await bridge.stop();
        await removeDir(storage);
      }
    });
  });

  const trustFailures = [
    ['a PACS certificate from another CA', () => untrusted, /^TLS with 127\.0\.0\.1:\d+ failed: the PACS's certificate is not trusted \(its issuer is not in send\.tls\.caFile/],
    ['an expired PACS certificate', () => outdated, /^TLS with 127\.0\.0\.1:\d+ failed: the PACS's certificate has expired$/],
  ] as const;
  for (const [label, peer, words] of trustFailures) {
    test(`${label}: the ZIP goes to Outbox_Failed at once, with the reason, no retry`, async () => {
      const storage = await tempDir();
      // Retries are on: a transient failure would be tried 3 times and say so.
      const bridge = await startBridge(storage, sendOverrides(peer().port, { tls: tlsSettings(true), retries: 2, retryDelaySeconds: 1 }));
      try {
        const { outcome } = await sendStudy(bridge, 'refused', 2);
        assert.equal(outcome.status, 'Failed');
        assert.match(outcome.reason ?? '', words);
        assert.doesNotMatch(outcome.reason ?? '', /attempts/);
        assert.deepEqual(await list(bridge.layout.outboxFailed), ['refused.zip']);
        assert.deepEqual(await list(bridge.layout.outboxAuto), []);
        const sends = bridge.logBook.latest(20).filter((row) => row.action === 'Send');
        assert.equal(sends.length, 1);
        assert.equal(sends[0]!.status, 'Failed');
        assert.match(sends[0]!.reason ?? '', words);
        assert.deepEqual(await peer().files(), [], 'nothing reached the PACS');
      } finally {
        await bridge.stop();
        await removeDir(storage);
      }
    });
  }

  test('a missing TLS file: Outbox_Failed at once, the reason names the key', async () => {
    const storage = await tempDir();
    const bridge = await startBridge(storage, sendOverrides(mutual.port, { tls: { ...tlsSettings(true), caFile: join(work, 'no-such-ca.pem') }, retries: 2 }));
    try {
      const { outcome } = await sendStudy(bridge, 'no-ca', 1);
      assert.equal(outcome.status, 'Failed');
      assert.match(outcome.reason ?? '', /^send\.tls\.caFile: cannot read .*no-such-ca\.pem \(ENOENT\)$/);
    } finally {
      await bridge.stop();
      await removeDir(storage);
    }
  });

  /** The echo cases: the PACS, our send.tls, and the words expected. */
  const echoCases = (): Array<[string, StorescpPeer, Record<string, unknown>, RegExp]> => [
    ['untrusted', untrusted, tlsSettings(true), /the PACS's certificate is not trusted \(its issuer is not in send\.tls\.caFile/],
    ['expired', outdated, tlsSettings(true), /the PACS's certificate has expired/],
    ['wrong host name', wrongHost, tlsSettings(true), /the PACS's certificate is for another host \(DNS:pacs\.example, not "127\.0\.0\.1" as in send\.host\)/],
    ['client certificate required', mutual, tlsSettings(false), /the PACS asked for a client certificate \(set send\.tls\.certFile and send\.tls\.keyFile\)/],
    ['plain DICOM port', plain, tlsSettings(true), /no TLS answer from 127\.0\.0\.1:\d+ \(is it a plain DICOM port\?/],
  ];

  test('dicombridge echo over TLS: success, and each failure in words', async () => {
    const run = async (name: string, port: number, tls: Record<string, unknown>) => {
      const config = join(work, `echo-${name.replace(/\W+/g, '-')}.json`);
      await writeFile(config, JSON.stringify({ storageFolder: join(work, 'echo-storage'), ...sendOverrides(port, { tls }), receive: { enabled: false } }));
      return promisify(execFile)(process.execPath, [BIN, 'echo', '--config', config]).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
    };
    const ok = await run('ok', mutual.port, tlsSettings(true));
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^C-ECHO to PACS@127\.0\.0\.1:\d+ over TLS \(calling AE CRYPE_DCM\) succeeded in \d+ ms\n$/);
    for (const [name, peer, tls, words] of echoCases()) {
      const result = await run(name, peer.port, tls);
      assert.equal(result.code, 1, `${name}: ${result.stdout}`);
      assert.match(result.stdout, /^C-ECHO to PACS@127\.0\.0\.1:\d+ over TLS \(calling AE CRYPE_DCM\) failed: /, name);
      assert.match(result.stdout, words, name);
    }
  });

  describe('the GUI\'s Send DICOM Echo (POST /api/echo)', () => {
    let app: GuiUnderTest;
    let token: string;
    let trustFile: string;
    before(async () => {
      // Saved settings trust only the other CA, through a file that is renewed below.
      trustFile = join(work, 'trust.pem');
      await copyFile(otherCaFile, trustFile);
      app = await startGui(join(work, 'gui-store'), {
        send: { host: '127.0.0.1', port: mutual.port, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', timeoutSeconds: 10, tls: { enabled: true, caFile: trustFile, certFile: ours.certFile, keyFile: ours.keyFile } },
      });
      token = await pageToken(app.gui.port);
    });
    after(async () => {
      await app.stop();
    });

    const echo = async (send: Record<string, unknown>) => {
      const res = await rawRequest(app.gui.port, 'POST', '/api/echo', { 'content-type': 'application/json', 'x-dicombridge-token': token }, { send });
      assert.equal(res.status, 200, res.body);
      return res.json() as { ok: boolean; reason?: string };
    };

    test('the form\'s send.tls values: each failure in words, with a log book row', async () => {
      for (const [name, peer, tls, words] of echoCases()) {
        const body = await echo({ host: '127.0.0.1', port: peer.port, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', timeoutSeconds: 10, tls });
        assert.equal(body.ok, false, name);
        assert.match(body.reason ?? '', words, name);
        const [row] = app.supervisor.bridge.logBook.latest(1);
        assert.equal(row!.action, 'Echo');
        assert.equal(row!.status, 'Failed');
        assert.match(row!.reason ?? '', words, name);
      }
      const ok = await echo({ host: '127.0.0.1', port: mutual.port, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', timeoutSeconds: 10, tls: tlsSettings(true) });
      assert.equal(ok.ok, true, ok.reason);
    });

    test('a form without TLS fields uses the saved send.tls; a renewed CA file counts without a restart', async () => {
      const form = { host: '127.0.0.1', port: mutual.port, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', timeoutSeconds: 10 };
      const before = await echo(form);
      assert.equal(before.ok, false);
      assert.match(before.reason ?? '', /the PACS's certificate is not trusted/);
      await copyFile(pki.caFile, trustFile);
      const after = await echo(form);
      assert.equal(after.ok, true, after.reason);
    });
  });
});
