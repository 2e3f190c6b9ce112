/**
 * The GUI's view of the configured TLS files (src/web/tls-files.ts) and what /health makes
 * of them: each certificate described, warnings from 30 days before expiry on, an expired or
 * unreadable one named; a Save refusing a key that is not its certificate's, naming the key.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emptyCounts } from '../../../src/bridge/metrics.js';
import { ensureStorageLayout, storageLayout } from '../../../src/bridge/storage-layout.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Supervisor } from '../../../src/supervisor.js';
import { HealthService } from '../../../src/web/routes/health.js';
import { certificateWarnings, describeConfiguredCertificates, tlsMaterialIssues } from '../../../src/web/tls-files.js';
import { createTestPki, type Issued, type TestPki } from '../../support/test-pki.js';

const DAY_MS = 86_400_000;

describe('configured TLS files', () => {
  let dir: string;
  let pki: TestPki;
  let server: Issued;
  let client: Issued;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dicombridge-tls-files-'));
    pki = createTestPki(dir, 'Hospital CA', 365);
    server = pki.issue('server', { commonName: 'bridge.example', days: 100 });
    client = pki.issue('client', { commonName: 'bridge-client', days: 200, client: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const config = (extra: Record<string, unknown>) => parseConfig({ storageFolder: join(dir, 'store'), ...extra }, { baseDir: dir });

  it('describes each certificate of each TLS end, each CA of a bundle on its own', async () => {
    const bundle = join(dir, 'bundle.pem');
    const other = createTestPki(await mkdtemp(join(dir, 'other-')), 'Other CA', 365);
    const { readFile } = await import('node:fs/promises');
    await writeFile(bundle, (await readFile(pki.caFile, 'utf8')) + (await readFile(other.caFile, 'utf8')));
    const entries = await describeConfiguredCertificates(config({
      receive: { tls: { enabled: true, certFile: server.certFile, keyFile: server.keyFile, caFile: bundle } },
      send: { tls: { enabled: false, caFile: pki.caFile, certFile: client.certFile, keyFile: client.keyFile } },
      gui: { tls: server },
    }));
    assert.deepEqual(entries.map((e) => [e.setting, e.certificate?.commonName, e.inUse]), [
      ['receive.tls.certFile', 'bridge.example', true],
      ['receive.tls.caFile', 'Hospital CA', true],
      ['receive.tls.caFile', 'Other CA', true],
      ['send.tls.certFile', 'bridge-client', false],
      ['send.tls.caFile', 'Hospital CA', false],
      ['gui.tls.certFile', 'bridge.example', true],
    ]);
    assert.match(entries[0]!.role, /DICOM receiving/);
    assert.equal(entries[0]!.certificate?.issuer, 'CN=Hospital CA');
    assert.deepEqual(certificateWarnings(entries), []);
  });

  it('warns from 30 days before expiry, says "has expired" after, and only for TLS ends in use', async () => {
    const cfg = config({ gui: { tls: server }, send: { tls: { enabled: false, certFile: client.certFile, keyFile: client.keyFile } } });
    const at = (days: number) => new Date(Date.now() + days * DAY_MS);
    assert.deepEqual(certificateWarnings(await describeConfiguredCertificates(cfg, at(68))), []);
    assert.deepEqual(certificateWarnings(await describeConfiguredCertificates(cfg, at(88))), ['certificate "bridge.example" (gui.tls.certFile) expires in 11 days']);
    assert.deepEqual(certificateWarnings(await describeConfiguredCertificates(cfg, at(99.5))), ['certificate "bridge.example" (gui.tls.certFile) expires today']);
    // The send certificate (200 days) is past expiry too at day 250, but sending over TLS is off.
    assert.deepEqual(certificateWarnings(await describeConfiguredCertificates(cfg, at(250))), ['certificate "bridge.example" (gui.tls.certFile) has expired']);
  });

  it('names an unreadable file, and a key that is not its certificate\'s, by its setting', async () => {
    const missing = join(dir, 'missing.pem');
    const entries = await describeConfiguredCertificates(config({
      send: { tls: { enabled: true, caFile: missing } },
      gui: { tls: { certFile: server.certFile, keyFile: client.keyFile } },
    }));
    assert.deepEqual(entries.map((e) => e.setting), ['send.tls.caFile', 'gui.tls.keyFile']);
    assert.match(entries[0]!.error ?? '', /cannot read .*missing\.pem \(ENOENT\)/);
    assert.match(entries[1]!.error ?? '', /is not the key of the certificate in/);
    assert.equal(entries[1]!.certificate?.commonName, 'bridge.example', 'the certificate is still described');
    assert.equal(certificateWarnings(entries).length, 2);
  });

  it('refuses what a Save must not write, naming the key', async () => {
    const issues = await tlsMaterialIssues(config({
      receive: { tls: { enabled: false, certFile: server.certFile, keyFile: client.keyFile } },
      gui: { tls: { certFile: server.certFile, keyFile: server.keyFile } },
    }));
    assert.deepEqual(issues.map((i) => i.key), ['receive.tls.keyFile']);
    assert.equal(issues[0]!.text, `receive.tls.keyFile: ${client.keyFile} is not the key of the certificate in ${server.certFile}`);
    const notPem = join(dir, 'not.pem');
    await writeFile(notPem, 'hello');
    const more = await tlsMaterialIssues(config({ send: { tls: { enabled: true, caFile: notPem } } }));
    assert.deepEqual(more.map((i) => i.text), [`send.tls.caFile: ${notPem} holds no PEM certificate`]);
    assert.deepEqual(await tlsMaterialIssues(config({})), []);
  });

  it('makes /health "not ready" for an unreadable file of a TLS end in use, and lists expiry as a warning', async () => {
    const layout = storageLayout(join(dir, 'health-store'));
    await ensureStorageLayout(layout);
    let cfg = parseConfig({ storageFolder: layout.root, receive: { enabled: false }, send: { tls: { enabled: true, caFile: join(dir, 'gone.pem') } } }, { baseDir: dir });
    const bridge = {
      get config() { return cfg; },
      layout,
      receivePort: null,
      activeAssociations: 0,
      studiesInProgress: 0,
      outboxWaiting: 0,
      diskGuard: { check: async () => ({ low: false, freeBytes: 1, minFreeBytes: 0 }) },
      logBook: { latest: () => [] },
    };
    const supervisor = { get bridge() { return bridge; }, get counts() { return emptyCounts(); } } as unknown as Supervisor;
    const health = new HealthService(supervisor, '1.0.0');
    const bad = await health.report();
    assert.equal(bad.ready, false);
    assert.match(bad.reasons.join(), /^send\.tls\.caFile: cannot read .*gone\.pem \(ENOENT\)$/);

    const soon = pki.issue('soon', { commonName: 'soon.example', days: 10 });
    cfg = parseConfig({ storageFolder: layout.root, receive: { enabled: false }, gui: { tls: soon } }, { baseDir: dir });
    const warned = await health.report();
    assert.equal(warned.ready, true, warned.reasons.join());
    assert.equal(warned.warnings.length, 1);
    assert.match(warned.warnings[0]!, /^certificate "soon\.example" \(gui\.tls\.certFile\) expires in (9|10) days$/);
  });
});
