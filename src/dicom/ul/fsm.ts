/**
 * The DICOM upper-layer protocol state machine: states, events, actions and the state
 * transition table of PS3.8 §9.2 (Tables 9-1 to 9-10, 2019 and later editions).
 *
 * The core of the network layer, kept as data (a table plus one function per action) with all
 * I/O injected through {@link FsmIo}, after the model of pynetdicom's fsm.py, so every cell of
 * Table 9-10 can be tested without sockets.
 */

import { DicomError, ERR_FSM_INVALID_EVENT, ERR_FSM_QUEUE_OVERFLOW } from '../errors.js';
import type { AAbortPdu, AAssociateAcPdu, AAssociateRjPdu, AAssociateRqPdu, AReleaseRpPdu, AReleaseRqPdu, PDataTfPdu } from './pdu.js';
import type { Pdv } from './primitives.js';

/** Machine states Sta1–Sta13, PS3.8 §9.2.1, Tables 9-1 to 9-5. */
export type State =
  | 'Sta1' | 'Sta2' | 'Sta3' | 'Sta4' | 'Sta5' | 'Sta6' | 'Sta7'
  | 'Sta8' | 'Sta9' | 'Sta10' | 'Sta11' | 'Sta12' | 'Sta13';

/** Events Evt1–Evt19, PS3.8 §9.2.3, Table 9-10. */
export type Event =
  | 'Evt1' | 'Evt2' | 'Evt3' | 'Evt4' | 'Evt5' | 'Evt6' | 'Evt7' | 'Evt8' | 'Evt9' | 'Evt10'
  | 'Evt11' | 'Evt12' | 'Evt13' | 'Evt14' | 'Evt15' | 'Evt16' | 'Evt17' | 'Evt18' | 'Evt19';

/** Action labels, PS3.8 §9.2.2, Tables 9-6 to 9-9. */
export type ActionName =
  | 'AE-1' | 'AE-2' | 'AE-3' | 'AE-4' | 'AE-5' | 'AE-6' | 'AE-7' | 'AE-8'
  | 'DT-1' | 'DT-2'
  | 'AR-1' | 'AR-2' | 'AR-3' | 'AR-4' | 'AR-5' | 'AR-6' | 'AR-7' | 'AR-8' | 'AR-9' | 'AR-10'
  | 'AA-1' | 'AA-2' | 'AA-3' | 'AA-4' | 'AA-5' | 'AA-6' | 'AA-7' | 'AA-8';

/** The PDU types an action may send, PS3.8 §9.3.2–9.3.8 (PDU types 01H–07H). */
export type PduKind =
  | 'A-ASSOCIATE-RQ' | 'A-ASSOCIATE-AC' | 'A-ASSOCIATE-RJ' | 'P-DATA-TF'
  | 'A-RELEASE-RQ' | 'A-RELEASE-RP' | 'A-ABORT';

/** The primitives an action issues to the local service user, PS3.8 §7 (Tables 7-1 to 7-6). */
export type IndicationKind =
  | 'A-ASSOCIATE-indication' | 'A-ASSOCIATE-confirmation-accept' | 'A-ASSOCIATE-confirmation-reject'
  | 'P-DATA-indication' | 'A-RELEASE-indication' | 'A-RELEASE-confirmation'
  | 'A-ABORT-indication' | 'A-P-ABORT-indication';

/**
 * Abort source and reason/diag, as sent in an A-ABORT PDU (PS3.8 §9.3.8, Table 9-26) and as
 * given with an A-P-ABORT indication. Source: 0 service-user, 2 service-provider. Provider
 * reasons: 0 not specified, 1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized PDU parameter,
 * 5 unexpected PDU parameter, 6 invalid PDU parameter value.
 */
export interface AbortParameters {
  source: number;
  reason: number;
}

/** Abort-source values, PS3.8 §9.3.8, Table 9-26. */
export const ABORT_SOURCE = {
  SERVICE_USER: 0,
  SERVICE_PROVIDER: 2,
} as const;

/** Provider reason/diag values of an A-ABORT PDU, PS3.8 §9.3.8, Table 9-26. */
export const ABORT_REASON = {
  NOT_SPECIFIED: 0,
  UNRECOGNIZED_PDU: 1,
  UNEXPECTED_PDU: 2,
  UNRECOGNIZED_PDU_PARAMETER: 4,
  UNEXPECTED_PDU_PARAMETER: 5,
  INVALID_PDU_PARAMETER_VALUE: 6,
} as const;

