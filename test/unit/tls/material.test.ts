import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTlsMaterial, TlsMaterialError } from '../../../src/tls/material.js';
import { removeDir, tempDir } from '../../support/bridge-harness.js';
import { createTestPki, type TestPki } from '../../support/test-pki.js';

describe('loadTlsMaterial', () => {
  let dir: string;
  let pki: TestPki;
  before(async () => {
    dir = await tempDir();
    pki = createTestPki(dir);
  });
  after(() => removeDir(dir));

  it('reads a certificate, its key and the CA bundle, and describes them', async () => {
    const server = pki.issue('server', { commonName: 'bridge.example', days: 10 });
    const m = await loadTlsMaterial({ ...server, caFile: pki.caFile });
    assert.ok(typeof m.cert === 'string' && typeof m.key === 'string' && typeof m.ca === 'string');
    assert.equal(m.certificate?.commonName, 'bridge.example');
    assert.match(m.certificate?.issuer ?? '', /DicomBridge Test CA/);
    assert.ok(m.certificate !== undefined && m.certificate.daysLeft >= 9 && m.certificate.daysLeft <= 10, String(m.certificate?.daysLeft));
    assert.deepEqual(m.authorities.map((a) => a.commonName), ['DicomBridge Test CA']);
  });

  it('refuses a key that is not the certificate\'s, naming keyFile', async () => {
    const a = pki.issue('a');
    const b = pki.issue('b');
    await assert.rejects(loadTlsMaterial({ certFile: a.certFile, keyFile: b.keyFile }), (err: unknown) => {
      assert.ok(err instanceof TlsMaterialError);
      assert.equal(err.key, 'keyFile');
      assert.match(err.message, /is not the key of the certificate/);
      return true;
    });
  });

  it('names the file at fault: missing, not PEM', async () => {
    await assert.rejects(loadTlsMaterial({ certFile: join(dir, 'nope.pem') }), { key: 'certFile', message: /cannot read .*ENOENT/ });
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'hello');
    await assert.rejects(loadTlsMaterial({ caFile: junk }), { key: 'caFile', message: /holds no PEM certificate/ });
    const server = pki.issue('server2');
    await assert.rejects(loadTlsMaterial({ certFile: server.certFile, keyFile: junk }), { key: 'keyFile', message: /no usable PEM private key/ });
  });
});
