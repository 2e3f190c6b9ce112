/**
 * One DICOM association over one TCP connection: drives the PS3.8 state machine (fsm.ts) with
 * the socket, PduReader and PduWriter, on either side (PS3.8 §9.2, §7). It is the
 * `PDataChannel` the DIMSE layer uses.
 *
 * Rules kept here: protocol faults become state machine events, never escaping exceptions;
 * the state machine's io never calls user code re-entrantly (indications that need an answer
 * are handled after `dispatch` returns); every timer is stopped and the socket destroyed when
 * the association ends; every promise is awaited or has a handler.
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  AssociationAbortedError,
  AssociationRejectedError,
  DicomError,
  DicomTimeoutError,
  DicomTlsError,
  ERR_CONNECT,
  ERR_NOT_ESTABLISHED,
} from '../errors.js';
import type { PduDecodeError } from '../errors.js';
import { StateMachine, TRANSITIONS } from './fsm.js';
import type { Event, EventArgs, EventPayloads, FsmIo, IndicateArgs, RejectParameters, SendPduArgs, State } from './fsm.js';
import type { Logger } from './logger.js';
import type { AAssociateRqPdu, Pdu } from './pdu.js';
import { pDataTfBodyLength } from './pdu.js';
import { PduReader } from './pdu-reader.js';
import { PduWriter } from './pdu-writer.js';
import { readAssociateAc } from './negotiation.js';
import { abortText, rejectText } from './reasons.js';
import type { AcceptorOutcome } from './negotiation.js';
import type { AcceptedContext, CloseReason, PDataChannel, PDataHandler, Pdv } from './primitives.js';
import { Timer } from './timers.js';

/**
 * Bytes a socket may hold before write() asks the sender to wait. Node's 16 KiB default is one
 * PDU at the usual 16 KiB maximum length, so every PDU would wait for 'drain' (an event-loop
 * round trip each); 1 MiB lets a dataset flow while still bounding memory per association.
 */
export const SOCKET_HIGH_WATER_MARK = 1 << 20;

/** Re-exported for existing importers; the codes live in errors.ts. */

/** States in which P-DATA may be sent: Sta6 (DT-1) and Sta8 (AR-7). PS3.8 Table 9-10. */
const CAN_SEND_PDATA: ReadonlySet<State> = new Set<State>(['Sta6', 'Sta8']);

let nextId = 1;

/** A short association id for log lines, e.g. "A17". */
export function nextAssociationId(): string {
  return `A${nextId++}`;
}

/** The acceptor side's decisions, supplied by acceptor.ts. */
export interface AcceptorHooks {
  /** AE-6: association-level checks; null to go on. */
  checkAssociateRq(rq: AAssociateRqPdu): RejectParameters | null;
  /** The A-ASSOCIATE response (Evt7 or Evt8). */
  negotiate(rq: AAssociateRqPdu): AcceptorOutcome;
  /** Called once the AC is sent; returns the handler for P-DATA indications. */
  onEstablished(assoc: Association): PDataHandler;
}

/** Options of {@link Association}. */
export interface AssociationOptions {
  /** True on the side that sends A-ASSOCIATE-RQ. */
  requestor: boolean;
  log: Logger;
  /** Our maximum P-DATA-TF length (announced, and the reader's bound). */
  maxPduLength: number;
  /** ARTIM (PS3.8 §9.1.5); on the requestor also the wait for AC and for RP. */
  artimTimeoutMs: number;
  /**
   * Established with no byte arriving for this long → A-ABORT; 0 = never. Bytes count, not
   * PDUs: a large PDU arriving slowly is progress, a stall inside one is not. While our own
   * handler holds the reader (backpressure: we paused the socket) the peer is not idle.
   */
  idleTimeoutMs?: number;
  /** Acceptor side only. */
  acceptor?: AcceptorHooks;
  /** Called once when the association has ended and its socket is closed. */
  onEnded?: (assoc: Association) => void;
}

/** Where the requestor connects. */
export interface ConnectTarget {
  host: string;
  port: number;
  /** Bounds the TCP connect and, with `tls`, the TLS handshake too. */
  connectTimeoutMs: number;
  /**
   * Secure transport (PS3.15 Annex B.1): the options of `tls.connect` (trust, our certificate,
   * versions, suites, servername). The A-ASSOCIATE-RQ goes out once the handshake is done.
   */
  tls?: tls.ConnectionOptions;
}

