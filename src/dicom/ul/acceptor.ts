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
 *
 * TLS (PS3.15 Annex B): with {@link AcceptorOptions.tls} the listener is a TLS server. The
 * handshake must end within ARTIM from the TCP accept; until then the connection counts as
 * negotiating and takes no association slot. A handshake that fails (plain DICOM on the TLS
 * port, an old TLS version, no or an untrusted client certificate) closes the connection,
 * logged with the peer and counted by reason in {@link AcceptorStats.refused}. On a plain
 * listener, a TLS ClientHello is recognised by its first byte and closed the same way.
 */
import net from 'node:net';
import tls from 'node:tls';
import { AssociationSlots } from './association-slots.js';
import { Association, SOCKET_HIGH_WATER_MARK } from './association.js';
import type { Logger } from './logger.js';
import { NegotiatingConnections } from './negotiating-connections.js';
import { rejectKey } from './reasons.js';
import {
  REJECT_CALLING_AET,
  REJECT_LOCAL_LIMIT,
  checkAssociateRq,
  negotiateAsAcceptor,
} from './negotiation.js';
import type { ContextDecision, RejectTriple } from './negotiation.js';
import type { CloseReason, PDataChannel, PDataHandler } from './primitives.js';

export type { ContextDecision } from './negotiation.js';

/** Default maximum P-DATA-TF length we announce (PS3.8 Annex D.1). */
export const DEFAULT_MAX_PDU_LENGTH = 262144;

/** Who asks for an association: what an accept policy judges (PS3.8 §9.3.2; PS3.15 Annex B). */
export interface CallingPeer {
  callingAeTitle: string;
  calledAeTitle: string;
  /** The peer's IP address (IPv4-mapped IPv6 addresses as IPv4). */
  address: string;
  /** The subject CN of the peer's verified client certificate; absent without mutual TLS. */
  commonName?: string;
}

/** Why a peer is refused: a short stable key (monitoring) and words for the log. */
export interface PeerRefusal {
  reason: string;
  text: string;
}

/** The TLS side of a listener (PS3.15 Annex B); versions and suites are the caller's (BCP 195). */
export interface AcceptorTls {
  /** Options of `tls.createServer` (cert, key, ca, minVersion, ciphers...). */
  secureContext: tls.SecureContextOptions;
  /** Mutual TLS: ask for a client certificate and refuse a connection without a trusted one. */
  requireClientCert: boolean;
}

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
  /**
   * The association limit shared with other acceptors (a plain and a TLS listener); by default
   * one of this acceptor's own with `maxAssociations`.
   */
  slots?: AssociationSlots;
  /**
   * Judges the calling peer of each complete A-ASSOCIATE-RQ: null accepts, a refusal rejects
   * with (1, 1, 3) "calling AE title not recognised" (PS3.8 Table 9-21). Absent: any peer.
   */
  acceptPeer?(peer: CallingPeer): PeerRefusal | null;
  /** Serve DICOM over TLS instead of plain TCP. */
  tls?: AcceptorTls;
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
  /**
   * Connections and associations refused by the security rules, by reason: a failed TLS
   * handshake or client certificate (e.g. `untrusted-client-certificate`, `not-tls`), or the
   * accept policy's reason (e.g. `unknown-calling-ae-title`). Optional for older readers.
   */
  refused?: Record<string, number>;
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
  /** True when this acceptor serves TLS. */
  readonly secure: boolean;
  /**
   * TLS only: the certificate, key and trusted CAs for the next connections (a renewal);
   * connections already open keep theirs. No-op on a plain acceptor.
   */
  setSecureContext(secureContext: tls.SecureContextOptions): void;
}

/** The first byte of a TLS record carrying a handshake (RFC 8446 §5.1): a ClientHello on a plain port. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** IPv4-mapped IPv6 addresses (a dual-stack listener) as plain IPv4. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A TLS handshake error as a refusal reason and words (OpenSSL error codes as Node names them). */
export function tlsHandshakeRefusal(err: NodeJS.ErrnoException): PeerRefusal {
  switch (err.code) {
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_RECORD_LENGTH_MISMATCH':
    case 'ERR_SSL_UNKNOWN_PROTOCOL':
      return { reason: 'not-tls', text: 'the peer does not speak TLS (plain DICOM on the TLS port?)' };
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
    case 'ERR_SSL_VERSION_TOO_LOW':
      return { reason: 'tls-version-not-accepted', text: 'TLS version not accepted (TLS 1.2 or 1.3 only)' };
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return { reason: 'tls-cipher-not-accepted', text: 'no cipher suite in common (BCP 195 suites only)' };
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return { reason: 'no-client-certificate', text: 'the peer sent no client certificate' };
    default:
      return { reason: 'tls-handshake-failed', text: `TLS handshake failed (${err.code ?? err.message})` };
  }
}

