/**
 * TLS material for the DICOM listener, the DICOM requestor and the admin GUI (SPEC §5 `*.tls.*`,
 * PS3.15 Annex B with BCP 195): reading the PEM files, checking that a key belongs to its
 * certificate, and describing a certificate (subject, expiry) for the GUI and /health.
 * Node's `tls` and `crypto` do the work; nothing here is cryptography of our own.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';

/**
 * BCP 195 (RFC 9325): TLS 1.2 and 1.3 only; for 1.2 the AEAD suites with forward secrecy it
 * recommends. TLS 1.3 suites are Node's defaults (all AEAD).
 */
export const TLS_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const;
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':');

/** The file settings of one TLS end ('' = not set). */
export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

/** What the GUI and /health show of a certificate. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** ISO 8601. */
  validFrom: string;
  validTo: string;
  /** Whole days until `validTo` (negative once expired). */
  daysLeft: number;
  /** The subject's CN, '' when it has none. */
  commonName: string;
}

/** A file of TLS material that cannot be used; `key` names the setting's last part (certFile, keyFile, caFile). */
export class TlsMaterialError extends Error {
  readonly code = 'ERR_TLS_MATERIAL' as const;
  constructor(
    readonly key: 'certFile' | 'keyFile' | 'caFile',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TlsMaterialError';
  }
}

/** The loaded PEM texts plus what they say; ready for `tls.createSecureContext` / `createServer`. */
export interface TlsMaterial extends Pick<SecureContextOptions, 'cert' | 'key' | 'ca'> {
  certificate?: CertificateInfo;
  /** Every certificate of the CA bundle. */
  authorities: CertificateInfo[];
}

const DAY_MS = 86_400_000;

/** Subject, issuer and validity of one certificate. `now` for tests. */
export function describeCertificate(cert: X509Certificate, now: Date = new Date()): CertificateInfo {
  const validTo = new Date(cert.validTo);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - now.getTime()) / DAY_MS),
    commonName: cn,
  };
}

/** Every certificate of a PEM text (a bundle may hold several). */
export function certificatesOf(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

async function readPem(key: TlsMaterialError['key'], file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TlsMaterialError(key, `cannot read ${file} (${code})`, { cause: err });
  }
}

/**
 * Reads the files that are set and checks them: the certificate and the CA bundle parse, and
 * the key is the certificate's own. Throws TlsMaterialError naming the file at fault.
 */
export async function loadTlsMaterial(files: TlsFiles, now: Date = new Date()): Promise<TlsMaterial> {
  const material: TlsMaterial = { authorities: [] };
  if (files.certFile) {
    const pem = await readPem('certFile', files.certFile);
    const [first] = safeCertificates('certFile', files.certFile, pem);
    if (first === undefined) throw new TlsMaterialError('certFile', `${files.certFile} holds no PEM certificate`);
    material.cert = pem;
    material.certificate = describeCertificate(first, now);
    if (files.keyFile) {
      const keyPem = await readPem('keyFile', files.keyFile);
      let matches: boolean;
      try {
        matches = first.checkPrivateKey(createPrivateKey(keyPem));
      } catch (err) {
        throw new TlsMaterialError('keyFile', `${files.keyFile} holds no usable PEM private key`, { cause: err });
      }
      if (!matches) throw new TlsMaterialError('keyFile', `${files.keyFile} is not the key of the certificate in ${files.certFile}`);
      material.key = keyPem;
    }
  }
  if (files.caFile) {
    const pem = await readPem('caFile', files.caFile);
    const all = safeCertificates('caFile', files.caFile, pem);
    if (all.length === 0) throw new TlsMaterialError('caFile', `${files.caFile} holds no PEM certificate`);
    material.ca = pem;
    material.authorities = all.map((c) => describeCertificate(c, now));
  }
  return material;
}

function safeCertificates(key: TlsMaterialError['key'], file: string, pem: string): X509Certificate[] {
  try {
    return certificatesOf(pem);
  } catch (err) {
    throw new TlsMaterialError(key, `${file} holds a PEM certificate that does not parse`, { cause: err });
  }
}