/**
 * An association and its state machine (PS3.8 §9.2). Acceptor: construct, then
 * {@link Association.accept} with the accepted socket. Requestor: construct, then
 * {@link Association.request}.
 */
export class Association implements PDataChannel {
  readonly id: string = nextAssociationId();
  callingAeTitle = '';
  calledAeTitle = '';
  peer = '';
  contexts: ReadonlyMap<number, AcceptedContext> = new Map();
  peerMaxPduLength = 0;

  readonly #options: AssociationOptions;
  readonly #fsm: StateMachine;
  #log: Logger;
  #socket: net.Socket | null = null;
  #reader: PduReader | null = null;
  #writer: PduWriter | null = null;
  #handler: PDataHandler | null = null;
  #target: ConnectTarget | null = null;
  #proposed: AAssociateRqPdu | null = null;

  readonly #artim = new Timer();
  readonly #idle = new Timer();
  /** When the last byte arrived or the idle timer was armed (performance.now(), ms). */
  #lastProgressMs = 0;
  /** Requestor's timers: connect, wait for AC, wait for RP. */
  readonly #wait = new Timer();
  readonly #linger = new Timer();

  /** Set by indicate() during dispatch; run after dispatch returns (no re-entrancy into user code). */
  #followUp: (() => Promise<void> | void) | null = null;
  #lastSend: Promise<void> | null = null;
  readonly #sends = new Set<Promise<void>>();
  #handlerBusy = false;
  #established = false;
  #abortRequested = false;
  #endReason: CloseReason | null = null;
  /** Why the association failed, for the requestor's promises. */
  #error: Error | null = null;
  #socketError: Error | null = null;
  /** Requestor with TLS: the TCP connection is up (a later failure before Sta5 is the handshake's). */
  #tcpConnected = false;
  /** Set while handling Evt17, so its A-P-ABORT indication counts as 'closed'. */
  #transportClosing = false;
  #ended = false;

