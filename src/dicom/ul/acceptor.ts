/**
 * The association acceptor: a TCP server whose every connection is an {@link Association}
 * in acceptor mode (PS3.8 §7.1, §9.2). Used by the C-ECHO/C-STORE SCP.
 *
 * Why hand-written: no npm library streams the DICOM upper layer both ways without
 * re-encoding (dcmjs-dimse decodes and re-encodes every dataset and ignores backpressure).
 *
 * A malformed PDU or protocol violation ends only that association; the server keeps serving.
 * Associations are bounded (A-ASSOCIATE-RJ "local limit exceeded" beyond the limit), and so
 * are raw connections that have not associated yet.
 */
import net from 'node:net';
import { Association, SOCKET_HIGH_WATER_MARK } from './association.js';
import type { Logger } from './logger.js';
import { REJECT_LOCAL_LIMIT, checkAssociateRq, negotiateAsAcceptor } from './negotiation.js';
import type { ContextDecision } from './negotiation.js';
import type { PDataChannel, PDataHandler } from './primitives.js';

export type { ContextDecision } from './negotiation.js';

/** Default maximum P-DATA-TF length we announce (PS3.8 Annex D.1). */
export const DEFAULT_MAX_PDU_LENGTH = 262144;

/** Options of {@link createAcceptor}. */
export interface AcceptorOptions {
  /** Called AE title we answer to; null or '' = any. */
  aeTitle: string | null;
  /** Announced in A-ASSOCIATE-AC and enforced on received P-DATA-TF (default 262144). */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string;
  /** Decides each proposed presentation context (PS3.8 Table 9-18). */
  acceptContext(abstractSyntax: string, transferSyntaxes: readonly string[]): ContextDecision;
  /** Beyond it: A-ASSOCIATE-RJ (2, 3, 2) "local limit exceeded". */
  maxAssociations: number;
  /** ARTIM: waiting for the RQ after connect, and for the close after release/abort. */
  artimTimeoutMs: number;
  /** Established but silent for this long → abort; 0 = never. */
  idleTimeoutMs: number;
  /** Gives the handler of an accepted association's P-DATA indications. */
  onAssociation(channel: PDataChannel): PDataHandler;
  log: Logger;
}

/** A listening acceptor. */
export interface Acceptor {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<{ port: number }>;
  /** Stops listening, aborts live associations, resolves when every socket is closed. */
  close(): Promise<void>;
  /** Associations accepted and not yet ended. */
  readonly activeAssociations: number;
}

/**
 * Creates an association acceptor (PS3.8 §9.2, acceptor side of Table 9-10).
 */
export function createAcceptor(options: AcceptorOptions): Acceptor {
  const log = options.log;
  const maxPduLength = options.maxPduLength > 0 ? options.maxPduLength : DEFAULT_MAX_PDU_LENGTH;
  const live = new Set<Association>();
  const accepted = new Set<Association>();
  // Raw connections are bounded too: each one that never associates costs a socket until ARTIM.
  const maxConnections = options.maxAssociations * 2 + 8;
  let closing = false;

  const server = net.createServer({ noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK }, (socket) => {
    if (closing || live.size >= maxConnections) {
      log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, connections: live.size }, 'connection refused: too many connections');
      socket.destroy();
      return;
    }
    const assoc: Association = new Association({
      requestor: false,
      log,
      maxPduLength,
      artimTimeoutMs: options.artimTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      acceptor: {
        checkAssociateRq: (rq) => {
          if (accepted.size >= options.maxAssociations) return REJECT_LOCAL_LIMIT;
          return checkAssociateRq(rq, options);
        },
        negotiate: (rq) => negotiateAsAcceptor(rq, { ...options, maxPduLength }),
        onEstablished: (channel) => {
          accepted.add(channel);
          return options.onAssociation(channel);
        },
      },
      onEnded: (ended) => {
        live.delete(ended);
        accepted.delete(ended);
      },
    });
    live.add(assoc);
    assoc.accept(socket);
  });
  server.on('error', (err) => log.error({ err }, 'acceptor server error'));

  return {
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address() as net.AddressInfo;
          log.info({ port: address.port, host }, 'DICOM acceptor listening');
          resolve({ port: address.port });
        });
      });
    },
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      });
      const ends = [...live].map((assoc) => assoc.closed);
      for (const assoc of [...live]) assoc.shutdown();
      await Promise.all([stopped, ...ends]);
    },
    get activeAssociations() {
      return accepted.size;
    },
  };
}
