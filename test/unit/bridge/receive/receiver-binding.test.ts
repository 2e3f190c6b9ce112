import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../../src/config/errors.js';
import { DEFAULT_CONFIG } from '../../../../src/config/defaults.js';
import type { Config } from '../../../../src/config/schema.js';
import type { Receiver, ReceiverSettings, ReceiverTimeouts } from '../../../../src/bridge/receive/receiver.js';
import { ReceiverBinding } from '../../../../src/bridge/receive/receiver-binding.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';

/** A receiver that records what is done to it. */
class FakeReceiver implements Receiver {
  readonly timeouts: ReceiverTimeouts[] = [];
  listening = true;
  closed: Array<number | undefined> = [];
  constructor(readonly port: number) {}
  get activeAssociations(): number {
    return 0;
  }
  get stats(): Receiver['stats'] {
    return { accepted: 0, rejected: {}, ended: { released: 0, aborted: 0, closed: 0 }, connectionsRefused: 0 };
  }
  setTimeouts(timeouts: ReceiverTimeouts): void {
    this.timeouts.push({ ...timeouts });
  }
  stopListening(): void {
    this.listening = false;
  }
  close(options?: { drainMs?: number }): Promise<void> {
    this.listening = false;
    this.closed.push(options?.drainMs);
    return Promise.resolve();
  }
}

function binding(start: (settings: ReceiverSettings) => Promise<Receiver>): ReceiverBinding {
  return new ReceiverBinding({ start, log: noopLogger });
}

const base: Config['receive'] = { ...DEFAULT_CONFIG.receive, host: '127.0.0.1', port: 11112 };

describe('ReceiverBinding', () => {
  it('hands changed timeouts to the running receiver, without re-binding', async () => {
    const started: FakeReceiver[] = [];
    const b = binding(async (s) => {
      const r = new FakeReceiver(s.port);
      started.push(r);
      return r;
    });
    await b.start(base);
    const changes: string[] = [];
    await b.apply(base, { ...base, associationTimeoutSeconds: 5, idleTimeoutSeconds: 7 }, changes);
    assert.equal(started.length, 1, 'no new listener');
    assert.equal(started[0]!.timeouts.length, 1);
    assert.equal(started[0]!.timeouts[0]!.associationTimeoutSeconds, 5);
    assert.equal(started[0]!.timeouts[0]!.idleTimeoutSeconds, 7);
    assert.deepEqual(changes, ['DICOM association requests now time out after 5 s', 'idle DICOM associations now aborted after 7 s']);
  });

  it('re-binds a new port first and lets the old receiver drain; a port that cannot be bound changes nothing', async () => {
    const b = binding(async (s) => {
      if (s.port === 104) throw Object.assign(new Error('listen EACCES'), { code: 'EACCES' });
      return new FakeReceiver(s.port);
    });
    await b.start(base);
    const first = b.current as FakeReceiver;
    await assert.rejects(b.apply(base, { ...base, port: 104 }, []), (err: unknown) => err instanceof ConfigError && /receive\.port/.test(err.message));
    assert.equal(b.current, first);
    assert.ok(first.listening, 'the old listener kept listening');

    const changes: string[] = [];
    await b.apply(base, { ...base, port: 11113 }, changes);
    assert.equal(b.port, 11113);
    assert.ok(!first.listening);
    assert.equal(first.closed.length, 1, 'the old receiver drains');
    assert.deepEqual(changes, ['DICOM receiver now listening on 127.0.0.1:11113']);
  });
});
