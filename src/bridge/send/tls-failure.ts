/**
 * Why DICOM TLS to the PACS failed, in words an administrator can act on, and whether a retry
 * can help (SPEC §5 `send.tls.*`, PS3.15 Annex B.1). The DICOM layer reports Node's or
 * OpenSSL's code ({@link DicomTlsError.tlsCode}); this table turns it into a sentence. A trust
 * failure (untrusted, expired, another host's certificate, our certificate refused), a TLS
 * version or suite mismatch and a non-TLS answer are configuration faults a retry cannot fix:
 * they are permanent, so the ZIP goes to Outbox_Failed at once with the reason.
 */
import type { DicomTlsError } from '../../dicom/errors.js';
import type { TlsMaterialError } from '../../tls/material.js';

/** What {@link explainTlsFailure} needs besides the code: where we connected and what we trust. */
export interface TlsFailureContext {
  /** "host:port" */
  where: string;
  host: string;
  /** `send.tls.caFile`; '' = the system's CAs. */
  caFile: string;
  /** Whether we have a client certificate (`send.tls.certFile`). */
  haveClientCert: boolean;
  /** The names the PACS's certificate carries (subjectAltName, else CN), when known. */
  certificateNames?: string;
}

/** One explained failure. */
export interface TlsFailure {
  reason: string;
  transient: boolean;
}

const UNTRUSTED_ISSUER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'CERT_REJECTED',
]);

/** TLS alerts by which the PACS refuses the certificate we sent (RFC 8446 §6.2). */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
]);

const VERSION_REFUSED = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_VERSION_TOO_LOW',
  'ERR_SSL_TLSV1_ALERT_INAPPROPRIATE_FALLBACK',
]);

const HANDSHAKE_REFUSED = new Set([
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_NO_SHARED_CIPHER',
  'ERR_SSL_TLSV1_ALERT_INSUFFICIENT_SECURITY',
]);

/** Bytes came back, but not TLS: a plain DICOM listener answering our ClientHello. */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNEXPECTED_RECORD', 'ERR_SSL_HTTP_REQUEST']);

/** The connection closed during the handshake: a plain port, or a PACS busy or restarting. */
const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Where the PACS's certificate should chain to, for the texts. */
function trustText(caFile: string): string {
  return caFile === '' ? 'the system\'s trusted CAs (send.tls.caFile is empty)' : `send.tls.caFile (${caFile})`;
}

/**
 * The sentence and the retry class for a TLS failure code; e.g. 'CERT_HAS_EXPIRED' → "TLS
 * with 10.0.0.1:2762 failed: the PACS's certificate has expired" (permanent).
 */
export function explainTlsFailure(code: string, context: TlsFailureContext): TlsFailure {
  // OpenSSL 3.2+ (Node 22+) names the alerts "SSL/TLS_ALERT_…" where 3.0 (Node 20) says "SSLV3_ALERT_…".
  const tlsCode = code.replace(/^ERR_SSL_SSL\/TLS_ALERT_/, 'ERR_SSL_SSLV3_ALERT_');
  const permanent = (why: string): TlsFailure => ({ reason: `TLS with ${context.where} failed: ${why}`, transient: false });
  if (tlsCode === 'DEPTH_ZERO_SELF_SIGNED_CERT' || tlsCode === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return permanent(`the PACS's certificate is not trusted (self-signed; not in ${trustText(context.caFile)})`);
  }
  if (UNTRUSTED_ISSUER.has(tlsCode)) {
    return permanent(`the PACS's certificate is not trusted (its issuer is not in ${trustText(context.caFile)})`);
  }
  if (tlsCode === 'CERT_HAS_EXPIRED') return permanent('the PACS\'s certificate has expired');
  if (tlsCode === 'CERT_NOT_YET_VALID') return permanent('the PACS\'s certificate is not valid yet (check both clocks)');
  if (tlsCode === 'CERT_REVOKED') return permanent('the PACS\'s certificate has been revoked');
  if (tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = context.certificateNames ? `${context.certificateNames}, ` : '';
    return permanent(`the PACS's certificate is for another host (${names}not "${context.host}" as in send.host)`);
  }
  if (tlsCode === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (tlsCode === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' && !context.haveClientCert)) {
    const hint = context.haveClientCert ? '' : ' (set send.tls.certFile and send.tls.keyFile)';
    return permanent(`the PACS asked for a client certificate${hint}`);
  }
  if (tlsCode === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED') return permanent('the PACS refused our client certificate as expired (send.tls.certFile)');
  if (CLIENT_CERT_REFUSED.has(tlsCode)) {
    return permanent(context.haveClientCert
      ? 'the PACS refused our client certificate (send.tls.certFile: is it issued by a CA the PACS trusts?)'
      : 'the PACS refused the connection for want of a trusted client certificate (set send.tls.certFile and send.tls.keyFile)');
  }
  if (VERSION_REFUSED.has(tlsCode)) return permanent('TLS version not accepted (the bridge speaks TLS 1.2 and 1.3 only)');
  if (HANDSHAKE_REFUSED.has(tlsCode)) return permanent('the PACS refused the TLS handshake (no cipher suite in common, or our client certificate was not accepted)');
  if (NOT_TLS.has(tlsCode)) return { reason: `no TLS answer from ${context.where} (is it a plain DICOM port?)`, transient: false };
  if (CLOSED.has(tlsCode)) {
    // Also a TLS PACS at its association limit, or restarting: worth a retry.
    return { reason: `no TLS answer from ${context.where} (is it a plain DICOM port? the connection closed during the TLS handshake)`, transient: true };
  }
  return permanent(`TLS error ${tlsCode}`);
}

/** The names a certificate in Node's error carries: "DNS:pacs.example", else "CN=…", else undefined. */
export function certificateNamesOf(err: DicomTlsError): string | undefined {
  const cert = (err.cause as { cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } } } | undefined)?.cert;
  if (typeof cert?.subjectaltname === 'string' && cert.subjectaltname !== '') return cert.subjectaltname.replace(/IP Address:/g, 'IP:');
  if (typeof cert?.subject?.CN === 'string') return `CN=${cert.subject.CN}`;
  return undefined;
}

/** A TLS file that cannot be used, naming the setting: "send.tls.caFile: cannot read /x (ENOENT)". */
export function explainTlsMaterial(err: TlsMaterialError): TlsFailure {
  return { reason: `send.tls.${err.key}: ${err.message}`, transient: false };
}