/** Reject result, source and reason/diag for an A-ASSOCIATE-RJ PDU, PS3.8 §9.3.4, Table 9-21. */
export interface RejectParameters {
  result: number;
  source: number;
  reason: number;
}

/**
 * The payload each event carries (PS3.8 §9.2.3, Table 9-10): the received PDU for a PDU
 * event, the local user's request or response for a primitive, nothing for a transport or
 * timer event. Evt19 carries the A-ABORT reason to send.
 */
export interface EventPayloads {
  Evt1: AAssociateRqPdu;
  Evt2: undefined;
  Evt3: AAssociateAcPdu;
  Evt4: AAssociateRjPdu;
  Evt5: undefined;
  Evt6: AAssociateRqPdu;
  Evt7: AAssociateAcPdu;
  Evt8: RejectParameters;
  Evt9: Pdv[];
  Evt10: PDataTfPdu;
  Evt11: undefined;
  Evt12: AReleaseRqPdu;
  Evt13: AReleaseRpPdu;
  Evt14: undefined;
  /** Source and reason of our A-ABORT; omitted = service user, reason 0 (AA-1). */
  Evt15: AbortParameters | undefined;
  Evt16: AAbortPdu;
  Evt17: undefined;
  Evt18: undefined;
  Evt19: { reason: number };
}

/** A payload map for every event: {@link EventPayloads}, or anything for table tests with tokens. */
export type EventPayloadMap = { [E in Event]: unknown };

/** The arguments after the event name: the payload, optional where the event carries none. */
export type EventArgs<P extends EventPayloadMap, E extends Event> =
  undefined extends P[E] ? [payload?: P[E]] : [payload: P[E]];

/** What each sent PDU is built from. PS3.8 §9.3. */
export interface PduPayloads {
  'A-ASSOCIATE-RQ': AAssociateRqPdu;
  'A-ASSOCIATE-AC': AAssociateAcPdu;
  'A-ASSOCIATE-RJ': RejectParameters;
  'P-DATA-TF': Pdv[];
  'A-RELEASE-RQ': undefined;
  'A-RELEASE-RP': undefined;
  'A-ABORT': AbortParameters;
}

/** What each primitive to the local user carries. PS3.8 §7. */
export interface IndicationPayloads {
  'A-ASSOCIATE-indication': AAssociateRqPdu;
  'A-ASSOCIATE-confirmation-accept': AAssociateAcPdu;
  'A-ASSOCIATE-confirmation-reject': AAssociateRjPdu;
  'P-DATA-indication': PDataTfPdu;
  'A-RELEASE-indication': AReleaseRqPdu;
  'A-RELEASE-confirmation': AReleaseRpPdu;
  'A-ABORT-indication': AAbortPdu;
  'A-P-ABORT-indication': AbortParameters;
}

/** The arguments of {@link FsmIo.sendPdu}: a kind and its payload, as a discriminated tuple. */
export type SendPduArgs = { [K in PduKind]: [kind: K, payload: PduPayloads[K]] }[PduKind];
/** The arguments of {@link FsmIo.indicate}: a kind and its payload, as a discriminated tuple. */
export type IndicateArgs = { [K in IndicationKind]: [kind: K, payload: IndicationPayloads[K]] }[IndicationKind];

/**
 * The I/O an action performs, injected so the machine is testable without sockets
 * (PS3.8 §9.2.2). Every method is called synchronously from inside an action; a method may
 * call {@link StateMachine.dispatch}, and that event is queued until the action returns.
 * Methods should not throw: a socket failure is reported later as Evt17, not as an exception.
 */
export interface FsmIo {
  /** Issue a TRANSPORT CONNECT request (AE-1); the result comes back as Evt2 or Evt17. */
  connect(): void;
  /** Encode and send one PDU. The payload is the event's payload, or `AbortParameters` for A-ABORT. */
  sendPdu(...args: SendPduArgs): void;
  /** Close the transport connection (AE-4, AR-3, AA-2, AA-3). */
  closeTransport(): void;
  /** Start the ARTIM timer, or restart it if running; its expiry is Evt18. PS3.8 §9.1.5. */
  startArtim(): void;
  /** Stop the ARTIM timer; a no-op when it is not running. */
  stopArtim(): void;
  /** Issue a primitive to the local service user. */
  indicate(...args: IndicateArgs): void;
  /**
   * AE-6: null when the A-ASSOCIATE-RQ is acceptable to the service provider (protocol
   * version etc.), otherwise the reject triple to put into the A-ASSOCIATE-RJ.
   */
  checkAssociateRq(rq: AAssociateRqPdu): null | RejectParameters;
}

