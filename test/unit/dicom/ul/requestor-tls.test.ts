// The requestor over TLS (PS3.15 Annex B.1) against scripted servers on 127.0.0.1: the
// connect options (BCP 195 versions and suites, SNI only for host names), and each way a
// handshake fails becoming a DicomTlsError with Node's/OpenSSL's code, or a 'TLS' timeout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { DicomTimeoutError, DicomTlsError, ERR_TLS } from '../../../../src/dicom/errors.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { requestAssociation, tlsConnectOptions, type RequestorTls } from '../../../../src/dicom/ul/requestor.js';
import { TLS12_CIPHERS } from '../../../../src/tls/material.js';
import { createTestPki } from '../../../support/test-pki.js';

const VERIFICATION = '1.2.840.10008.1.1';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function request(port: number, material: RequestorTls, host = '127.0.0.1') {
  return requestAssociation({
    host,
    port,
    callingAeTitle: 'CRYPE_DCM',
    calledAeTitle: 'PACS',
    contexts: [{ pcId: 1, abstractSyntax: VERIFICATION, transferSyntaxes: ['1.2.840.10008.1.2'] }],
    maxPduLength: 16384,
    connectTimeoutMs: 2000,
    artimTimeoutMs: 2000,
    log: noopLogger,
    tls: material,
  });
}

describe('tlsConnectOptions', () => {
  it('TLS 1.2–1.3 with the BCP 195 suites, the peer verified', () => {
    const options = tlsConnectOptions('127.0.0.1', { ca: 'CA' });
    assert.equal(options.minVersion, 'TLSv1.2');
    assert.equal(options.maxVersion, 'TLSv1.3');
    assert.equal(options.ciphers, TLS12_CIPHERS);
    assert.equal(options.rejectUnauthorized, true);
    assert.equal(options.ca, 'CA');
  });

  it('SNI for a host name, none for an IP address (the IP is checked against the IP SANs)', () => {
    assert.equal(tlsConnectOptions('pacs.hospital.example', {}).servername, 'pacs.hospital.example');
    assert.equal('servername' in tlsConnectOptions('10.0.0.1', {}), false);
    assert.equal('servername' in tlsConnectOptions('::1', {}), false);
    assert.equal('ca' in tlsConnectOptions('10.0.0.1', {}), false, 'no ca: the system CAs');
  });
});

describe('requestAssociation with tls: failed handshakes', () => {
  let dir: string;
  let ca: string;
  let key: string;
  let cert: string;
  const sockets = new Set<net.Socket>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'requestor-tls-'));
    const pki = createTestPki(dir);
    const issued = pki.issue('server');
    [ca, key, cert] = await Promise.all([readFile(pki.caFile, 'utf8'), readFile(issued.keyFile, 'utf8'), readFile(issued.certFile, 'utf8')]);
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('a server that accepts TCP and never answers: DicomTimeoutError on the TLS timer', async () => {
    const server = net.createServer((s) => sockets.add(s));
    const port = await listen(server);
    await assert.rejects(request(port, { ca }), (err: unknown) => err instanceof DicomTimeoutError && err.timer === 'TLS');
    server.close();
  });

  it('a plain DICOM peer answering our ClientHello with an A-ABORT: ERR_SSL_WRONG_VERSION_NUMBER', async () => {
    const server = net.createServer((s) => {
      sockets.add(s);
      s.once('data', () => s.end(Buffer.from('07000000000400000000', 'hex')));
    });
    const port = await listen(server);
    await assert.rejects(request(port, { ca }), (err: unknown) => err instanceof DicomTlsError && err.code === ERR_TLS && err.tlsCode === 'ERR_SSL_WRONG_VERSION_NUMBER');
    server.close();
  });

  it('a server that offers only TLS 1.1: a protocol version alert', async () => {
    const server = tls.createServer({ key, cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    server.on('tlsClientError', () => undefined);
    const port = await listen(server);
    await assert.rejects(request(port, { ca }), (err: unknown) => err instanceof DicomTlsError && /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/.test(err.tlsCode));
    server.close();
  });

  it('a server certificate from a CA we do not trust: the verification code', async () => {
    const server = tls.createServer({ key, cert });
    server.on('tlsClientError', () => undefined);
    const port = await listen(server);
    await assert.rejects(request(port, {}), (err: unknown) => err instanceof DicomTlsError && err.tlsCode === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    server.close();
  });
});