/** A verified-or-not client certificate as a refusal, or null when it is trusted. */
function clientCertificateRefusal(socket: tls.TLSSocket): PeerRefusal | null {
  if (socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return { reason: 'no-client-certificate', text: 'the peer sent no client certificate' };
  const code = String(socket.authorizationError ?? 'unknown');
  if (code === 'CERT_HAS_EXPIRED') return { reason: 'expired-client-certificate', text: `the client certificate "${cert.subject?.CN ?? ''}" has expired` };
  if (code === 'CERT_NOT_YET_VALID') return { reason: 'expired-client-certificate', text: `the client certificate "${cert.subject?.CN ?? ''}" is not yet valid` };
  return { reason: 'untrusted-client-certificate', text: `the client certificate "${cert.subject?.CN ?? ''}" is not trusted (${code})` };
}

/** A TCP connection whose TLS handshake is under way: negotiating, bounded by ARTIM. */
interface Handshake {
  readonly peer: string;
  shutdown(): void;
}

/**
 * Creates an association acceptor (PS3.8 §9.2, acceptor side of Table 9-10).
 */
export function createAcceptor(options: AcceptorOptions): Acceptor {
  const log = options.log;
  const maxPduLength = options.maxPduLength > 0 ? options.maxPduLength : DEFAULT_MAX_PDU_LENGTH;
  const slots = options.slots ?? new AssociationSlots(options.maxAssociations);
  const live = new Set<Association>();
  const accepted = new Set<Association>();
  /** TLS only: connections whose handshake has not ended, by "address|port". */
  const handshakes = new Map<string, Handshake>();
  /** What ends the bookkeeping of each handshake (timer, counts). */
  const handshakeEnds = new WeakMap<Handshake, () => void>();
  const negotiating = new NegotiatingConnections<Association | Handshake>(options.maxNegotiatingConnections ?? defaultMaxNegotiating(options.maxAssociations));
  // Every socket is bounded: negotiating ones by their cap, established ones by maxAssociations,
  // and those closing (after an RJ or an abort, at most ARTIM each) by this overall ceiling.
  const maxConnections = options.maxAssociations + 2 * negotiating.max;
  let timeouts: AcceptorTimeouts = { artimTimeoutMs: options.artimTimeoutMs, idleTimeoutMs: options.idleTimeoutMs };
  let closing = false;
  const stats: AcceptorStats = { accepted: 0, rejected: {}, ended: { released: 0, aborted: 0, closed: 0 }, connectionsRefused: 0, refused: {} };
  const refusedCounts = stats.refused as Record<string, number>;
  const rejected = (reject: RejectTriple): RejectTriple => {
    const key = rejectReasonKey(reject);
    stats.rejected[key] = (stats.rejected[key] ?? 0) + 1;
    return reject;
  };
  /** Counts and logs a refusal by the security rules. */
  const refuse = (refusal: PeerRefusal, context: Record<string, unknown>): void => {
    refusedCounts[refusal.reason] = (refusedCounts[refusal.reason] ?? 0) + 1;
    log.warn({ ...context, reason: refusal.reason }, `DICOM peer refused: ${refusal.text}`);
  };

  /** Closes a connection that has sent no complete A-ASSOCIATE-RQ, for a newer one. */
  const drop = (oldest: Association | Handshake): void => {
    log.warn({ assoc: (oldest as Partial<Association>).id, peer: oldest.peer, negotiating: negotiating.size }, 'too many connections without an A-ASSOCIATE-RQ: closing the oldest');
    stats.connectionsRefused += 1;
    oldest.shutdown();
  };

  /** Room for one more connection (dropping the oldest negotiating one if need be); false to refuse it. */
  const admit = (socket: net.Socket): boolean => {
    const open = live.size + handshakes.size;
    if (open >= maxConnections) {
      const oldest = negotiating.takeOldest();
      if (oldest !== undefined) drop(oldest);
    }
    if (closing || live.size + handshakes.size >= maxConnections) {
      log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, connections: live.size + handshakes.size }, 'connection refused: too many connections');
      stats.connectionsRefused += 1;
      socket.destroy();
      return false;
    }
    return true;
  };

  /** Runs the association protocol on a connection (plain, or TLS after the handshake). */
  const associate = (socket: net.Socket, commonName: string | undefined): Association => {
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
          if (options.acceptPeer !== undefined) {
            const address = plainAddress(socket.remoteAddress);
            const refusal = options.acceptPeer({ callingAeTitle: rq.callingAeTitle.trim(), calledAeTitle: rq.calledAeTitle.trim(), address, commonName });
            if (refusal !== null) {
              refuse(refusal, { peer: assoc.peer, callingAet: rq.callingAeTitle.trim(), calledAet: rq.calledAeTitle.trim(), commonName });
              return rejected(REJECT_CALLING_AET);
            }
          }
          if (closing || slots.full) return rejected(REJECT_LOCAL_LIMIT);
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
          slots.take();
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
        if (accepted.delete(ended)) slots.release();
        negotiating.delete(ended);
      },
    });
    live.add(assoc);
    const oldest = negotiating.add(assoc);
    if (oldest !== undefined) drop(oldest);
    assoc.accept(socket);
    return assoc;
  };

  const onPlainConnection = (socket: net.Socket): void => {
    if (!admit(socket)) return;
    const assoc = associate(socket, undefined);
    // A TLS ClientHello is no PDU: say so (the reader would only call it unrecognised) and close.
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] !== TLS_HANDSHAKE_RECORD) return;
      refuse({ reason: 'tls-on-plain-port', text: 'a TLS handshake on the plain DICOM port (use the TLS port)' }, { peer: assoc.peer });
      assoc.shutdown();
    });
  };

  const tlsOptions = options.tls;
  const server: net.Server = tlsOptions === undefined
    ? net.createServer({ noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK }, onPlainConnection)
    : tls.createServer({
      ...tlsOptions.secureContext,
      noDelay: true,
      highWaterMark: SOCKET_HIGH_WATER_MARK,
      requestCert: tlsOptions.requireClientCert,
      // Checked in 'secureConnection' instead, so an untrusted certificate is logged and counted.
      rejectUnauthorized: false,
      // Our own timer (ARTIM) bounds the handshake; this is only Node's backstop.
      handshakeTimeout: 600_000,
    } as tls.TlsOptions);

  if (tlsOptions !== undefined) {
    const tlsServer = server as tls.Server;
    const keyOf = (socket: net.Socket): string => `${socket.remoteAddress}|${socket.remotePort}`;
    // The TLS server wraps each TCP connection first; this listener then bounds its handshake.
    tlsServer.on('connection', (raw: net.Socket) => {
      if (!admit(raw)) return;
      const key = keyOf(raw);
      const peer = `${raw.remoteAddress}:${raw.remotePort}`;
      const artimMs = timeouts.artimTimeoutMs;
      const handshake: Handshake = { peer, shutdown: () => end() };
      const done = (): void => {
        clearTimeout(timer);
        if (handshakes.get(key) === handshake) handshakes.delete(key);
        negotiating.delete(handshake);
      };
      // Closed by us (ARTIM, the cap, close()): no handshake error is reported for it after.
      const end = (): void => {
        done();
        raw.destroy();
      };
      const timer = setTimeout(() => {
        refuse({ reason: 'tls-handshake-timeout', text: `no complete TLS handshake within ${artimMs} ms of connecting (ARTIM)` }, { peer });
        end();
      }, artimMs);
      handshakeEnds.set(handshake, done);
      handshakes.set(key, handshake);
      const oldest = negotiating.add(handshake);
      if (oldest !== undefined) drop(oldest);
      raw.once('close', done);
    });
    tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      const handshake = handshakes.get(keyOf(socket));
      if (handshake === undefined) return;
      handshakeEnds.get(handshake)?.();
      if (err.code === 'ECONNRESET') {
        // The peer went away mid-handshake (a port probe, a client giving up): no refusal of ours.
        log.debug({ peer: handshake.peer }, 'connection closed by the peer during the TLS handshake');
        socket.destroy();
        return;
      }
      refuse(tlsHandshakeRefusal(err), { peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message.split('\n')[0] });
      socket.destroy();
    });
    tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
      const handshake = handshakes.get(keyOf(socket));
      if (handshake !== undefined) handshakeEnds.get(handshake)?.();
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      if (handshake === undefined || closing) {
        // Dropped meanwhile (cap, ARTIM, close): nothing more to do for it.
        socket.destroy();
        return;
      }
      let commonName: string | undefined;
      if (tlsOptions.requireClientCert) {
        const refusal = clientCertificateRefusal(socket);
        if (refusal !== null) {
          refuse(refusal, { peer, protocol: socket.getProtocol() });
          socket.destroy();
          return;
        }
        const cn = socket.getPeerCertificate().subject?.CN;
        commonName = Array.isArray(cn) ? cn[0] : cn;
      }
      log.debug({ peer, protocol: socket.getProtocol(), cipher: socket.getCipher().name, commonName }, 'TLS handshake complete');
      associate(socket, commonName);
    });
  }
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
          log.info({ port: address.port, host, tls: tlsOptions !== undefined }, 'DICOM acceptor listening');
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
      for (const handshake of [...handshakes.values()]) handshake.shutdown();
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
      return { ...stats, rejected: { ...stats.rejected }, ended: { ...stats.ended }, refused: { ...refusedCounts } };
    },
    secure: tlsOptions !== undefined,
    setSecureContext(secureContext) {
      if (tlsOptions === undefined) return;
      (server as tls.Server).setSecureContext({ ...secureContext, requestCert: tlsOptions.requireClientCert, rejectUnauthorized: false } as tls.SecureContextOptions);
      log.info({}, 'TLS certificate reloaded for new connections');
    },
  };
}