/**
 * What an action sees: the injected I/O, the side this machine plays, the event that
 * triggered the action, and the A-ASSOCIATE request remembered from Evt1 for AE-2.
 */
export interface ActionContext {
  readonly io: FsmIo;
  /** True on the association-requestor side; decides AR-8 (release collision). */
  readonly requestor: boolean;
  /** The event being handled (AA-1, AA-7 and AA-8 read it to fill the A-ABORT PDU). */
  readonly event: Event;
  /** The A-ASSOCIATE request given with Evt1 (AE-1) and sent by AE-2. */
  associateRq: unknown;
}

/** One action of PS3.8 Tables 9-6 to 9-9: what it does, and the function doing it. */
export interface Action {
  /** The action's definition, in our words. */
  readonly description: string;
  /** Performs the action synchronously through `ctx.io` and returns the next state. */
  run(ctx: ActionContext, payload: unknown): State;
}

/** All states in order, PS3.8 §9.2.1. */
export const STATES: readonly State[] = [
  'Sta1', 'Sta2', 'Sta3', 'Sta4', 'Sta5', 'Sta6', 'Sta7',
  'Sta8', 'Sta9', 'Sta10', 'Sta11', 'Sta12', 'Sta13',
];

/** All events in order, PS3.8 §9.2.3, Table 9-10. */
export const EVENTS: readonly Event[] = [
  'Evt1', 'Evt2', 'Evt3', 'Evt4', 'Evt5', 'Evt6', 'Evt7', 'Evt8', 'Evt9', 'Evt10',
  'Evt11', 'Evt12', 'Evt13', 'Evt14', 'Evt15', 'Evt16', 'Evt17', 'Evt18', 'Evt19',
];

/** What each state means, for log lines. PS3.8 §9.2.1, Tables 9-1 to 9-5. */
export const STATE_DESCRIPTIONS: Readonly<Record<State, string>> = {
  Sta1: 'idle, no association',
  Sta2: 'transport open, waiting for the peer\'s A-ASSOCIATE-RQ',
  Sta3: 'waiting for the local user\'s A-ASSOCIATE response',
  Sta4: 'waiting for the outgoing transport connection to open',
  Sta5: 'waiting for the peer\'s A-ASSOCIATE-AC or -RJ',
  Sta6: 'association established, data transfer',
  Sta7: 'release requested, waiting for A-RELEASE-RP',
  Sta8: 'release indicated, waiting for the local user\'s A-RELEASE response',
  Sta9: 'release collision, requestor side, waiting for the local user\'s A-RELEASE response',
  Sta10: 'release collision, acceptor side, waiting for A-RELEASE-RP',
  Sta11: 'release collision, requestor side, waiting for A-RELEASE-RP',
  Sta12: 'release collision, acceptor side, waiting for the local user\'s A-RELEASE response',
  Sta13: 'association gone, waiting for the transport to close',
};

/** What each event means, for log lines. PS3.8 §9.2.3, Table 9-10. */
export const EVENT_DESCRIPTIONS: Readonly<Record<Event, string>> = {
  Evt1: 'A-ASSOCIATE request from the local user',
  Evt2: 'transport connection confirmed',
  Evt3: 'A-ASSOCIATE-AC PDU received',
  Evt4: 'A-ASSOCIATE-RJ PDU received',
  Evt5: 'incoming transport connection',
  Evt6: 'A-ASSOCIATE-RQ PDU received',
  Evt7: 'A-ASSOCIATE response (accept) from the local user',
  Evt8: 'A-ASSOCIATE response (reject) from the local user',
  Evt9: 'P-DATA request from the local user',
  Evt10: 'P-DATA-TF PDU received',
  Evt11: 'A-RELEASE request from the local user',
  Evt12: 'A-RELEASE-RQ PDU received',
  Evt13: 'A-RELEASE-RP PDU received',
  Evt14: 'A-RELEASE response from the local user',
  Evt15: 'A-ABORT request from the local user',
  Evt16: 'A-ABORT PDU received',
  Evt17: 'transport connection closed',
  Evt18: 'ARTIM timer expired',
  Evt19: 'unrecognized or invalid PDU received',
};

