/**
 * The association acceptor: a TCP server whose every connection is an {@link Association}
 * in acceptor mode (PS3.8 §7.1, §9.2). Used by the C-ECHO/C-STORE SCP.
 *
 * A malformed PDU or protocol violation ends only that association; the server keeps serving.
 * Associations are bounded (A-ASSOCIATE-RJ "local limit exceeded" beyond the limit). Connections
 * that have not sent a complete A-ASSOCIATE-RQ have a separate, larger cap and never take an
 * association slot; at that cap the oldest is dropped (see negotiating-connections.ts), and
 * each one is closed when ARTIM expires (PS3.8 §9.1.5).
 *
 * Closing can drain: the listener stops at once, associations already established may finish
 * on their own (their peer releases) until a deadline, and whatever is still open then is
 * ended with an A-ABORT PDU (PS3.8 §7.3.1, A-ABORT service-user initiated). An A-ASSOCIATE-RQ
 * arriving while closing is rejected transiently ("local limit exceeded"), so the peer retries
 * later, e.g. against the listener that replaced this one.
 */
import net from 'node:net';
import { Association, SOCKET_HIGH_WATER_MARK } from './association.js';
import type { Logger } from './logger.js';
import { NegotiatingConnections } from './negotiating-connections.js';
import { rejectKey } from './reasons.js';
import {
  REJECT_LOCAL_LIMIT,
  checkAssociateRq,
  negotiateAsAcceptor,
} from './negotiation.js';
import type { ContextDecision, RejectTriple } from './negotiation.js';
import type { CloseReason, PDataChannel, PDataHandler } from './primitives.js';

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
  /**
   * Connections still negotiating (no complete A-ASSOCIATE-RQ yet) at once; beyond it the
   * oldest is dropped. Default {@link defaultMaxNegotiating}.
   */
  maxNegotiatingConnections?: number;
  /** ARTIM: from connect to a complete A-ASSOCIATE-RQ, and for the close after release/abort. */
  artimTimeoutMs: number;
  /** Established with no bytes arriving for this long → A-ABORT; 0 = never. */
  idleTimeoutMs: number;
  /** Gives the handler of an accepted association's P-DATA indications. */
  onAssociation(channel: PDataChannel): PDataHandler;
  log: Logger;
}

/**
 * Why an A-ASSOCIATE-RJ was sent, as a short stable key (PS3.8 §9.3.4, Table 9-21), e.g.
 * `local-limit-exceeded` (2, 3, 2) or `called-ae-title-not-recognised` (1, 1, 7); see
 * {@link rejectKey}.
 */
export type RejectReasonKey = string;

/** The key of a reject triple; see {@link RejectReasonKey}. */
export function rejectReasonKey(reject: RejectTriple): RejectReasonKey {
  return rejectKey(reject.result, reject.source, reject.reason);
}

/**
 * Cumulative counts of one acceptor since it was created (monitoring). PS3.8 §9.3.3 (AC),
 * §9.3.4 (RJ), §9.3.6 (A-RELEASE), §9.3.8 (A-ABORT).
 */
export interface AcceptorStats {
  /** Associations accepted (A-ASSOCIATE-AC sent). */
  accepted: number;
  /** A-ASSOCIATE-RJ sent, by {@link RejectReasonKey}. */
  rejected: Record<RejectReasonKey, number>;
  /**
   * How accepted associations ended: `released` (A-RELEASE), `aborted` (A-ABORT by either
   * side, including ours at a timeout, a protocol error or a drain deadline), `closed` (the
   * connection went away without either).
   */
  ended: Record<CloseReason, number>;
  /**
   * TCP connections closed before any A-ASSOCIATE-RQ because too many were open (no
   * A-ASSOCIATE-RJ possible): the newcomer refused, or the oldest negotiating one dropped.
   */
  connectionsRefused: number;
}