  #establish: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #release: { resolve: () => void; reject: (e: Error) => void } | null = null;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: AssociationOptions) {
    if (!(options.maxPduLength > 0)) throw new RangeError(`maxPduLength must be positive, got ${options.maxPduLength}`);
    this.#options = options;
    this.#log = options.log.child({ assoc: this.id });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#fsm = new StateMachine(this.#io(), {
      requestor: options.requestor,
      onTransition: (t) => this.#log.debug(t, `${t.from} ${t.event} ${t.action} → ${t.to}`),
    });
  }

  /** The current PS3.8 state (Sta1–Sta13). */
  get state(): State {
    return this.#fsm.state;
  }

  /** True from the A-ASSOCIATE-AC until the association ends. */
  get established(): boolean {
    return this.#established && !this.#ended;
  }

  /** True once an A-ABORT was requested here: P-DATA already handed on is no longer acted upon. */
  get aborted(): boolean {
    return this.#abortRequested;
  }

  /** Resolves when the association has ended and its socket is closed. Never rejects. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Sets the receiver of P-DATA indications (requestor side; the acceptor gets it from onEstablished). */
  setHandler(handler: PDataHandler): void {
    this.#handler = handler;
  }

  /** Acceptor: takes over an accepted socket (Evt5, transport connection indication). */
  accept(socket: net.Socket): void {
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.#log = this.#log.child({ peer: this.peer });
    this.#attach(socket);
    this.#fire('Evt5');
  }

  /**
   * Requestor: A-ASSOCIATE request (Evt1): connects, sends the RQ and resolves on the AC.
   * Rejects with AssociationRejectedError, AssociationAbortedError, DicomTimeoutError or a
   * DicomError ERR_DICOM_CONNECT whose cause is the socket error; the socket is closed first.
   */
  request(rq: AAssociateRqPdu, target: ConnectTarget): Promise<void> {
    this.#target = target;
    this.#proposed = rq;
    this.callingAeTitle = rq.callingAeTitle;
    this.calledAeTitle = rq.calledAeTitle;
    this.peer = `${target.host}:${target.port}`;
    this.#log = this.#log.child({ peer: this.peer, callingAet: rq.callingAeTitle, calledAet: rq.calledAeTitle });
    return new Promise<void>((resolve, reject) => {
      this.#establish = { resolve, reject };
      this.#fire('Evt1', rq);
    });
  }

  /** P-DATA request (Evt9). See {@link PDataChannel.sendPData}. */
  sendPData(pdvs: Pdv[]): Promise<void> {
    if (this.#ended || !CAN_SEND_PDATA.has(this.#fsm.state)) {
      return Promise.reject(new DicomError(ERR_NOT_ESTABLISHED, `association ${this.id} is not established (${this.#fsm.state})`));
    }
    for (const pdv of pdvs) {
      if (!this.contexts.has(pdv.pcId)) {
        return Promise.reject(new RangeError(`presentation context ${pdv.pcId} was not accepted`));
      }
    }
    const length = pDataTfBodyLength(pdvs);
    if (this.peerMaxPduLength > 0 && length > this.peerMaxPduLength) {
      return Promise.reject(new RangeError(`P-DATA-TF of ${length} bytes exceeds the peer's maximum of ${this.peerMaxPduLength}`));
    }
    this.#lastSend = null;
    this.#fire('Evt9', pdvs);
    const sent = this.#lastSend ?? Promise.reject(new DicomError(ERR_NOT_ESTABLISHED, 'P-DATA-TF was not sent'));
    this.#lastSend = null;
    return sent;
  }

  /** A-ABORT request (Evt15), service-user source. A no-op once the association is ending. */
  abort(): void {
    this.#abortWith({ source: 0, reason: 0 }, 'aborted by the local user');
  }

  /**
   * A-RELEASE request (Evt11). Resolves once the peer answered A-RELEASE-RP and the socket is
   * closed; rejects with AssociationAbortedError or DicomTimeoutError (no RP within ARTIM).
   */
  release(): Promise<void> {
    if (this.#ended || this.#fsm.state !== 'Sta6') {
      return Promise.reject(new DicomError(ERR_NOT_ESTABLISHED, `association ${this.id} cannot be released in ${this.#fsm.state}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.#release = { resolve, reject };
      this.#wait.start(this.#options.artimTimeoutMs, () => {
        this.#error = new DicomTimeoutError('ARTIM', `no A-RELEASE-RP within ${this.#options.artimTimeoutMs} ms`);
        this.#abortWith({ source: 0, reason: 0 }, 'release timed out');
      });
      this.#fire('Evt11');
    });
  }

  /**
   * Ends the association now, for server shutdown: A-ABORT if one may be sent, then closes the
   * socket without waiting for the peer.
   */
  shutdown(): void {
    this.abort();
    this.#closeSocket(true);
  }

  // ----- internals ---------------------------------------------------------------------------

  #abortWith(params: { source: number; reason: number }, why: string): void {
    if (this.#ended || TRANSITIONS[this.#fsm.state].Evt15 === undefined) {
      if (this.#fsm.state === 'Sta2') {
        this.#log.info({ why }, 'closing before any A-ASSOCIATE-RQ');
        this.#closeSocket(true);
      }
      return;
    }
    this.#log.warn({ why }, 'aborting the association');
    this.#abortRequested = true;
    this.#endReason ??= 'aborted';
    this.#fire('Evt15', params);
  }

  #attach(socket: net.Socket): void {
    this.#socket = socket;
    socket.setNoDelay(true);
    this.#writer = new PduWriter(socket);
    const reader = new PduReader({
      maxPDataTfLength: this.#options.maxPduLength,
      onPdu: (pdu) => this.#onPdu(pdu),
      onError: (error, reason) => this.#onReaderError(error, reason),
    });
    this.#reader = reader;
    socket.pipe(reader);
    socket.on('data', () => {
      this.#lastProgressMs = performance.now();
    });
    socket.on('error', (err) => {
      this.#socketError ??= err;
      this.#log.debug({ err: err.message }, 'socket error');
    });
    socket.on('close', () => this.#onSocketClose());
  }

  /** Dispatches if Table 9-10 has an entry; else logs (e.g. a late event in Sta1). */
  #fire<E extends Event>(event: E, ...args: EventArgs<EventPayloads, E>): void {
    if (TRANSITIONS[this.#fsm.state][event] === undefined) {
      this.#log.debug({ event, state: this.#fsm.state }, 'event ignored: no transition');
      return;
    }
    try {
      this.#fsm.dispatch(event, ...args);
    } catch (err) {
      // A programmer error in the machine or its io: end this association only.
      this.#log.error({ err, event, state: this.#fsm.state }, 'state machine failure; closing the connection');
      this.#error ??= err instanceof Error ? err : new Error(String(err));
      // Without a socket no 'close' will come to end the association, so end it here.
      if (this.#socket === null) this.#finish();
      else this.#closeSocket(true);
    }
  }

  #onPdu(pdu: Pdu): Promise<void> | void {
    if (this.#ended) return;
    this.#log.debug({ pdu: pdu.type }, 'PDU received');
    this.#followUp = null;
    this.#firePdu(pdu);
    return this.#takeFollowUp()?.();
  }

  /** The state machine event for each received PDU. PS3.8 §9.2.3, Table 9-10. */
  #firePdu(pdu: Pdu): void {
    switch (pdu.type) {
      case 'A-ASSOCIATE-RQ':
        return this.#fire('Evt6', pdu);
      case 'A-ASSOCIATE-AC':
        return this.#fire('Evt3', pdu);
      case 'A-ASSOCIATE-RJ':
        return this.#fire('Evt4', pdu);
      case 'P-DATA-TF':
        return this.#fire('Evt10', pdu);
      case 'A-RELEASE-RQ':
        return this.#fire('Evt12', pdu);
      case 'A-RELEASE-RP':
        return this.#fire('Evt13', pdu);
      case 'A-ABORT':
        return this.#fire('Evt16', pdu);
    }
  }

  /** The follow-up an indication left during dispatch, once. */
  #takeFollowUp(): (() => Promise<void> | void) | null {
    const followUp = this.#followUp;
    this.#followUp = null;
    return followUp;
  }

  #onReaderError(error: PduDecodeError, reason: number): void {
    this.#log.warn({ err: error.message, reason }, 'invalid PDU; aborting');
    this.#endReason ??= 'aborted';
    this.#error ??= error;
    this.#fire('Evt19', { reason });
  }

  /** Evt18. In Sta2 the peer connected but sent no complete A-ASSOCIATE-RQ in time. */
  #onArtimExpired(): void {
    if (this.#fsm.state === 'Sta2') {
      this.#log.warn({ artimTimeoutMs: this.#options.artimTimeoutMs }, `no A-ASSOCIATE-RQ within ${this.#options.artimTimeoutMs} ms of connecting (ARTIM); closing the connection`);
    }
    this.#fire('Evt18');
  }

  #onSocketClose(): void {
    this.#transportClosing = true;
    this.#fire('Evt17');
    this.#transportClosing = false;
    this.#finish();
  }

  /** The state machine's io. Every method is synchronous and never throws for socket trouble. */
  #io(): FsmIo {
    return {
      connect: () => this.#connect(),
      sendPdu: (...args) => this.#sendPdu(...args),
      closeTransport: () => this.#closeSocket(false),
      startArtim: () => this.#artim.start(this.#options.artimTimeoutMs, () => this.#onArtimExpired()),
      stopArtim: () => this.#artim.stop(),
      indicate: (...args) => this.#indicate(...args),
      checkAssociateRq: (rq) => {
        const hooks = this.#options.acceptor;
        return hooks === undefined ? null : hooks.checkAssociateRq(rq);
      },
    };
  }

  #connect(): void {
    const target = this.#target;
    if (target === null) throw new TypeError('connect without a target'); // a programmer error, caught by #fire
    // highWaterMark reaches the socket's stream options (Node ≥ 18.17) though @types/node 20 omits it.
    const where = { host: target.host, port: target.port, highWaterMark: SOCKET_HIGH_WATER_MARK };
    const socket = target.tls === undefined
      ? net.connect(where as net.NetConnectOpts)
      : tls.connect({ ...target.tls, ...where } as tls.ConnectionOptions);
    socket.once('connect', () => {
      this.#tcpConnected = true;
    });
    this.#wait.start(target.connectTimeoutMs, () => {
      this.#error = this.#tcpConnected
        ? new DicomTimeoutError('TLS', `no TLS handshake with ${this.peer} within ${target.connectTimeoutMs} ms`)
        : new DicomTimeoutError('connect', `no TCP connection to ${this.peer} within ${target.connectTimeoutMs} ms`);
      this.#fire('Evt15', { source: 0, reason: 0 });
    });
    // With TLS the association starts once the handshake is done, so a trust failure is told apart.
    socket.once(target.tls === undefined ? 'connect' : 'secureConnect', () => {
      this.#wait.start(this.#options.artimTimeoutMs, () => {
        this.#error = new DicomTimeoutError('ARTIM', `no A-ASSOCIATE response from ${this.peer} within ${this.#options.artimTimeoutMs} ms`);
        this.#abortWith({ source: 0, reason: 0 }, 'no A-ASSOCIATE response');
      });
      this.#fire('Evt2');
    });
    this.#attach(socket);
  }

  #sendPdu(...args: SendPduArgs): void {
    const writer = this.#writer;
    if (writer === null) return;
    const [kind, payload] = args;
    let sent: Promise<void>;
    switch (kind) {
      case 'P-DATA-TF':
        sent = writer.writePData(payload);
        this.#lastSend = sent;
        break;
      case 'A-ASSOCIATE-RQ':
      case 'A-ASSOCIATE-AC':
        sent = writer.writePdu(payload);
        break;
      case 'A-ASSOCIATE-RJ':
        this.#log.info({ ...payload }, rejectText(payload.result, payload.source, payload.reason));
        sent = writer.writePdu({ type: 'A-ASSOCIATE-RJ', result: payload.result, source: payload.source, reason: payload.reason });
        break;
      case 'A-ABORT':
        sent = writer.writePdu({ type: 'A-ABORT', source: payload.source, reason: payload.reason });
        break;
      case 'A-RELEASE-RQ':
      case 'A-RELEASE-RP':
        sent = writer.writePdu({ type: kind });
        break;
    }
    this.#log.debug({ pdu: kind }, 'PDU sent');
    this.#track(sent);
    // After an A-ABORT, an A-ASSOCIATE-RJ or the final A-RELEASE-RP we send nothing more
    // (Sta13), so our FIN follows the PDU at once: the peer reads the PDU, then EOF, and closes
    // without waiting. We still await its close (Evt17) or ARTIM, as Table 9-10 says; AR-9's
    // RP (release collision, Sta9) is not final.
    if (kind === 'A-ABORT' || kind === 'A-ASSOCIATE-RJ' || (kind === 'A-RELEASE-RP' && this.#fsm.state !== 'Sta9')) {
      const socket = this.#socket;
      if (socket !== null && socket.writable && !socket.connecting) socket.end();
    }
  }

  /** Keeps a send promise observed, so a failed write never becomes an unhandled rejection. */
  #track(sent: Promise<void>): void {
    this.#sends.add(sent);
    sent.then(
      () => this.#sends.delete(sent),
      (err: unknown) => {
        this.#sends.delete(sent);
        this.#log.debug({ err: err instanceof Error ? err.message : String(err) }, 'send failed');
      },
    );
  }

  #indicate(...args: IndicateArgs): void {
    const [kind, payload] = args;
    switch (kind) {
      case 'A-ASSOCIATE-indication': {
        const rq = payload;
        this.callingAeTitle = rq.callingAeTitle;
        this.calledAeTitle = rq.calledAeTitle;
        this.#log = this.#log.child({ callingAet: rq.callingAeTitle, calledAet: rq.calledAeTitle });
        this.#followUp = () => this.#answerAssociateRq(rq);
        break;
      }
      case 'A-ASSOCIATE-confirmation-accept': {
        this.#wait.stop();
        const read = readAssociateAc(this.#proposed?.presentationContexts ?? [], payload);
        this.contexts = read.contexts;
        this.peerMaxPduLength = read.peerMaxPduLength;
        this.#established = true;
        this.#log.info({ contexts: read.contexts.size, peerMaxPduLength: read.peerMaxPduLength }, 'association accepted');
        this.#establish?.resolve();
        this.#establish = null;
        break;
      }
      case 'A-ASSOCIATE-confirmation-reject': {
        this.#wait.stop();
        const rj = payload;
        this.#error = new AssociationRejectedError(rj.result, rj.source, rj.reason, rejectText(rj.result, rj.source, rj.reason));
        this.#log.info({ result: rj.result, source: rj.source, reason: rj.reason }, this.#error.message);
        break;
      }
      case 'P-DATA-indication': {
        const pdvs = payload.pdvs;
        this.#followUp = () => this.#deliver(pdvs);
        break;
      }
      case 'A-RELEASE-indication':
        this.#followUp = () => this.#answerRelease();
        break;
      case 'A-RELEASE-confirmation':
        this.#wait.stop();
        this.#endReason ??= 'released';
        break;
      case 'A-ABORT-indication': {
        const ab = payload;
        this.#endReason ??= 'aborted';
        this.#error ??= new AssociationAbortedError(ab.source, ab.reason, abortText(ab.source, ab.reason));
        this.#log.warn({ source: ab.source, reason: ab.reason }, abortText(ab.source, ab.reason));
        break;
      }
      case 'A-P-ABORT-indication': {
        const ab = payload;
        this.#endReason ??= this.#transportClosing ? 'closed' : 'aborted';
        if (this.#error === null) {
          this.#error = this.#tlsError() ?? (this.#fsm.state === 'Sta4' && this.#socketError !== null
            ? new DicomError(ERR_CONNECT, `cannot connect to ${this.peer}: ${this.#socketError.message}`, { cause: this.#socketError })
            : new AssociationAbortedError(ab.source, ab.reason, this.#transportClosing
              ? 'the connection closed under the association'
              : abortText(ab.source, ab.reason)));
        }
        break;
      }
    }
  }

  /**
   * Requestor with TLS: the socket error as a DicomTlsError when the TLS layer caused it: any
   * failure after the TCP connect and before the handshake completed, or a TLS alert later
   * (with TLS 1.3 the server checks our certificate after our handshake is done). Else null.
   */
  #tlsError(): DicomTlsError | null {
    const err = this.#socketError;
    if (this.#target?.tls === undefined || err === null || !this.#tcpConnected) return null;
    const code = (err as NodeJS.ErrnoException).code;
    const handshake = this.#fsm.state === 'Sta4';
    if (!handshake && !(typeof code === 'string' && code.startsWith('ERR_SSL_'))) return null;
    return new DicomTlsError(typeof code === 'string' ? code : 'ECONNRESET', `TLS with ${this.peer} failed: ${err.message}`, { cause: err });
  }

  /** Acceptor: the A-ASSOCIATE response, after the indication's dispatch has returned. */
  #answerAssociateRq(rq: AAssociateRqPdu): void {
    const hooks = this.#options.acceptor;
    if (hooks === undefined || this.state !== 'Sta3') return;
    let outcome: AcceptorOutcome;
    try {
      outcome = hooks.negotiate(rq);
    } catch (err) {
      this.#log.error({ err }, 'negotiation failed');
      this.#fire('Evt8', { result: 2, source: 1, reason: 1 });
      return;
    }
    if (!outcome.accepted) {
      this.#fire('Evt8', outcome.reject);
      return;
    }
    this.contexts = new Map(outcome.contexts.map((c) => [c.pcId, c]));
    this.peerMaxPduLength = rq.userInformation.maxPduLength ?? 0;
    this.#fire('Evt7', outcome.ac);
    if (this.#fsm.state === 'Sta6') this.#onAccepted(outcome.contexts.length, hooks);
  }

  /** Acceptor: the A-ASSOCIATE-AC is sent (Sta6); hand the association to its service user. */
  #onAccepted(contexts: number, hooks: AcceptorHooks): void {
    this.#established = true;
    this.#log.info({ contexts, peerMaxPduLength: this.peerMaxPduLength }, 'association accepted');
    try {
      this.#handler = hooks.onEstablished(this);
    } catch (err) {
      this.#log.error({ err }, 'onAssociation failed');
      this.abort();
      return;
    }
    this.#armIdle();
  }

  /** P-DATA indication: the handler's promise holds the reader (backpressure). */
  async #deliver(pdvs: Pdv[]): Promise<void> {
    const handler = this.#handler;
    if (handler === null) {
      this.#log.error({}, 'P-DATA received with no handler');
      this.abort();
      return;
    }
    this.#handlerBusy = true;
    this.#idle.stop();
    try {
      await handler.onPData(pdvs);
    } catch (err) {
      this.#log.error({ err }, 'P-DATA handler failed');
      this.abort();
    } finally {
      this.#handlerBusy = false;
      if (this.established) this.#armIdle();
    }
  }

  /** A-RELEASE indication: answer (Evt14) once our own sends have drained. */
  async #answerRelease(): Promise<void> {
    // The idle timer keeps running (Sta8 included): a peer that stops reading our last
    // responses must not hold the association for ever.
    await Promise.allSettled([...this.#sends]);
    const state = this.#fsm.state;
    if (state === 'Sta8' || state === 'Sta9' || state === 'Sta12') {
      this.#endReason ??= 'released';
      this.#fire('Evt14');
    }
  }

  /** (Re)starts the idle timer: from now, `idleTimeoutMs` without a byte arriving → A-ABORT. */
  #armIdle(): void {
    const idleMs = this.#options.idleTimeoutMs ?? 0;
    if (idleMs <= 0) return;
    this.#lastProgressMs = performance.now();
    this.#idle.start(idleMs, () => this.#onIdleExpired(idleMs));
  }

  /**
   * The idle timer ran out: abort if no byte arrived since it was armed, else wait for the rest
   * of the time counted from the last byte (one timer, not one per chunk).
   */
  #onIdleExpired(idleMs: number): void {
    const state = this.#fsm.state;
    // Our handler holds the reader: the socket is paused by us, so the peer cannot progress.
    // #deliver re-arms the timer when the handler is done.
    if ((state !== 'Sta6' && state !== 'Sta8') || this.#handlerBusy) return;
    const quietMs = performance.now() - this.#lastProgressMs;
    if (quietMs < idleMs) {
      this.#idle.start(Math.max(1, Math.ceil(idleMs - quietMs)), () => this.#onIdleExpired(idleMs));
      return;
    }
    this.#abortWith({ source: 2, reason: 0 }, `no data from the peer for ${idleMs} ms (idle timeout)`);
  }

  /**
   * Closes the transport. Graceful: stop reading (input is discarded, so no unread data turns
   * the close into a reset), send FIN after what is queued, and destroy if the peer has not
   * closed within ARTIM. Forced: destroy as soon as the queued bytes are flushed (or at ARTIM).
   */
  #closeSocket(force: boolean): void {
    const socket = this.#socket;
    this.#reader?.stop();
    if (socket === null || socket.destroyed) return;
    if (socket.connecting || !socket.writable) {
      socket.destroy();
      return;
    }
    if (force) socket.end(() => socket.destroy());
    else socket.end();
    // A peer that neither reads nor closes must not hold the socket open for ever.
    this.#linger.start(this.#options.artimTimeoutMs, () => socket.destroy());
  }

  /** Runs once, when the socket has closed: clears everything and tells everyone. */
  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#artim.stop();
    this.#idle.stop();
    this.#wait.stop();
    this.#linger.stop();
    this.#reader?.destroy();
    this.#socket?.destroy();
    const reason: CloseReason = this.#endReason ?? 'closed';
    this.#log.info({ reason }, 'association ended');
    if (this.#establish !== null) {
      this.#establish.reject(this.#error ?? new AssociationAbortedError(2, 0, 'the connection closed before the association was accepted'));
      this.#establish = null;
    }
    if (this.#release !== null) {
      if (reason === 'released') this.#release.resolve();
      else this.#release.reject(this.#error ?? new AssociationAbortedError(2, 0, 'the association ended without A-RELEASE-RP'));
      this.#release = null;
    }
    if (this.#handler !== null) {
      try {
        this.#handler.onClose(reason);
      } catch (err) {
        this.#log.error({ err }, 'onClose failed');
      }
    }
    try {
      this.#options.onEnded?.(this);
    } finally {
      this.#resolveClosed();
    }
  }
}