/**
 * PS3.8 Table 9-10, one line per (state, event): the action to run. A missing pair is a bug
 * and throws. Every PDU event (Evt3, 4, 6, 10, 12, 13, 16, 19) has an entry in every connected
 * state (Sta2, Sta3, Sta5–Sta13); Sta1 accepts only Evt1 and Evt5.
 */
export const TRANSITIONS: Readonly<Record<State, Readonly<Partial<Record<Event, ActionName>>>>> = {
  Sta1: {
    Evt1: 'AE-1',
    Evt5: 'AE-5',
  },
  Sta2: {
    Evt3: 'AA-1',
    Evt4: 'AA-1',
    Evt6: 'AE-6',
    Evt10: 'AA-1',
    Evt12: 'AA-1',
    Evt13: 'AA-1',
    Evt16: 'AA-2',
    Evt17: 'AA-5',
    Evt18: 'AA-2',
    Evt19: 'AA-1',
  },
  Sta3: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt7: 'AE-7',
    Evt8: 'AE-8',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AA-8',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta4: {
    Evt2: 'AE-2',
    Evt15: 'AA-2',
    Evt17: 'AA-4',
  },
  Sta5: {
    Evt3: 'AE-3',
    Evt4: 'AE-4',
    Evt6: 'AA-8',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AA-8',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta6: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt9: 'DT-1',
    Evt10: 'DT-2',
    Evt11: 'AR-1',
    Evt12: 'AR-2',
    Evt13: 'AA-8',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta7: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt10: 'AR-6',
    Evt12: 'AR-8',
    Evt13: 'AR-3',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta8: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt9: 'AR-7',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AA-8',
    Evt14: 'AR-4',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta9: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AA-8',
    Evt14: 'AR-9',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta10: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AR-10',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta11: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AR-3',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta12: {
    Evt3: 'AA-8',
    Evt4: 'AA-8',
    Evt6: 'AA-8',
    Evt10: 'AA-8',
    Evt12: 'AA-8',
    Evt13: 'AA-8',
    Evt14: 'AR-4',
    Evt15: 'AA-1',
    Evt16: 'AA-3',
    Evt17: 'AA-4',
    Evt19: 'AA-8',
  },
  Sta13: {
    Evt3: 'AA-6',
    Evt4: 'AA-6',
    Evt6: 'AA-7',
    Evt10: 'AA-6',
    Evt12: 'AA-6',
    Evt13: 'AA-6',
    Evt16: 'AA-2',
    Evt17: 'AR-5',
    Evt18: 'AA-2',
    Evt19: 'AA-7',
  },
};

/** Reads an integer 0–255 field of an untyped payload, or undefined. */
function byteField(payload: unknown, key: 'source' | 'reason'): number | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const value = (payload as Record<string, unknown>)[key];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255
    ? value
    : undefined;
}

/**
 * The reason/diag of a provider-sent A-ABORT (AA-7, AA-8): for Evt19 the payload's `reason`
 * when it carries one, else 2 "unexpected PDU". Other events' payloads are received PDUs whose
 * own `reason` field (an A-ASSOCIATE-RJ's, say) must not leak into our abort.
 */
function providerAbortReason(ctx: ActionContext, payload: unknown): number {
  if (ctx.event === 'Evt19') return byteField(payload, 'reason') ?? ABORT_REASON.UNEXPECTED_PDU;
  return ABORT_REASON.UNEXPECTED_PDU;
}

