/**
 * The association requestor: connects, proposes presentation contexts and hands back an
 * established association (PS3.8 §7.1, requestor side of Table 9-10). Used by the
 * C-ECHO/C-STORE SCU.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { TLS12_CIPHERS, TLS_VERSIONS } from '../../tls/material.js';
import { Association } from './association.js';
import type { Logger } from './logger.js';
import { DICOM_APPLICATION_CONTEXT } from './pdu.js';
import type { AAssociateRqPdu } from './pdu.js';
import type { AcceptedContext, PDataChannel, PDataHandler } from './primitives.js';

/** Implementation class UID sent when the caller gives none: a UUID-derived UID (PS3.5 Annex B.2), no root needed. */
export const DEFAULT_IMPLEMENTATION_CLASS_UID = '2.25.263250432153125132853724910748856221014';
/** Implementation version name sent when the caller gives none (≤ 16 characters). */
export const DEFAULT_IMPLEMENTATION_VERSION_NAME = 'DICOMBRIDGE_01';

/** A presentation context to propose (PS3.8 Table 9-13). */
export interface ProposedContext {
  pcId: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/**
 * The secure transport of an association (PS3.15 Annex B.1): PEM texts. `ca` undefined = the
 * system's trusted CAs; `cert`/`key` = our client certificate, sent when the peer asks for one.
 */
export interface RequestorTls {
  ca?: string | string[];
  cert?: string;
  key?: string;
}

/**
 * `tls.connect` options for `host`: TLS 1.2–1.3 with BCP 195's suites, the peer's certificate
 * verified against `ca` and against `host` (a host name by SNI and subjectAltName DNS, an IP
 * address by subjectAltName IP: Node's checkServerIdentity; SNI carries no IP, RFC 6066 §3).
 */
export function tlsConnectOptions(host: string, material: RequestorTls): ConnectionOptions {
  return {
    ...TLS_VERSIONS,
    ciphers: TLS12_CIPHERS,
    rejectUnauthorized: true,
    ...(material.ca !== undefined ? { ca: material.ca } : {}),
    ...(material.cert !== undefined ? { cert: material.cert } : {}),
    ...(material.key !== undefined ? { key: material.key } : {}),
    ...(isIP(host) === 0 ? { servername: host } : {}),
  };
}

/** Options of {@link requestAssociation}. */
export interface RequestorOptions {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
  contexts: ProposedContext[];
  /** Our maximum P-DATA-TF length, announced and enforced on received PDUs. */
  maxPduLength: number;
  connectTimeoutMs: number;
  /** Wait for A-ASSOCIATE-AC/RJ, for A-RELEASE-RP, and ARTIM after abort. */
  artimTimeoutMs: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
  /** DICOM over TLS (PS3.15 Annex B.1); plain TCP when absent. */
  tls?: RequestorTls;
  log: Logger;
}

/** An established association seen from the requestor. */
export interface RequestorAssociation extends PDataChannel {
  readonly contexts: ReadonlyMap<number, AcceptedContext>;
  readonly peerMaxPduLength: number;
  /** Sets the receiver of P-DATA indications (DIMSE responses). */
  setHandler(handler: PDataHandler): void;
  /** A-RELEASE: resolves once the peer confirmed and the socket is closed. */
  release(): Promise<void>;
  /** Resolves when the association has ended and its socket is closed. */
  readonly closed: Promise<void>;
}

/**
 * Opens an association (A-ASSOCIATE request, PS3.8 §7.1). Calls `setNoDelay(true)` on the
 * socket. Rejects with AssociationRejectedError (with readable text from the triple),
 * AssociationAbortedError, DicomTimeoutError ('connect' or 'ARTIM'), or a DicomError with code
 * ERR_DICOM_CONNECT whose `cause` is the socket error (e.g. ECONNREFUSED). With `tls`, a failed
 * handshake or a TLS alert rejects with DicomTlsError (its `tlsCode` is Node's/OpenSSL's code)
 * and a handshake that never finishes with DicomTimeoutError('TLS').
 */
export async function requestAssociation(options: RequestorOptions): Promise<RequestorAssociation> {
  const rq: AAssociateRqPdu = {
    type: 'A-ASSOCIATE-RQ',
    protocolVersion: 1,
    calledAeTitle: options.calledAeTitle,
    callingAeTitle: options.callingAeTitle,
    applicationContextName: DICOM_APPLICATION_CONTEXT,
    presentationContexts: options.contexts.map((c) => ({
      pcId: c.pcId,
      abstractSyntax: c.abstractSyntax,
      transferSyntaxes: [...c.transferSyntaxes],
    })),
    userInformation: {
      maxPduLength: options.maxPduLength,
      implementationClassUid: options.implementationClassUid ?? DEFAULT_IMPLEMENTATION_CLASS_UID,
      implementationVersionName: options.implementationVersionName ?? DEFAULT_IMPLEMENTATION_VERSION_NAME,
    },
  };
  const assoc = new Association({
    requestor: true,
    log: options.log,
    maxPduLength: options.maxPduLength,
    artimTimeoutMs: options.artimTimeoutMs,
  });
  await assoc.request(rq, {
    host: options.host,
    port: options.port,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.tls !== undefined ? { tls: tlsConnectOptions(options.host, options.tls) } : {}),
  });
  return assoc;
}
