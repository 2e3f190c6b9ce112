/**
 * An association the bridge opens as SCU (C-ECHO, C-STORE): the repo's requestor with a DIMSE
 * service user attached, and a record of how the peer ended it, so callers can tell "the PACS
 * aborted" from their own abort when wording a failure.
 */
import { DimseServiceUser } from '../../dicom/dimse/service-user.js';
import type { Logger } from '../../dicom/ul/logger.js';
import type { CloseReason } from '../../dicom/ul/primitives.js';
import { requestAssociation, type ProposedContext, type RequestorAssociation } from '../../dicom/ul/requestor.js';
import { loadTlsMaterial } from '../../tls/material.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../implementation.js';

/** Where the bridge connects as SCU, and as whom. */
export interface SendTarget {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
  /** DICOM over TLS (SPEC §5 `send.tls.*`); plain TCP when absent. */
  tls?: SendTls;
}

/** The `send.tls` files ('' = not set; caFile '' = the system's CAs). */
export interface SendTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** An open SCU association. */
export interface ScuSession {
  assoc: RequestorAssociation;
  user: DimseServiceUser;
  /** How the peer ended the association; null while it is up or when we aborted it. */
  peerEnded(): CloseReason | null;
  /** A-ABORT unless the peer already ended it; resolves once the socket is closed. */
  abort(): Promise<void>;
}

/**
 * Opens an association proposing `contexts`. `timeoutMs` bounds the TCP connect (and TLS
 * handshake) and the wait for the A-ASSOCIATE answer. With `target.tls` the PEM files are read
 * for every association, so a renewed certificate is used without a restart. Rejects with the
 * requestor's errors (see requestAssociation) or TlsMaterialError naming the unusable file.
 */
export async function openScuSession(
  target: SendTarget,
  contexts: ProposedContext[],
  options: { maxPduLength: number; timeoutMs: number; log: Logger },
): Promise<ScuSession> {
  const material = target.tls === undefined ? undefined : await loadTlsMaterial(target.tls);
  const assoc = await requestAssociation({
    host: target.host,
    port: target.port,
    callingAeTitle: target.callingAeTitle,
    calledAeTitle: target.calledAeTitle,
    contexts,
    maxPduLength: options.maxPduLength,
    connectTimeoutMs: options.timeoutMs,
    artimTimeoutMs: options.timeoutMs,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    log: options.log,
    ...(material !== undefined ? { tls: { ca: material.ca as string | undefined, cert: material.cert as string | undefined, key: material.key as string | undefined } } : {}),
  });
  const user = new DimseServiceUser(assoc, options.log);
  let ended: CloseReason | null = null;
  let weAborted = false;
  assoc.setHandler({
    onPData: (pdvs) => user.onPData(pdvs),
    onClose: (reason) => {
      if (!weAborted) ended = reason;
      user.onClose(reason);
    },
  });
  return {
    assoc,
    user,
    peerEnded: () => ended,
    abort: async () => {
      if (ended === null) {
        weAborted = true;
        assoc.abort();
      }
      await assoc.closed;
    },
  };
}