/**
 * PS3.8 Tables 9-6 to 9-9: each action's description and function (synchronous, returns the
 * next state). The table is payload-agnostic: an action passes the triggering event's payload
 * on unchanged, so the casts below restate {@link EventPayloads} for the events that lead to
 * each action; {@link StateMachine.dispatch} checks the payload against the event.
 *
 * Payload rules: the payload given with an event passes through unchanged to the sendPdu or
 * indicate call of the action it triggers (Evt9 → sendPdu('P-DATA-TF', payload); Evt10 →
 * indicate('P-DATA-indication', payload); Evt6 → checkAssociateRq(payload), then
 * indicate('A-ASSOCIATE-indication', payload) or sendPdu('A-ASSOCIATE-RJ', triple)). AE-1
 * remembers the Evt1 payload and AE-2 sends it. Actions sending an A-ABORT PDU pass
 * {@link AbortParameters}: AA-1 uses the Evt15 payload's source/reason when given, else
 * source 0 reason 0 ("service-user source", also when AA-1 answers a PDU in Sta2); AA-7 and
 * AA-8 use source 2 and the reason from {@link providerAbortReason}. A-P-ABORT indications
 * carry {@link AbortParameters} too (AA-4: source 2, reason 0). AA-3 indicates
 * 'A-ABORT-indication' with the received A-ABORT PDU's payload, whatever its source.
 */