/** The timers of {@link AcceptorOptions}, changeable for new connections. */
export interface AcceptorTimeouts {
  artimTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * The default cap of negotiating connections: well above the association limit, so that a
 * burst of peers connecting at once is not cut, yet bounded.
 */
export function defaultMaxNegotiating(maxAssociations: number): number {
  return 2 * maxAssociations + 32;
}

/** Options of {@link Acceptor.close}. */
export interface AcceptorCloseOptions {
  /** How long live associations may still run before they are aborted (default 0: at once). */
  drainMs?: number;
}

/** A listening acceptor. */
export interface Acceptor {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<{ port: number }>;
  /**
   * Stops accepting connections now (the port is free to be bound again at once); associations
   * already open carry on, and an A-ASSOCIATE-RQ on a connection not yet associated is
   * rejected transiently. Idempotent. PS3.8 §9.2.
   */
  stopListening(): void;
  /**
   * Stops listening and ends the live associations, resolving when every socket is closed.
   * With `drainMs` > 0, associations may end on their own (A-RELEASE) for up to that long;
   * those still open at the deadline get an A-ABORT PDU (PS3.8 §9.3.8, source 0 = service
   * user). Without it (default 0) they are aborted at once. A later call with a shorter drain
   * (e.g. 0 at shutdown) cuts an earlier drain short.
   */
  close(options?: AcceptorCloseOptions): Promise<void>;
  /** Sets the timers for connections accepted from now on; open ones keep theirs. */
  setTimeouts(timeouts: AcceptorTimeouts): void;
  /** Associations accepted and not yet ended. */
  readonly activeAssociations: number;
  /** TCP connections that have not sent a complete A-ASSOCIATE-RQ yet. */
  readonly negotiatingConnections: number;
  /** A copy of the counts so far (they keep counting after close for associations still ending). */
  readonly stats: AcceptorStats;
}

/**
 * Creates an association acceptor (PS3.8 §9.2, acceptor side of Table 9-10).
 */
export function createAcceptor(options: AcceptorOptions): Acceptor {
  const log = options.log;
  const maxPduLength = options.maxPduLength > 0 ? options.maxPduLength : DEFAULT_MAX_PDU_LENGTH;
  const live = new Set<Association>();
  const accepted = new Set<Association>();
  const negotiating = new NegotiatingConnections<Association>(options.maxNegotiatingConnections ?? defaultMaxNegotiating(options.maxAssociations));
  // Every socket is bounded: negotiating ones by their cap, established ones by maxAssociations,
  // and those closing (after an RJ or an abort, at most ARTIM each) by this overall ceiling.
  const maxConnections = options.maxAssociations + 2 * negotiating.max;
  let timeouts: AcceptorTimeouts = { artimTimeoutMs: options.artimTimeoutMs, idleTimeoutMs: options.idleTimeoutMs };
  let closing = false;
  const stats: AcceptorStats = { accepted: 0, rejected: {}, ended: { released: 0, aborted: 0, closed: 0 }, connectionsRefused: 0 };
  const rejected = (reject: RejectTriple): RejectTriple => {
    const key = rejectReasonKey(reject);
    stats.rejected[key] = (stats.rejected[key] ?? 0) + 1;
    return reject;
  };

  /** Closes a connection that has sent no complete A-ASSOCIATE-RQ, for a newer one. */
  const drop = (oldest: Association): void => {
    log.warn({ assoc: oldest.id, peer: oldest.peer, negotiating: negotiating.size }, 'too many connections without an A-ASSOCIATE-RQ: closing the oldest');
    stats.connectionsRefused += 1;
    oldest.shutdown();
  };

  const server = net.createServer({ noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK }, (socket) => {
    if (live.size >= maxConnections) {
      const oldest = negotiating.takeOldest();
      if (oldest !== undefined) drop(oldest);
    }
    if (closing || live.size >= maxConnections) {
      log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, connections: live.size }, 'connection refused: too many connections');
      stats.connectionsRefused += 1;
      socket.destroy();
      return;
    }
    const assoc: Association = new Association({
      requestor: false,
      log,
      maxPduLength,
      artimTimeoutMs: timeouts.artimTimeoutMs,
      idleTimeoutMs: timeouts.idleTimeoutMs,
      acceptor: {
        checkAssociateRq: (rq) => {
          // The A-ASSOCIATE-RQ is complete: from here the association limit applies.
          negotiating.delete(assoc);
          if (closing || accepted.size >= options.maxAssociations) return rejected(REJECT_LOCAL_LIMIT);
          const reject = checkAssociateRq(rq, options);
          return reject === null ? null : rejected(reject);
        },
        negotiate: (rq) => {
          const outcome = negotiateAsAcceptor(rq, { ...options, maxPduLength });
          if (!outcome.accepted) rejected(outcome.reject);
          return outcome;
        },
        onEstablished: (channel) => {
          accepted.add(channel);
          stats.accepted += 1;
          const handler = options.onAssociation(channel);
          // Counts how the association ends; the service user's handler is told as before.
          return {
            onPData: (pdvs) => handler.onPData(pdvs),
            onClose: (reason) => {
              stats.ended[reason] += 1;
              handler.onClose(reason);
            },
          };
        },
      },
      onEnded: (ended) => {
        live.delete(ended);
        accepted.delete(ended);
        negotiating.delete(ended);
      },
    });
    live.add(assoc);
    const oldest = negotiating.add(assoc);
    if (oldest !== undefined) drop(oldest);
    assoc.accept(socket);
  });
  server.on('error', (err) => log.error({ err }, 'acceptor server error'));

  /** Resolves once the server is closed and every connection has ended. */
  let serverClosed: Promise<void> | undefined;
  function stopListening(): Promise<void> {
    closing = true;
    serverClosed ??= new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
    });
    return serverClosed;
  }

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
    stopListening() {
      void stopListening();
    },
    async close(closeOptions = {}) {
      const drainMs = closeOptions.drainMs ?? 0;
      const stopped = stopListening();
      const remaining = [...live];
      if (drainMs > 0 && remaining.length > 0) {
        log.info({ associations: remaining.length, drainMs }, 'DICOM acceptor closing: letting open associations finish');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(remaining.map((assoc) => assoc.closed)),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, drainMs);
          }),
        ]);
        clearTimeout(timer);
      }
      const unfinished = [...live];
      if (unfinished.length > 0 && drainMs > 0) log.warn({ associations: unfinished.length }, 'aborting associations still open after the drain time');
      for (const assoc of unfinished) assoc.shutdown();
      await Promise.all([stopped, ...unfinished.map((assoc) => assoc.closed)]);
    },
    setTimeouts(next) {
      timeouts = { ...next };
    },
    get activeAssociations() {
      return accepted.size;
    },
    get negotiatingConnections() {
      return negotiating.size;
    },
    get stats() {
      return { ...stats, rejected: { ...stats.rejected }, ended: { ...stats.ended } };
    },
  };
}
