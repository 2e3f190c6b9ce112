/**
 * Cell-by-cell tests of the PS3.8 upper-layer state machine (Table 9-10), after pynetdicom's
 * tests/test_fsm.py: one test per (state, event), through a fake FsmIo that records every call.
 * The expected cells below are a literal transcription of the standard's table, written
 * independently of src/dicom/ul/fsm.ts, with the effects each action must have.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import {
  ACTIONS, StateMachine, TRANSITIONS,
  type ActionName, type Event, type EventPayloadMap, type FsmIo, type IndicationKind, type PduKind,
  type RejectParameters, type State, type Transition,
} from '../../../../src/dicom/ul/fsm.js';
import { DicomError, ERR_FSM_INVALID_EVENT } from '../../../../src/dicom/errors.js';
import { MAX_TIMER_MS, Timer } from '../../../../src/dicom/ul/timers.js';

// ---------------------------------------------------------------------------------------------
// A fake FsmIo recording every call in order.

type Call =
  | ['connect']
  | ['sendPdu', PduKind, unknown]
  | ['closeTransport']
  | ['startArtim']
  | ['stopArtim']
  | ['indicate', IndicationKind, unknown]
  | ['checkAssociateRq', unknown];

class FakeIo implements FsmIo {
  readonly calls: Call[] = [];
  /** What checkAssociateRq answers (AE-6). */
  reject: RejectParameters | null = null;
  /** Runs after each recorded call, e.g. to dispatch re-entrantly. */
  onCall: ((call: Call) => void) | undefined;

  #record(call: Call): void {
    this.calls.push(call);
    this.onCall?.(call);
  }
  connect(): void { this.#record(['connect']); }
  sendPdu(kind: PduKind, payload?: unknown): void { this.#record(['sendPdu', kind, payload]); }
  closeTransport(): void { this.#record(['closeTransport']); }
  startArtim(): void { this.#record(['startArtim']); }
  stopArtim(): void { this.#record(['stopArtim']); }
  indicate(kind: IndicationKind, payload?: unknown): void { this.#record(['indicate', kind, payload]); }
  checkAssociateRq(rq: unknown): RejectParameters | null {
    this.#record(['checkAssociateRq', rq]);
    return this.reject;
  }
}

// ---------------------------------------------------------------------------------------------
// The literal grid: PS3.8 Table 9-10, transcribed by hand.

const ALL_STATES: readonly State[] = [
  'Sta1', 'Sta2', 'Sta3', 'Sta4', 'Sta5', 'Sta6', 'Sta7',
  'Sta8', 'Sta9', 'Sta10', 'Sta11', 'Sta12', 'Sta13',
];
const ALL_EVENTS: readonly Event[] = [
  'Evt1', 'Evt2', 'Evt3', 'Evt4', 'Evt5', 'Evt6', 'Evt7', 'Evt8', 'Evt9', 'Evt10',
  'Evt11', 'Evt12', 'Evt13', 'Evt14', 'Evt15', 'Evt16', 'Evt17', 'Evt18', 'Evt19',
];

/*
 * Effects notation, one token per io call, in order:
 *   connect | close | artim+ (startArtim) | artim- (stopArtim) | check(p)
 *   send:<PDU kind>(<payload>) | ind:<indication kind>(<payload>)
 * Payloads: p = the event's payload, rq = the A-ASSOCIATE request given with Evt1,
 *   abort:S/R = { source: S, reason: R }.
 * Event payloads used by the grid: Evt19 carries { reason: 6 }; Evt15 carries none; every other
 * event carries an object with decoy `source: 1, reason: 99` fields, which must never reach an
 * A-ABORT PDU.
 */
const AA1 = 'send:A-ABORT(abort:0/0) artim+';
const AA2 = 'artim- close';
const AA3 = 'ind:A-ABORT-indication(p) close';
const AA4 = 'ind:A-P-ABORT-indication(abort:2/0)';
const AA8 = 'send:A-ABORT(abort:2/2) ind:A-P-ABORT-indication(abort:2/2) artim+';
const AA8_EVT19 = 'send:A-ABORT(abort:2/6) ind:A-P-ABORT-indication(abort:2/6) artim+';

/** [state, event, action, next state, effects]; every pair not listed is an empty cell. */
const CELLS: ReadonlyArray<readonly [State, Event, ActionName, State, string]> = [
  ['Sta1', 'Evt1', 'AE-1', 'Sta4', 'connect'],
  ['Sta1', 'Evt5', 'AE-5', 'Sta2', 'artim+'],

  ['Sta2', 'Evt3', 'AA-1', 'Sta13', AA1],
  ['Sta2', 'Evt4', 'AA-1', 'Sta13', AA1],
  ['Sta2', 'Evt6', 'AE-6', 'Sta3', 'artim- check(p) ind:A-ASSOCIATE-indication(p)'],
  ['Sta2', 'Evt10', 'AA-1', 'Sta13', AA1],
  ['Sta2', 'Evt12', 'AA-1', 'Sta13', AA1],
  ['Sta2', 'Evt13', 'AA-1', 'Sta13', AA1],
  ['Sta2', 'Evt16', 'AA-2', 'Sta1', AA2],
  ['Sta2', 'Evt17', 'AA-5', 'Sta1', 'artim-'],
  ['Sta2', 'Evt18', 'AA-2', 'Sta1', AA2],
  ['Sta2', 'Evt19', 'AA-1', 'Sta13', AA1],

  ['Sta3', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta3', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta3', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta3', 'Evt7', 'AE-7', 'Sta6', 'send:A-ASSOCIATE-AC(p)'],
  ['Sta3', 'Evt8', 'AE-8', 'Sta13', 'send:A-ASSOCIATE-RJ(p) artim+'],
  ['Sta3', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta3', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta3', 'Evt13', 'AA-8', 'Sta13', AA8],
  ['Sta3', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta3', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta3', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta3', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta4', 'Evt2', 'AE-2', 'Sta5', 'send:A-ASSOCIATE-RQ(rq)'],
  ['Sta4', 'Evt15', 'AA-2', 'Sta1', AA2],
  ['Sta4', 'Evt17', 'AA-4', 'Sta1', AA4],

  ['Sta5', 'Evt3', 'AE-3', 'Sta6', 'ind:A-ASSOCIATE-confirmation-accept(p)'],
  ['Sta5', 'Evt4', 'AE-4', 'Sta1', 'ind:A-ASSOCIATE-confirmation-reject(p) close'],
  ['Sta5', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta5', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta5', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta5', 'Evt13', 'AA-8', 'Sta13', AA8],
  ['Sta5', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta5', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta5', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta5', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta6', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta6', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta6', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta6', 'Evt9', 'DT-1', 'Sta6', 'send:P-DATA-TF(p)'],
  ['Sta6', 'Evt10', 'DT-2', 'Sta6', 'ind:P-DATA-indication(p)'],
  ['Sta6', 'Evt11', 'AR-1', 'Sta7', 'send:A-RELEASE-RQ(p)'],
  ['Sta6', 'Evt12', 'AR-2', 'Sta8', 'ind:A-RELEASE-indication(p)'],
  ['Sta6', 'Evt13', 'AA-8', 'Sta13', AA8],
  ['Sta6', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta6', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta6', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta6', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  // Sta7 is reached as association-requestor, so the release collision (AR-8) goes to Sta9.
  ['Sta7', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta7', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta7', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta7', 'Evt10', 'AR-6', 'Sta7', 'ind:P-DATA-indication(p)'],
  ['Sta7', 'Evt12', 'AR-8', 'Sta9', 'ind:A-RELEASE-indication(p)'],
  ['Sta7', 'Evt13', 'AR-3', 'Sta1', 'ind:A-RELEASE-confirmation(p) close'],
  ['Sta7', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta7', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta7', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta7', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta8', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta8', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta8', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta8', 'Evt9', 'AR-7', 'Sta8', 'send:P-DATA-TF(p)'],
  ['Sta8', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta8', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta8', 'Evt13', 'AA-8', 'Sta13', AA8],
  ['Sta8', 'Evt14', 'AR-4', 'Sta13', 'send:A-RELEASE-RP(p) artim+'],
  ['Sta8', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta8', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta8', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta8', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta9', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta9', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta9', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta9', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta9', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta9', 'Evt13', 'AA-8', 'Sta13', AA8],
  ['Sta9', 'Evt14', 'AR-9', 'Sta11', 'send:A-RELEASE-RP(p)'],
  ['Sta9', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta9', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta9', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta9', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta10', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta10', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta10', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta10', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta10', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta10', 'Evt13', 'AR-10', 'Sta12', 'ind:A-RELEASE-confirmation(p)'],
  ['Sta10', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta10', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta10', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta10', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta11', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta11', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta11', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta11', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta11', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta11', 'Evt13', 'AR-3', 'Sta1', 'ind:A-RELEASE-confirmation(p) close'],
  ['Sta11', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta11', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta11', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta11', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta12', 'Evt3', 'AA-8', 'Sta13', AA8],
  ['Sta12', 'Evt4', 'AA-8', 'Sta13', AA8],
  ['Sta12', 'Evt6', 'AA-8', 'Sta13', AA8],
  ['Sta12', 'Evt10', 'AA-8', 'Sta13', AA8],
  ['Sta12', 'Evt12', 'AA-8', 'Sta13', AA8],
  ['Sta12', 'Evt13', 'AA-8', 'Sta13', AA8],
  ['Sta12', 'Evt14', 'AR-4', 'Sta13', 'send:A-RELEASE-RP(p) artim+'],
  ['Sta12', 'Evt15', 'AA-1', 'Sta13', AA1],
  ['Sta12', 'Evt16', 'AA-3', 'Sta1', AA3],
  ['Sta12', 'Evt17', 'AA-4', 'Sta1', AA4],
  ['Sta12', 'Evt19', 'AA-8', 'Sta13', AA8_EVT19],

  ['Sta13', 'Evt3', 'AA-6', 'Sta13', ''],
  ['Sta13', 'Evt4', 'AA-6', 'Sta13', ''],
  ['Sta13', 'Evt6', 'AA-7', 'Sta13', 'send:A-ABORT(abort:2/2)'],
  ['Sta13', 'Evt10', 'AA-6', 'Sta13', ''],
  ['Sta13', 'Evt12', 'AA-6', 'Sta13', ''],
  ['Sta13', 'Evt13', 'AA-6', 'Sta13', ''],
  ['Sta13', 'Evt16', 'AA-2', 'Sta1', AA2],
  ['Sta13', 'Evt17', 'AR-5', 'Sta1', 'artim-'],
  ['Sta13', 'Evt18', 'AA-2', 'Sta1', AA2],
  ['Sta13', 'Evt19', 'AA-7', 'Sta13', 'send:A-ABORT(abort:2/6)'],
];

/** How each state is reached through legal events, and which side the machine plays. */
const TO_STA6: readonly Event[] = ['Evt1', 'Evt2', 'Evt3'];
const TO_STA10: readonly Event[] = ['Evt5', 'Evt6', 'Evt7', 'Evt11', 'Evt12'];
const SETUP: Readonly<Record<State, { requestor: boolean; path: readonly Event[] }>> = {
  Sta1: { requestor: true, path: [] },
  Sta2: { requestor: false, path: ['Evt5'] },
  Sta3: { requestor: false, path: ['Evt5', 'Evt6'] },
  Sta4: { requestor: true, path: ['Evt1'] },
  Sta5: { requestor: true, path: ['Evt1', 'Evt2'] },
  Sta6: { requestor: true, path: TO_STA6 },
  Sta7: { requestor: true, path: [...TO_STA6, 'Evt11'] },
  Sta8: { requestor: true, path: [...TO_STA6, 'Evt12'] },
  Sta9: { requestor: true, path: [...TO_STA6, 'Evt11', 'Evt12'] },
  Sta10: { requestor: false, path: TO_STA10 },
  Sta11: { requestor: true, path: [...TO_STA6, 'Evt11', 'Evt12', 'Evt14'] },
  Sta12: { requestor: false, path: [...TO_STA10, 'Evt13'] },
  Sta13: { requestor: true, path: [...TO_STA6, 'Evt15'] },
};

/** The A-ASSOCIATE request primitive given with Evt1 on every requestor path. */
const ASSOCIATE_RQ = { kind: 'A-ASSOCIATE request', calledAeTitle: 'PACS' };

function payloadFor(state: State, event: Event): unknown {
  if (event === 'Evt15') return undefined;
  if (event === 'Evt19') return { cell: `${state}+${event}`, reason: 6 };
  return { cell: `${state}+${event}`, source: 1, reason: 99 };
}

function parseAbort(text: string): { source: number; reason: number } {
  const match = /^abort:(\d+)\/(\d+)$/.exec(text);
  assert.ok(match, `bad abort notation ${text}`);
  return { source: Number(match[1]), reason: Number(match[2]) };
}

function expectedCalls(effects: string, payload: unknown): Call[] {
  const resolve = (arg: string): unknown => {
    if (arg === 'p') return payload;
    if (arg === 'rq') return ASSOCIATE_RQ;
    return parseAbort(arg);
  };
  return effects.split(' ').filter((token) => token !== '').map((token): Call => {
    if (token === 'connect') return ['connect'];
    if (token === 'close') return ['closeTransport'];
    if (token === 'artim+') return ['startArtim'];
    if (token === 'artim-') return ['stopArtim'];
    if (token === 'check(p)') return ['checkAssociateRq', payload];
    const match = /^(send|ind):([A-Z-]+(?:-[a-z-]+)?)\((.+)\)$/.exec(token);
    assert.ok(match, `bad effect notation ${token}`);
    const [, verb, kind, arg] = match as unknown as [string, string, string, string];
    return verb === 'send'
      ? ['sendPdu', kind as PduKind, resolve(arg)]
      : ['indicate', kind as IndicationKind, resolve(arg)];
  });
}

/** A machine driven to `state` through legal events, with its io record cleared. */
function machineIn(state: State): { fsm: StateMachine<EventPayloadMap>; io: FakeIo; transitions: Transition[] } {
  const io = new FakeIo();
  const transitions: Transition[] = [];
  const { requestor, path } = SETUP[state];
  const fsm = new StateMachine<EventPayloadMap>(io, { requestor, onTransition: (t) => transitions.push(t) });
  for (const event of path) fsm.dispatch(event, event === 'Evt1' ? ASSOCIATE_RQ : { setup: event });
  assert.equal(fsm.state, state, `setup path did not reach ${state}`);
  io.calls.length = 0;
  transitions.length = 0;
  return { fsm, io, transitions };
}

function isInvalidEventError(err: unknown): boolean {
  return err instanceof DicomError && err.code === ERR_FSM_INVALID_EVENT;
}

// ---------------------------------------------------------------------------------------------

describe('PS3.8 Table 9-10, cell by cell', () => {
  it('the literal grid has 123 filled cells and no duplicates', () => {
    assert.equal(CELLS.length, 123);
    assert.equal(new Set(CELLS.map(([s, e]) => `${s}+${e}`)).size, 123);
  });

  for (const state of ALL_STATES) {
    for (const event of ALL_EVENTS) {
      const cell = CELLS.find(([s, e]) => s === state && e === event);
      if (cell === undefined) {
        it(`${state} + ${event} → (empty) → throws`, () => {
          const { fsm, io, transitions } = machineIn(state);
          assert.throws(() => fsm.dispatch(event, payloadFor(state, event)), isInvalidEventError);
          assert.equal(fsm.state, state);
          assert.deepEqual(io.calls, []);
          assert.deepEqual(transitions, []);
        });
        continue;
      }
      const [, , action, next, effects] = cell;
      it(`${state} + ${event} → ${action} → ${next}`, () => {
        const { fsm, io, transitions } = machineIn(state);
        const payload = payloadFor(state, event);
        fsm.dispatch(event, payload);
        assert.equal(fsm.state, next);
        assert.deepEqual(transitions, [{ from: state, event, action, to: next }]);
        assert.deepEqual(io.calls, expectedCalls(effects, payload));
      });
    }
  }
});

describe('actions: details beyond the grid', () => {
  it('AE-6 rejects an unacceptable A-ASSOCIATE-RQ with the provider\'s triple and starts ARTIM', () => {
    const { fsm, io } = machineIn('Sta2');
    const rq = { protocolVersion: 2 };
    io.reject = { result: 1, source: 2, reason: 2 };
    fsm.dispatch('Evt6', rq);
    assert.equal(fsm.state, 'Sta13');
    assert.deepEqual(io.calls, [
      ['stopArtim'],
      ['checkAssociateRq', rq],
      ['sendPdu', 'A-ASSOCIATE-RJ', { result: 1, source: 2, reason: 2 }],
      ['startArtim'],
    ]);
    fsm.dispatch('Evt17');
    assert.equal(fsm.state, 'Sta1');
  });

  it('AA-1 on Evt15 uses the source and reason given with the A-ABORT request', () => {
    const { fsm, io } = machineIn('Sta6');
    fsm.dispatch('Evt15', { source: 2, reason: 5 });
    assert.deepEqual(io.calls, [['sendPdu', 'A-ABORT', { source: 2, reason: 5 }], ['startArtim']]);
  });

  it('AA-1 on Evt15 defaults each missing or invalid field to 0', () => {
    const { fsm, io } = machineIn('Sta5');
    fsm.dispatch('Evt15', { reason: 300 });
    assert.deepEqual(io.calls, [['sendPdu', 'A-ABORT', { source: 0, reason: 0 }], ['startArtim']]);
  });

  it('AA-8 on Evt19 without a usable reason sends reason 2 (unexpected PDU)', () => {
    for (const payload of [undefined, {}, { reason: 'bad' }, { reason: 1.5 }]) {
      const { fsm, io } = machineIn('Sta6');
      fsm.dispatch('Evt19', payload);
      assert.deepEqual(io.calls, [
        ['sendPdu', 'A-ABORT', { source: 2, reason: 2 }],
        ['indicate', 'A-P-ABORT-indication', { source: 2, reason: 2 }],
        ['startArtim'],
      ]);
    }
  });

  it('AA-7 on Evt19 passes the given reason (unrecognized PDU)', () => {
    const { fsm, io } = machineIn('Sta13');
    fsm.dispatch('Evt19', { reason: 1 });
    assert.deepEqual(io.calls, [['sendPdu', 'A-ABORT', { source: 2, reason: 1 }]]);
  });

  it('AE-2 sends the request of Evt1 even when Evt2 carries a payload', () => {
    const { fsm, io } = machineIn('Sta4');
    fsm.dispatch('Evt2', { socket: 'connected' });
    assert.deepEqual(io.calls, [['sendPdu', 'A-ASSOCIATE-RQ', ASSOCIATE_RQ]]);
  });

  it('a whole normal association, requestor side', () => {
    const io = new FakeIo();
    const fsm = new StateMachine<EventPayloadMap>(io, { requestor: true });
    const ac = { pdu: 'AC' };
    const pdata = { pdvs: 1 };
    const rp = { pdu: 'RP' };
    fsm.dispatch('Evt1', ASSOCIATE_RQ);
    fsm.dispatch('Evt2');
    fsm.dispatch('Evt3', ac);
    fsm.dispatch('Evt9', pdata);
    fsm.dispatch('Evt10', pdata);
    fsm.dispatch('Evt11');
    fsm.dispatch('Evt13', rp);
    assert.equal(fsm.state, 'Sta1');
    assert.deepEqual(io.calls, [
      ['connect'],
      ['sendPdu', 'A-ASSOCIATE-RQ', ASSOCIATE_RQ],
      ['indicate', 'A-ASSOCIATE-confirmation-accept', ac],
      ['sendPdu', 'P-DATA-TF', pdata],
      ['indicate', 'P-DATA-indication', pdata],
      ['sendPdu', 'A-RELEASE-RQ', undefined],
      ['indicate', 'A-RELEASE-confirmation', rp],
      ['closeTransport'],
    ]);
  });

  it('a name that is not an event, even an inherited property name, throws', () => {
    const fsm = new StateMachine<EventPayloadMap>(new FakeIo(), { requestor: true });
    for (const name of ['constructor', '__proto__', 'toString', 'Evt20']) {
      assert.throws(() => fsm.dispatch(name as Event), isInvalidEventError);
    }
    assert.equal(fsm.state, 'Sta1');
  });

  it('every action has a description and is used by the table', () => {
    const used = new Set(Object.values(TRANSITIONS).flatMap((row) => Object.values(row)));
    for (const [name, action] of Object.entries(ACTIONS)) {
      assert.ok(action.description.length > 10, name);
      assert.ok(used.has(name as ActionName), `${name} unused`);
    }
    assert.equal(Object.keys(ACTIONS).length, 28);
  });
});

describe('release collision (AR-8 to AR-10) depends on the side', () => {
  it('requestor: Sta7 → AR-8 → Sta9 → AR-9 → Sta11 → AR-3 → Sta1', () => {
    const { fsm, io, transitions } = machineIn('Sta7');
    const peerRq = { pdu: 'A-RELEASE-RQ' };
    const peerRp = { pdu: 'A-RELEASE-RP' };
    fsm.dispatch('Evt12', peerRq);
    fsm.dispatch('Evt14', { primitive: 'A-RELEASE response' });
    fsm.dispatch('Evt13', peerRp);
    assert.deepEqual(transitions.map((t) => `${t.from}+${t.event}→${t.action}→${t.to}`), [
      'Sta7+Evt12→AR-8→Sta9',
      'Sta9+Evt14→AR-9→Sta11',
      'Sta11+Evt13→AR-3→Sta1',
    ]);
    assert.deepEqual(io.calls, [
      ['indicate', 'A-RELEASE-indication', peerRq],
      ['sendPdu', 'A-RELEASE-RP', { primitive: 'A-RELEASE response' }],
      ['indicate', 'A-RELEASE-confirmation', peerRp],
      ['closeTransport'],
    ]);
  });

  it('acceptor: Sta7 → AR-8 → Sta10 → AR-10 → Sta12 → AR-4 → Sta13 → AR-5 → Sta1', () => {
    const io = new FakeIo();
    const transitions: Transition[] = [];
    const fsm = new StateMachine<EventPayloadMap>(io, { requestor: false, onTransition: (t) => transitions.push(t) });
    for (const event of ['Evt5', 'Evt6', 'Evt7', 'Evt11'] as const) fsm.dispatch(event);
    assert.equal(fsm.state, 'Sta7');
    io.calls.length = 0;
    transitions.length = 0;
    const peerRq = { pdu: 'A-RELEASE-RQ' };
    const peerRp = { pdu: 'A-RELEASE-RP' };
    fsm.dispatch('Evt12', peerRq);
    fsm.dispatch('Evt13', peerRp);
    fsm.dispatch('Evt14', { primitive: 'A-RELEASE response' });
    fsm.dispatch('Evt17');
    assert.deepEqual(transitions.map((t) => `${t.from}+${t.event}→${t.action}→${t.to}`), [
      'Sta7+Evt12→AR-8→Sta10',
      'Sta10+Evt13→AR-10→Sta12',
      'Sta12+Evt14→AR-4→Sta13',
      'Sta13+Evt17→AR-5→Sta1',
    ]);
    assert.deepEqual(io.calls, [
      ['indicate', 'A-RELEASE-indication', peerRq],
      ['indicate', 'A-RELEASE-confirmation', peerRp],
      ['sendPdu', 'A-RELEASE-RP', { primitive: 'A-RELEASE response' }],
      ['startArtim'],
      ['stopArtim'],
    ]);
  });
});

describe('dispatch runs each event to completion', () => {
  it('an event dispatched from inside an io call runs after the current action', () => {
    const { fsm, io, transitions } = machineIn('Sta6');
    const seen: string[] = [];
    io.onCall = (call) => {
      if (call[0] === 'sendPdu' && call[1] === 'P-DATA-TF') {
        fsm.dispatch('Evt17'); // the socket died while writing
        seen.push(`after nested dispatch: ${fsm.state}, ${io.calls.length} call(s)`);
      }
    };
    fsm.dispatch('Evt9', { pdvs: 1 });
    assert.deepEqual(seen, ['after nested dispatch: Sta6, 1 call(s)']);
    assert.equal(fsm.state, 'Sta1');
    assert.deepEqual(transitions.map((t) => `${t.from}+${t.event}→${t.action}→${t.to}`), [
      'Sta6+Evt9→DT-1→Sta6',
      'Sta6+Evt17→AA-4→Sta1',
    ]);
    assert.deepEqual(io.calls, [
      ['sendPdu', 'P-DATA-TF', { pdvs: 1 }],
      ['indicate', 'A-P-ABORT-indication', { source: 2, reason: 0 }],
    ]);
  });

  it('queued events run in order, and a synchronous connect completes through Evt2', () => {
    const io = new FakeIo();
    const fsm = new StateMachine<EventPayloadMap>(io, { requestor: true });
    io.onCall = (call) => {
      if (call[0] === 'connect') fsm.dispatch('Evt2');
      if (call[0] === 'sendPdu' && call[1] === 'A-ASSOCIATE-RQ') {
        fsm.dispatch('Evt3', { pdu: 'AC' });
        fsm.dispatch('Evt10', { pdu: 'P-DATA-TF' });
      }
    };
    fsm.dispatch('Evt1', ASSOCIATE_RQ);
    assert.equal(fsm.state, 'Sta6');
    assert.deepEqual(io.calls, [
      ['connect'],
      ['sendPdu', 'A-ASSOCIATE-RQ', ASSOCIATE_RQ],
      ['indicate', 'A-ASSOCIATE-confirmation-accept', { pdu: 'AC' }],
      ['indicate', 'P-DATA-indication', { pdu: 'P-DATA-TF' }],
    ]);
  });

  it('a queued event that is invalid throws from the outer dispatch; the machine stays usable', () => {
    const { fsm, io } = machineIn('Sta6');
    io.onCall = (call) => {
      if (call[0] === 'sendPdu') {
        fsm.dispatch('Evt7'); // invalid in Sta6
        fsm.dispatch('Evt11'); // dropped with the failed queue
      }
    };
    assert.throws(() => fsm.dispatch('Evt9', { pdvs: 1 }), isInvalidEventError);
    assert.equal(fsm.state, 'Sta6');
    io.onCall = undefined;
    io.calls.length = 0;
    fsm.dispatch('Evt10', { pdvs: 2 });
    assert.equal(fsm.state, 'Sta6');
    assert.deepEqual(io.calls, [['indicate', 'P-DATA-indication', { pdvs: 2 }]]);
  });

  it('an io method that throws leaves the state unchanged and the machine usable', () => {
    const { fsm, io } = machineIn('Sta6');
    io.onCall = () => { throw new Error('encoder bug'); };
    assert.throws(() => fsm.dispatch('Evt11'), /encoder bug/);
    assert.equal(fsm.state, 'Sta6');
    io.onCall = undefined;
    fsm.dispatch('Evt11');
    assert.equal(fsm.state, 'Sta7');
  });

  it('a runaway re-entrant loop is stopped by the queue bound', () => {
    const { fsm, io } = machineIn('Sta6');
    io.onCall = () => {
      fsm.dispatch('Evt10', {});
      fsm.dispatch('Evt10', {});
    };
    assert.throws(() => fsm.dispatch('Evt10', {}),
      (err: unknown) => err instanceof DicomError && err.code === 'ERR_DICOM_FSM_QUEUE_OVERFLOW');
    io.onCall = undefined;
    fsm.dispatch('Evt11');
    assert.equal(fsm.state, 'Sta7');
  });
});

describe('Timer (ARTIM)', () => {
  it('fires once when due, and reports running until then', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const timer = new Timer();
    let fired = 0;
    timer.start(30_000, () => { fired += 1; });
    assert.equal(timer.running, true);
    t.mock.timers.tick(29_999);
    assert.equal(fired, 0);
    t.mock.timers.tick(1);
    assert.equal(fired, 1);
    assert.equal(timer.running, false);
    t.mock.timers.tick(60_000);
    assert.equal(fired, 1);
  });

  it('never fires after stop', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const timer = new Timer();
    let fired = 0;
    timer.start(1_000, () => { fired += 1; });
    timer.stop();
    assert.equal(timer.running, false);
    t.mock.timers.tick(10_000);
    assert.equal(fired, 0);
    timer.stop(); // stopping a stopped timer is harmless
  });

  it('start restarts: only the latest callback fires, at the latest deadline', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const timer = new Timer();
    const fired: string[] = [];
    timer.start(1_000, () => fired.push('first'));
    t.mock.timers.tick(900);
    timer.start(1_000, () => fired.push('second'));
    t.mock.timers.tick(900);
    assert.deepEqual(fired, []);
    t.mock.timers.tick(100);
    assert.deepEqual(fired, ['second']);
  });

  it('can be restarted from its own expiry callback', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const timer = new Timer();
    let fired = 0;
    const onExpire = (): void => {
      fired += 1;
      if (fired < 3) timer.start(10, onExpire);
    };
    timer.start(10, onExpire);
    t.mock.timers.tick(10);
    t.mock.timers.tick(10);
    t.mock.timers.tick(10);
    t.mock.timers.tick(100);
    assert.equal(fired, 3);
  });

  it('rejects delays setTimeout would not honour', () => {
    const timer = new Timer();
    for (const ms of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_TIMER_MS + 1]) {
      assert.throws(() => timer.start(ms, () => undefined), RangeError);
    }
    assert.equal(timer.running, false);
  });

  it('does not keep the process alive', async () => {
    // A child arms a 30 s timer and should exit at once; if the timer kept it alive it would
    // print "fired" before exiting.
    const moduleUrl = new URL('../../../../src/dicom/ul/timers.js', import.meta.url).href;
    const script = `import { Timer } from ${JSON.stringify(moduleUrl)};
      new Timer().start(30000, () => console.log('fired'));
      process.on('exit', () => console.log('exit'));`;
    const { stdout } = await promisify(execFile)(process.execPath,
      ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)) });
    assert.equal(stdout, 'exit\n');
  });
});