export const ACTIONS: Readonly<Record<ActionName, Action>> = {
  'AE-1': {
    description: 'Ask the transport to connect to the peer; remember the A-ASSOCIATE request',
    run(ctx, payload) {
      ctx.associateRq = payload;
      ctx.io.connect();
      return 'Sta4';
    },
  },
  'AE-2': {
    description: 'Send the A-ASSOCIATE-RQ PDU built from the request remembered by AE-1',
    run(ctx) {
      const rq = ctx.associateRq;
      ctx.associateRq = undefined;
      ctx.io.sendPdu('A-ASSOCIATE-RQ', rq as AAssociateRqPdu);
      return 'Sta5';
    },
  },
  'AE-3': {
    description: 'Tell the local user the association was accepted',
    run(ctx, payload) {
      ctx.io.indicate('A-ASSOCIATE-confirmation-accept', payload as AAssociateAcPdu);
      return 'Sta6';
    },
  },
  'AE-4': {
    description: 'Tell the local user the association was rejected, then close the transport',
    run(ctx, payload) {
      ctx.io.indicate('A-ASSOCIATE-confirmation-reject', payload as AAssociateRjPdu);
      ctx.io.closeTransport();
      return 'Sta1';
    },
  },
  'AE-5': {
    description: 'Accept the incoming transport connection and start ARTIM',
    run(ctx) {
      ctx.io.startArtim();
      return 'Sta2';
    },
  },
  'AE-6': {
    description: 'Stop ARTIM; if the provider accepts the A-ASSOCIATE-RQ, pass it to the local user, '
      + 'else send A-ASSOCIATE-RJ and start ARTIM',
    run(ctx, payload) {
      ctx.io.stopArtim();
      const reject = ctx.io.checkAssociateRq(payload as AAssociateRqPdu);
      if (reject === null) {
        ctx.io.indicate('A-ASSOCIATE-indication', payload as AAssociateRqPdu);
        return 'Sta3';
      }
      ctx.io.sendPdu('A-ASSOCIATE-RJ', reject);
      ctx.io.startArtim();
      return 'Sta13';
    },
  },
  'AE-7': {
    description: 'Send the A-ASSOCIATE-AC PDU',
    run(ctx, payload) {
      ctx.io.sendPdu('A-ASSOCIATE-AC', payload as AAssociateAcPdu);
      return 'Sta6';
    },
  },
  'AE-8': {
    description: 'Send the A-ASSOCIATE-RJ PDU and start ARTIM',
    run(ctx, payload) {
      ctx.io.sendPdu('A-ASSOCIATE-RJ', payload as RejectParameters);
      ctx.io.startArtim();
      return 'Sta13';
    },
  },
  'DT-1': {
    description: 'Send a P-DATA-TF PDU',
    run(ctx, payload) {
      ctx.io.sendPdu('P-DATA-TF', payload as Pdv[]);
      return 'Sta6';
    },
  },
  'DT-2': {
    description: 'Pass the received P-DATA to the local user',
    run(ctx, payload) {
      ctx.io.indicate('P-DATA-indication', payload as PDataTfPdu);
      return 'Sta6';
    },
  },
  'AR-1': {
    description: 'Send the A-RELEASE-RQ PDU',
    run(ctx, payload) {
      ctx.io.sendPdu('A-RELEASE-RQ', payload as undefined);
      return 'Sta7';
    },
  },
  'AR-2': {
    description: 'Tell the local user the peer asks to release',
    run(ctx, payload) {
      ctx.io.indicate('A-RELEASE-indication', payload as AReleaseRqPdu);
      return 'Sta8';
    },
  },
  'AR-3': {
    description: 'Tell the local user the release is confirmed, then close the transport',
    run(ctx, payload) {
      ctx.io.indicate('A-RELEASE-confirmation', payload as AReleaseRpPdu);
      ctx.io.closeTransport();
      return 'Sta1';
    },
  },
  'AR-4': {
    description: 'Send the A-RELEASE-RP PDU and start ARTIM',
    run(ctx, payload) {
      ctx.io.sendPdu('A-RELEASE-RP', payload as undefined);
      ctx.io.startArtim();
      return 'Sta13';
    },
  },
  'AR-5': {
    description: 'Stop ARTIM; the transport is closed',
    run(ctx) {
      ctx.io.stopArtim();
      return 'Sta1';
    },
  },
  'AR-6': {
    description: 'Pass P-DATA received while awaiting A-RELEASE-RP to the local user',
    run(ctx, payload) {
      ctx.io.indicate('P-DATA-indication', payload as PDataTfPdu);
      return 'Sta7';
    },
  },
  'AR-7': {
    description: 'Send a P-DATA-TF PDU while the local user has not yet answered the release',
    run(ctx, payload) {
      ctx.io.sendPdu('P-DATA-TF', payload as Pdv[]);
      return 'Sta8';
    },
  },
  'AR-8': {
    description: 'Release collision: tell the local user the peer asks to release too; '
      + 'the requestor goes to Sta9, the acceptor to Sta10',
    run(ctx, payload) {
      ctx.io.indicate('A-RELEASE-indication', payload as AReleaseRqPdu);
      return ctx.requestor ? 'Sta9' : 'Sta10';
    },
  },
  'AR-9': {
    description: 'Release collision, requestor side: send the A-RELEASE-RP PDU',
    run(ctx, payload) {
      ctx.io.sendPdu('A-RELEASE-RP', payload as undefined);
      return 'Sta11';
    },
  },
  'AR-10': {
    description: 'Release collision, acceptor side: tell the local user its release is confirmed',
    run(ctx, payload) {
      ctx.io.indicate('A-RELEASE-confirmation', payload as AReleaseRpPdu);
      return 'Sta12';
    },
  },
  'AA-1': {
    description: 'Send an A-ABORT PDU (service-user source) and start or restart ARTIM',
    run(ctx, payload) {
      const abort: AbortParameters = ctx.event === 'Evt15'
        ? {
          source: byteField(payload, 'source') ?? ABORT_SOURCE.SERVICE_USER,
          reason: byteField(payload, 'reason') ?? ABORT_REASON.NOT_SPECIFIED,
        }
        : { source: ABORT_SOURCE.SERVICE_USER, reason: ABORT_REASON.NOT_SPECIFIED };
      ctx.io.sendPdu('A-ABORT', abort);
      ctx.io.startArtim();
      return 'Sta13';
    },
  },
  'AA-2': {
    description: 'Stop ARTIM if running and close the transport',
    run(ctx) {
      ctx.io.stopArtim();
      ctx.io.closeTransport();
      return 'Sta1';
    },
  },
  'AA-3': {
    description: 'Tell the local user the peer aborted, then close the transport',
    run(ctx, payload) {
      ctx.io.indicate('A-ABORT-indication', payload as AAbortPdu);
      ctx.io.closeTransport();
      return 'Sta1';
    },
  },
  'AA-4': {
    description: 'The transport closed under the association: issue an A-P-ABORT indication',
    run(ctx) {
      const abort: AbortParameters = {
        source: ABORT_SOURCE.SERVICE_PROVIDER,
        reason: ABORT_REASON.NOT_SPECIFIED,
      };
      ctx.io.indicate('A-P-ABORT-indication', abort);
      return 'Sta1';
    },
  },
  'AA-5': {
    description: 'The transport closed before any A-ASSOCIATE-RQ: stop ARTIM',
    run(ctx) {
      ctx.io.stopArtim();
      return 'Sta1';
    },
  },
  'AA-6': {
    description: 'Ignore the PDU; the association is already gone',
    run() {
      return 'Sta13';
    },
  },
  'AA-7': {
    description: 'Send an A-ABORT PDU (service-provider source)',
    run(ctx, payload) {
      const abort: AbortParameters = {
        source: ABORT_SOURCE.SERVICE_PROVIDER,
        reason: providerAbortReason(ctx, payload),
      };
      ctx.io.sendPdu('A-ABORT', abort);
      return 'Sta13';
    },
  },
  'AA-8': {
    description: 'Send an A-ABORT PDU (service-provider source), issue an A-P-ABORT indication '
      + 'and start ARTIM',
    run(ctx, payload) {
      const reason = providerAbortReason(ctx, payload);
      ctx.io.sendPdu('A-ABORT', { source: ABORT_SOURCE.SERVICE_PROVIDER, reason } satisfies AbortParameters);
      ctx.io.indicate('A-P-ABORT-indication', { source: ABORT_SOURCE.SERVICE_PROVIDER, reason } satisfies AbortParameters);
      ctx.io.startArtim();
      return 'Sta13';
    },
  },
};

