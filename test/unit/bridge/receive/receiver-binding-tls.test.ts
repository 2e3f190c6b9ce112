import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { ConfigError } from '../../../../src/config/errors.js';
import { DEFAULT_CONFIG } from '../../../../src/config/defaults.js';
import type { Config } from '../../../../src/config/schema.js';
import type { Receiver, ReceiverSettings } from '../../../../src/bridge/receive/receiver.js';
import { ReceiverBinding, type ReceiverExtras } from '../../../../src/bridge/receive/receiver-binding.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { createTestPki, type Issued, type TestPki } from '../../../support/test-pki.js';

/** A receiver that records what is done to it. */
class FakeReceiver implements Receiver {
  listening = true;
  readonly contexts: SecureContextOptions[] = [];
  constructor(readonly port: number, readonly extras: ReceiverExtras | undefined) {}
  get secure(): boolean {
    return this.extras?.tls !== undefined;
  }
  get activeAssociations(): number {
    return 0;
  }
  get stats(): Receiver['stats'] {
    return { accepted: 0, rejected: {}, ended: { released: 0, aborted: 0, closed: 0 }, connectionsRefused: 0 };
  }
  setTimeouts(): void {}
  setSecureContext(context: SecureContextOptions): void {
    this.contexts.push(context);
  }
  stopListening(): void {
    this.listening = false;
  }
  close(): Promise<void> {
    this.listening = false;
    return Promise.resolve();
  }
}

describe('ReceiverBinding: the DICOM TLS listener', () => {
  let dir: string;
  let pki: TestPki;
  let server: Issued;
  let renewed: Issued;
  let base: Config['receive'];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binding-tls-'));
    pki = createTestPki(dir);
    server = pki.issue('server');
    renewed = pki.issue('renewed');
    base = { ...DEFAULT_CONFIG.receive, host: '127.0.0.1', port: 11112, tls: { enabled: true, port: 2762, certFile: server.certFile, keyFile: server.keyFile, caFile: pki.caFile, requireClientCert: true } };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function binding(started: FakeReceiver[], refuse?: number): ReceiverBinding {
    return new ReceiverBinding({
      start: async (s: ReceiverSettings, extras?: ReceiverExtras) => {
        if (s.port === refuse) throw Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
        const r = new FakeReceiver(s.port, extras);
        started.push(r);
        return r;
      },
      log: noopLogger,
    });
  }

  it('starts beside the plain listener, both with one association limit', async () => {
    const started: FakeReceiver[] = [];
    const b = binding(started);
    await b.prepare(base);
    await b.start(base);
    await b.startTls(base);
    assert.deepEqual(started.map((r) => [r.port, r.secure]), [[11112, false], [2762, true]]);
    assert.equal(started[0]!.extras!.slots, started[1]!.extras!.slots);
    assert.equal(started[1]!.extras!.tls!.requireClientCert, true);
    assert.equal(b.tlsPort, 2762);
    await b.close();
  });

  it('on Save reloads the certificate without a new listener; a port change re-binds; off stops it; the plain listener untouched', async () => {
    const started: FakeReceiver[] = [];
    const b = binding(started, 2763);
    await b.prepare(base);
    await b.start(base);
    await b.startTls(base);
    const tls = started[1]!;

    const changes: string[] = [];
    const next = { ...base, tls: { ...base.tls, certFile: renewed.certFile, keyFile: renewed.keyFile } };
    await b.apply(base, next, changes);
    assert.equal(started.length, 2, 'no new listener');
    assert.equal(tls.contexts.length, 1);
    assert.match(String(tls.contexts[0]!.cert), /BEGIN CERTIFICATE/);
    assert.deepEqual(changes, ['DICOM TLS certificate files changed and reloaded']);

    await assert.rejects(b.apply(next, { ...next, tls: { ...next.tls, keyFile: server.keyFile } }, []),
      (err: unknown) => err instanceof ConfigError && err.key === 'receive.tls.keyFile');
    await assert.rejects(b.apply(next, { ...next, tls: { ...next.tls, port: 2763 } }, []),
      (err: unknown) => err instanceof ConfigError && err.key === 'receive.tls.port');
    assert.equal(b.tls, tls, 'a port that cannot be bound changes nothing');

    const moved: string[] = [];
    await b.apply(next, { ...next, tls: { ...next.tls, port: 2764 } }, moved);
    assert.equal(b.tlsPort, 2764);
    assert.ok(!tls.listening);
    assert.deepEqual(moved, ['DICOM TLS receiver now listening on 127.0.0.1:2764']);

    const off: string[] = [];
    await b.apply({ ...next, tls: { ...next.tls, port: 2764 } }, { ...next, tls: { ...next.tls, port: 2764, enabled: false } }, off);
    assert.equal(b.tls, null);
    assert.ok(started[0]!.listening, 'receive.enabled still means the plain listener');
    assert.deepEqual(off, ['DICOM TLS receiving now off']);
    await b.close();
  });
});
