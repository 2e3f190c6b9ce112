/**
 * The TLS material of the DICOM TLS listener (SPEC §5 `receive.tls.*`, PS3.15 Annex B with
 * BCP 195): the files read and checked, as the secure-context options of the listener.
 */
import type { SecureContextOptions } from 'node:tls';
import { ConfigError, configIssue } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { loadTlsMaterial, TLS12_CIPHERS, TLS_VERSIONS, TlsMaterialError, type TlsMaterial } from '../../tls/material.js';

/** The `receive.tls` settings. */
export type ReceiveTlsSettings = Config['receive']['tls'];

/** The files of the listener's material, in the order they are watched. */
export function listenerTlsFiles(settings: ReceiveTlsSettings): string[] {
  return [settings.certFile, settings.keyFile, settings.requireClientCert ? settings.caFile : ''].filter((f) => f !== '');
}

/** The secure-context options for loaded material: TLS 1.2–1.3 with BCP 195's suites. */
export function listenerSecureContext(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(material.ca === undefined ? {} : { ca: material.ca }), ...TLS_VERSIONS, ciphers: TLS12_CIPHERS };
}

/**
 * Reads the listener's certificate, key and (with requireClientCert) CA bundle. Throws a
 * ConfigError naming `receive.tls.certFile`, `keyFile` or `caFile` when one cannot be used.
 */
export async function loadListenerTls(settings: ReceiveTlsSettings): Promise<TlsMaterial> {
  try {
    return await loadTlsMaterial({ certFile: settings.certFile, keyFile: settings.keyFile, caFile: settings.requireClientCert ? settings.caFile : '' });
  } catch (err) {
    if (!(err instanceof TlsMaterialError)) throw err;
    throw new ConfigError([configIssue(`receive.tls.${err.key}`, err.message, settings[err.key])], { cause: err });
  }
}