/** Most events that may wait while an action runs; more means an io loop, a programmer error. */
export const MAX_QUEUED_EVENTS = 64;

/** One completed step of the machine, reported to `onTransition` (for log lines). */
export interface Transition {
  from: State;
  event: Event;
  action: ActionName;
  to: State;
}

/** Options of {@link StateMachine}. */
export interface StateMachineOptions {
  /** True for the association-requestor (the side that sent A-ASSOCIATE-RQ); see AR-8. */
  requestor: boolean;
  /** Called after each completed transition, e.g. to log it. Must not throw. */
  onTransition?: (transition: Transition) => void;
}

/**
 * The DICOM upper-layer state machine of one association (PS3.8 §9.2). It starts in Sta1;
 * events enter only through {@link StateMachine.dispatch}, which runs the action that
 * {@link TRANSITIONS} names for (state, event) through the injected {@link FsmIo}.
 */
export class StateMachine<P extends EventPayloadMap = EventPayloads> {
  readonly #ctx: { io: FsmIo; requestor: boolean; event: Event; associateRq: unknown };
  readonly #onTransition: ((transition: Transition) => void) | undefined;
  #state: State = 'Sta1';
  #running = false;
  readonly #queue: Array<{ event: Event; payload: unknown }> = [];

  constructor(io: FsmIo, options: StateMachineOptions) {
    this.#ctx = { io, requestor: options.requestor, event: 'Evt1', associateRq: undefined };
    this.#onTransition = options.onTransition;
  }

  /** The current state. */
  get state(): State {
    return this.#state;
  }

  /** True on the association-requestor side. */
  get requestor(): boolean {
    return this.#ctx.requestor;
  }

  /**
   * The only entry point. Runs the (state, event) action of PS3.8 Table 9-10 to completion.
   * An event dispatched while an action runs (re-entrantly, from inside an io call) is queued
   * and run after it, in order. The payload goes to the action as documented on
   * {@link ACTIONS}.
   *
   * @throws DicomError with code {@link ERR_FSM_INVALID_EVENT} when Table 9-10 has no entry
   *   for the pair (the state is left unchanged and queued events are dropped), or with code
   *   {@link ERR_FSM_QUEUE_OVERFLOW}; both are programmer errors. An exception thrown by an io
   *   method also propagates, leaving the state unchanged.
   */
  dispatch<E extends Event>(event: E, ...args: EventArgs<P, E>): void {
    const payload: unknown = args[0];
    if (this.#running) {
      if (this.#queue.length >= MAX_QUEUED_EVENTS) {
        throw new DicomError(ERR_FSM_QUEUE_OVERFLOW,
          `more than ${MAX_QUEUED_EVENTS} events queued while an action runs (last: ${event})`);
      }
      this.#queue.push({ event, payload });
      return;
    }
    this.#running = true;
    try {
      this.#step(event, payload);
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        this.#step(next.event, next.payload);
      }
    } catch (err) {
      this.#queue.length = 0;
      throw err;
    } finally {
      this.#running = false;
    }
  }

  #step(event: Event, payload: unknown): void {
    const from = this.#state;
    const row = TRANSITIONS[from];
    const action = Object.hasOwn(row, event) ? row[event] : undefined;
    if (action === undefined) {
      throw new DicomError(ERR_FSM_INVALID_EVENT,
        `no transition for ${String(event)} in ${from} (PS3.8 Table 9-10)`);
    }
    this.#ctx.event = event;
    const to = ACTIONS[action].run(this.#ctx, payload);
    this.#state = to;
    this.#onTransition?.({ from, event, action, to });
  }
}
