// echoPeer against real sockets on 127.0.0.1: the repo's own acceptor as the PACS, a closed
// port, a server that accepts TCP but never answers, and DCMTK storescp in the private netns.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DimseServiceProvider } from '../../../../src/dicom/dimse/service.js';
import { createAcceptor, type Acceptor } from '../../../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { echoPeer } from '../../../../src/bridge/send/echo-peer.js';
import type { SendTarget } from '../../../../src/bridge/send/store-sender.js';
import { requirePrivateNetns, startStorescp } from '../../../support/peers/storescp.js';

async function startPacs(echoStatus: number): Promise<{ acceptor: Acceptor; port: number }> {
  const acceptor = createAcceptor({
    aeTitle: 'PACS',
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'TESTPACS',
    acceptContext: (_as, tss) => ({ result: 0, transferSyntax: tss[0] }),
    maxAssociations: 4,
    artimTimeoutMs: 10_000,
    idleTimeoutMs: 0,
    log: noopLogger,
    onAssociation: (channel) => new DimseServiceProvider(channel, { onEcho: () => echoStatus, onStore: () => ({ status: 0x0122 }) }, noopLogger),
  });
  const { port } = await acceptor.listen(0, '127.0.0.1');
  return { acceptor, port };
}

function target(port: number, calledAeTitle = 'PACS'): SendTarget {
  return { host: '127.0.0.1', port, callingAeTitle: 'BRIDGE', calledAeTitle };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('echoPeer against the repo acceptor', () => {
  const acceptors: Acceptor[] = [];
  after(async () => {
    await Promise.all(acceptors.map((a) => a.close()));
  });

  it('succeeds with the round-trip time and releases the association', async () => {
    const pacs = await startPacs(0);
    acceptors.push(pacs.acceptor);
    const result = await echoPeer(target(pacs.port), { timeoutMs: 10_000 });
    assert.equal(result.ok, true);
    assert.ok(result.ok && typeof result.rttMs === 'number' && result.rttMs >= 0);
    assert.equal(pacs.acceptor.activeAssociations, 0);
  });

  it('connection refused', async () => {
    const port = await closedPort();
    assert.deepEqual(await echoPeer(target(port), { timeoutMs: 10_000 }), {
      ok: false,
      reason: `connection refused by 127.0.0.1:${port} (nothing listens on that port, or a firewall refuses)`,
    });
  });

  it('called AE title rejected', async () => {
    const pacs = await startPacs(0);
    acceptors.push(pacs.acceptor);
    assert.deepEqual(await echoPeer(target(pacs.port, 'NOTPACS'), { timeoutMs: 10_000 }), {
      ok: false,
      reason: 'association rejected by the PACS: called AE title not recognised ("NOTPACS") (permanent)',
    });
  });

  it('a failure status of the C-ECHO', async () => {
    const pacs = await startPacs(0x0110);
    acceptors.push(pacs.acceptor);
    assert.deepEqual(await echoPeer(target(pacs.port), { timeoutMs: 10_000 }), {
      ok: false,
      reason: 'C-ECHO answered with status 0x0110 (processing failure)',
    });
  });

  it('a peer that accepts TCP but never answers the association request times out', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.resume(); // read and ignore: never an A-ASSOCIATE-AC
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const result = await echoPeer(target(port), { timeoutMs: 300 });
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.reason.startsWith(`no answer from 127.0.0.1:${port} within 300 ms (timed out`), !result.ok ? result.reason : '');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('host name not found', async () => {
    // .invalid never resolves (RFC 6761), also without network.
    const result = await echoPeer({ host: 'pacs.invalid', port: 104, callingAeTitle: 'BRIDGE', calledAeTitle: 'PACS' }, { timeoutMs: 10_000 });
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.reason.startsWith('host name not found: "pacs.invalid"'), !result.ok ? result.reason : '');
  });
});

describe('echoPeer against DCMTK storescp', () => {
  it('succeeds', async () => {
    requirePrivateNetns('storescp');
    const dir = await mkdtemp(join(tmpdir(), 'echo-storescp-'));
    const peer = await startStorescp({ outDir: join(dir, 'in') });
    try {
      const ok = await echoPeer({ host: '127.0.0.1', port: peer.port, callingAeTitle: 'BRIDGE', calledAeTitle: peer.aeTitle }, { timeoutMs: 10_000 });
      assert.equal(ok.ok, true, JSON.stringify(ok));
    } finally {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
