// The words and the retry class of every DICOM TLS failure the sender and the echo report:
// the table of tls-failure.ts, and explainAssociationError routing DicomTlsError,
// TlsMaterialError and the TLS handshake timeout to it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError, DicomTimeoutError, DicomTlsError, ERR_CONNECT, ERR_TLS } from '../../../../src/dicom/errors.js';
import { explainAssociationError, type SendTarget } from '../../../../src/bridge/send/store-sender.js';
import { certificateNamesOf, explainTlsFailure, type TlsFailureContext } from '../../../../src/bridge/send/tls-failure.js';
import { TlsMaterialError } from '../../../../src/tls/material.js';

const context: TlsFailureContext = { where: '10.0.0.1:2762', host: '10.0.0.1', caFile: '/etc/pacs-ca.pem', haveClientCert: true };

describe('explainTlsFailure: the words for each code', () => {
  const cases: Array<[code: string, words: RegExp, transient: boolean, ctx?: Partial<TlsFailureContext>]> = [
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /^TLS with 10\.0\.0\.1:2762 failed: the PACS's certificate is not trusted \(self-signed; not in send\.tls\.caFile \(\/etc\/pacs-ca\.pem\)\)$/, false],
    ['SELF_SIGNED_CERT_IN_CHAIN', /the PACS's certificate is not trusted \(self-signed/, false],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /the PACS's certificate is not trusted \(its issuer is not in send\.tls\.caFile/, false],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', /its issuer is not in the system's trusted CAs \(send\.tls\.caFile is empty\)/, false, { caFile: '' }],
    ['CERT_HAS_EXPIRED', /the PACS's certificate has expired$/, false],
    ['CERT_NOT_YET_VALID', /the PACS's certificate is not valid yet/, false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /the PACS's certificate is for another host \(DNS:pacs\.example, not "10\.0\.0\.1" as in send\.host\)/, false, { certificateNames: 'DNS:pacs.example' }],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /the PACS asked for a client certificate \(set send\.tls\.certFile and send\.tls\.keyFile\)$/, false, { haveClientCert: false }],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', /the PACS asked for a client certificate/, false, { haveClientCert: false }],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', /the PACS refused the TLS handshake \(no cipher suite in common/, false],
    ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', /the PACS refused the TLS handshake \(no cipher suite in common/, false],
    ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', /the PACS refused our client certificate/, false],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', /the PACS refused our client certificate \(send\.tls\.certFile/, false],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', /the PACS refused our client certificate/, false],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', /the PACS refused our client certificate as expired/, false],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', /TLS version not accepted \(the bridge speaks TLS 1\.2 and 1\.3 only\)/, false],
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', /TLS version not accepted/, false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /^no TLS answer from 10\.0\.0\.1:2762 \(is it a plain DICOM port\?\)$/, false],
    ['ECONNRESET', /^no TLS answer from 10\.0\.0\.1:2762 \(is it a plain DICOM port\? the connection closed during the TLS handshake\)$/, true],
    ['ERR_SSL_SOMETHING_NEW', /TLS with 10\.0\.0\.1:2762 failed: TLS error ERR_SSL_SOMETHING_NEW/, false],
  ];
  for (const [code, words, transient, ctx] of cases) {
    it(`${code}${ctx ? ` (${JSON.stringify(ctx)})` : ''}`, () => {
      const failure = explainTlsFailure(code, { ...context, ...ctx });
      assert.match(failure.reason, words);
      assert.equal(failure.transient, transient);
    });
  }
});

describe('explainAssociationError with TLS', () => {
  const target: SendTarget = { host: '127.0.0.1', port: 2762, callingAeTitle: 'CRYPE_DCM', calledAeTitle: 'PACS', tls: { caFile: '', certFile: '', keyFile: '' } };

  it('a DicomTlsError: its code in words, permanent for a trust failure', () => {
    const err = new DicomTlsError('CERT_HAS_EXPIRED', 'TLS with 127.0.0.1:2762 failed: certificate has expired');
    assert.equal(err.code, ERR_TLS);
    assert.ok(err instanceof DicomError);
    assert.deepEqual(explainAssociationError(err, target, 10_000), { reason: 'TLS with 127.0.0.1:2762 failed: the PACS\'s certificate has expired', transient: false });
  });

  it('the names of the certificate come from Node\'s error', () => {
    const cause = Object.assign(new Error('Hostname/IP does not match'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', cert: { subjectaltname: 'DNS:pacs.example, IP Address:10.9.9.9', subject: { CN: 'pacs' } } });
    const err = new DicomTlsError('ERR_TLS_CERT_ALTNAME_INVALID', 'x', { cause });
    assert.equal(certificateNamesOf(err), 'DNS:pacs.example, IP:10.9.9.9');
    assert.match(explainAssociationError(err, target, 10_000).reason, /for another host \(DNS:pacs\.example, IP:10\.9\.9\.9, not "127\.0\.0\.1"/);
  });

  it('no client certificate configured: the hint names the keys', () => {
    const err = new DicomTlsError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'x');
    assert.match(explainAssociationError(err, target, 10_000).reason, /the PACS asked for a client certificate \(set send\.tls\.certFile/);
  });

  it('an unusable TLS file names its key, permanent', () => {
    const err = new TlsMaterialError('caFile', 'cannot read /nowhere/ca.pem (ENOENT)');
    assert.deepEqual(explainAssociationError(err, target, 10_000), { reason: 'send.tls.caFile: cannot read /nowhere/ca.pem (ENOENT)', transient: false });
  });

  it('a handshake that never finishes is a transient timeout', () => {
    const err = new DicomTimeoutError('TLS', 'no TLS handshake');
    assert.deepEqual(explainAssociationError(err, target, 10_000), { reason: 'no TLS answer from 127.0.0.1:2762 within 10 s (timed out; is it a plain DICOM port?)', transient: true });
  });

  it('connection refused stays transient with TLS on', () => {
    const err = new DicomError(ERR_CONNECT, 'cannot connect', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
    assert.equal(explainAssociationError(err, target, 10_000).transient, true);
  });
});
