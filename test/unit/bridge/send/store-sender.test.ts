// C-STORE SCU planning and sending, against the repo's own acceptor + DimseServiceProvider as
// the PACS (real sockets on 127.0.0.1, port 0), and against DCMTK storescp inside the test
// runner's private network namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DimseServiceProvider, type DatasetSink, type StoreOutcome, type StoreRequest } from '../../../../src/dicom/dimse/service.js';
import { readFileMeta } from '../../../../src/dicom/part10/file-meta.js';
import { createAcceptor, type Acceptor, type ContextDecision } from '../../../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import type { PDataChannel } from '../../../../src/dicom/ul/primitives.js';
import {
  MAX_CONTEXTS_PER_ASSOCIATION,
  SendError,
  instanceSent,
  planAssociations,
  sendInstances,
  type InstanceResult,
  type OutgoingInstance,
  type SendOptions,
  type SendTarget,
} from '../../../../src/bridge/send/store-sender.js';
import { captureLog, LEVEL } from '../../../support/log-capture.js';
import { requirePrivateNetns, startStorescp } from '../../../support/peers/storescp.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const J2K = '1.2.840.10008.1.2.4.90';
const TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** What the test PACS received for one C-STORE. */
interface Received {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntax: string;
  bytes: Buffer;
}

interface PacsOptions {
  aeTitle?: string;
  acceptContext?(abstractSyntax: string, transferSyntaxes: readonly string[]): ContextDecision;
  /** Outcome for the n-th store (0-based); default success. */
  outcome?(rq: StoreRequest, index: number): StoreOutcome;
  /** Called with every chunk; may abort the association. */
  onChunk?(channel: PDataChannel, bytesSoFar: number): void;
  /** Associations accepted at once; beyond, rejected with "local limit exceeded" (default 4). */
  maxAssociations?: number;
  /** Awaited before each C-STORE response (to hold the answers until something happened). */
  beforeResponse?(): Promise<void>;
}

interface Pacs {
  port: number;
  received: Received[];
  associations: number;
  /** The channel of every association, in the order they were accepted. */
  channels: PDataChannel[];
  /** Which association (index in `channels`) carried each received instance. */
  carriedBy: number[];
  acceptor: Acceptor;
}

const acceptAll = (_as: string, tss: readonly string[]): ContextDecision => ({ result: 0, transferSyntax: tss[0] });

async function startPacs(options: PacsOptions = {}): Promise<Pacs> {
  const pacs = { port: 0, received: [] as Received[], associations: 0, channels: [] as PDataChannel[], carriedBy: [] as number[] } as Pacs;
  pacs.acceptor = createAcceptor({
    aeTitle: options.aeTitle ?? 'PACS',
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'TESTPACS',
    acceptContext: options.acceptContext ?? acceptAll,
    maxAssociations: options.maxAssociations ?? 4,
    artimTimeoutMs: 10_000,
    idleTimeoutMs: 0,
    log: noopLogger,
    onAssociation: (channel) => {
      pacs.associations++;
      pacs.channels.push(channel);
      return new DimseServiceProvider(channel, {
        onStore: (rq): DatasetSink => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          return {
            write(chunk) {
              chunks.push(Buffer.from(chunk));
              bytes += chunk.length;
              options.onChunk?.(channel, bytes);
            },
            async end() {
              await options.beforeResponse?.();
              const index = pacs.received.length;
              pacs.carriedBy.push(pacs.channels.indexOf(channel));
              pacs.received.push({
                sopClassUid: rq.AffectedSOPClassUID,
                sopInstanceUid: rq.AffectedSOPInstanceUID,
                transferSyntax: rq.transferSyntax,
                bytes: Buffer.concat(chunks),
              });
              return options.outcome?.(rq, index) ?? { status: 0 };
            },
            abort() {},
          };
        },
      }, noopLogger);
    },
  });
  pacs.port = (await pacs.acceptor.listen(0, '127.0.0.1')).port;
  return pacs;
}

function target(port: number, calledAeTitle = 'PACS'): SendTarget {
  return { host: '127.0.0.1', port, callingAeTitle: 'BRIDGE', calledAeTitle };
}

function options(extra: Partial<SendOptions> = {}): SendOptions {
  return { connectTimeoutMs: 10_000, responseTimeoutMs: 10_000, maxPduLength: 16384, log: noopLogger, ...extra };
}

async function* chunked(buf: Buffer, size = 5000): AsyncGenerator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}

/** An instance whose data set is the given bytes (the PACS under test does not parse them). */
function memoryInstance(sopClassUid: string, transferSyntaxUid: string, sopInstanceUid: string, bytes: Buffer): OutgoingInstance {
  return { sopClassUid, sopInstanceUid, transferSyntaxUid, openDataset: async () => chunked(bytes) };
}

/** A Part 10 file as an instance: the data set is streamed from the file after its meta. */
async function fileInstance(path: string, chunkBytes = 7000): Promise<{ instance: OutgoingInstance; dataset: Buffer }> {
  const meta = await readFileMeta(path);
  const dataset = readFileSync(path).subarray(meta.datasetOffset);
  return {
    dataset,
    instance: {
      sopClassUid: meta.mediaStorageSopClassUid,
      sopInstanceUid: meta.mediaStorageSopInstanceUid,
      transferSyntaxUid: meta.transferSyntaxUid,
      openDataset: async () => createReadStream(path, { start: meta.datasetOffset, highWaterMark: chunkBytes }),
    },
  };
}

describe('planAssociations', () => {
  it('proposes one context per distinct (SOP class, transfer syntax), the file syntax only', () => {
    const instances = [
      memoryInstance(CT, EXPLICIT_LE, '1.1', Buffer.alloc(2)),
      memoryInstance(CT, EXPLICIT_LE, '1.2', Buffer.alloc(2)),
      memoryInstance(CT, J2K, '1.3', Buffer.alloc(2)),
      memoryInstance(MR, EXPLICIT_LE, '1.4', Buffer.alloc(2)),
    ];
    const plans = planAssociations(instances);
    assert.equal(plans.length, 1);
    assert.deepEqual(plans[0]!.contexts, [
      { pcId: 1, abstractSyntax: CT, transferSyntaxes: [EXPLICIT_LE] },
      { pcId: 3, abstractSyntax: CT, transferSyntaxes: [J2K] },
      { pcId: 5, abstractSyntax: MR, transferSyntaxes: [EXPLICIT_LE] },
    ]);
    assert.deepEqual(plans[0]!.instances.map((i) => i.sopInstanceUid), ['1.1', '1.2', '1.3', '1.4']);
    assert.deepEqual(planAssociations([]), []);
  });

  it('splits 200 distinct SOP classes into 2 associations of at most 128 contexts, odd unique pcIds', () => {
    const instances: OutgoingInstance[] = [];
    for (let i = 0; i < 200; i++) {
      instances.push(memoryInstance(`1.2.3.${i}`, EXPLICIT_LE, `9.${i}.a`, Buffer.alloc(2)));
      instances.push(memoryInstance(`1.2.3.${i}`, EXPLICIT_LE, `9.${i}.b`, Buffer.alloc(2)));
    }
    const plans = planAssociations(instances);
    assert.equal(plans.length, 2);
    assert.equal(plans[0]!.contexts.length, MAX_CONTEXTS_PER_ASSOCIATION);
    assert.equal(plans[1]!.contexts.length, 200 - MAX_CONTEXTS_PER_ASSOCIATION);
    for (const plan of plans) {
      const ids = plan.contexts.map((c) => c.pcId);
      assert.ok(ids.every((id) => id % 2 === 1 && id >= 1 && id <= 255), 'odd, 1..255');
      assert.equal(new Set(ids).size, ids.length, 'unique');
      // Every instance of a plan has its context in that plan.
      const classes = new Set(plan.contexts.map((c) => c.abstractSyntax));
      assert.ok(plan.instances.every((i) => classes.has(i.sopClassUid)));
    }
    assert.equal(plans[0]!.instances.length + plans[1]!.instances.length, 400);
    assert.equal(plans[0]!.contexts[127]!.pcId, 255);
  });
});

describe('sendInstances against the repo acceptor as PACS', () => {
  const pacses: Pacs[] = [];
  const start = async (o: PacsOptions = {}): Promise<Pacs> => {
    const p = await startPacs(o);
    pacses.push(p);
    return p;
  };
  after(async () => {
    await Promise.all(pacses.map((p) => p.acceptor.close()));
  });

  it('stores real files of several SOP classes and transfer syntaxes byte-identical, then releases', async () => {
    const names = ['CT_small.dcm', 'MR_small_RLE.dcm', 'JPEG2000.dcm', 'MR_small_bigendian.dcm', 'image_dfl.dcm', 'rtplan.dcm', 'MR_small_implicit.dcm'];
    const files = await Promise.all(names.map((n) => fileInstance(join(TEST_FILES, n))));
    assert.ok(new Set(files.map((f) => f.instance.transferSyntaxUid)).size >= 5, 'the sample mixes transfer syntaxes');
    const pacs = await start();
    const progress: InstanceResult[] = [];
    const results = await sendInstances(target(pacs.port), files.map((f) => f.instance), options({ onResult: (r) => progress.push(r) }));
    assert.equal(results.length, files.length);
    assert.deepEqual(progress, results);
    assert.ok(results.every((r) => r.status === 0 && instanceSent(r.status)), JSON.stringify(results));
    assert.equal(pacs.received.length, files.length);
    files.forEach((f, i) => {
      const got = pacs.received[i]!;
      assert.equal(got.sopInstanceUid, f.instance.sopInstanceUid);
      assert.equal(got.sopClassUid, f.instance.sopClassUid);
      assert.equal(got.transferSyntax, f.instance.transferSyntaxUid, `${names[i]} kept its own transfer syntax`);
      // A deflated bitstream of odd length gets the trailing NUL of PS3.5 §A.5; all else is exact.
      const expected = f.dataset.length % 2 === 1 && f.instance.transferSyntaxUid === '1.2.840.10008.1.2.1.99'
        ? Buffer.concat([f.dataset, Buffer.alloc(1)])
        : f.dataset;
      assert.ok(got.bytes.equals(expected), `${names[i]} arrived byte-identical`);
    });
    assert.equal(pacs.associations, 1);
    // Released, not aborted: the acceptor has no live association left once we return.
    assert.equal(pacs.acceptor.activeAssociations, 0);
  });

  it('reports a failure status per instance and still sends the rest; a warning counts as sent', async () => {
    const pacs = await start({
      outcome: (_rq, i) => (i === 1 ? { status: 0xa700, errorComment: 'disk full' } : i === 2 ? { status: 0xb000 } : { status: 0 }),
    });
    const data = [randomBytes(40_000), randomBytes(30_000), randomBytes(20_000), randomBytes(100)];
    const instances = data.map((d, i) => memoryInstance(CT, EXPLICIT_LE, `2.${i}`, d));
    const results = await sendInstances(target(pacs.port), instances, options());
    assert.deepEqual(results.map((r) => r.status), [0, 0xa700, 0xb000, 0]);
    assert.equal(results[1]!.errorComment, 'disk full');
    assert.match(results[1]!.text, /0xA700/);
    assert.match(results[1]!.text, /out of resources/);
    assert.match(results[1]!.text, /disk full/);
    assert.equal(instanceSent(results[1]!.status), false);
    assert.equal(instanceSent(results[2]!.status), true);
    assert.match(results[2]!.text, /warning/);
    assert.equal(pacs.received.length, 4);
    pacs.received.forEach((r, i) => assert.ok(r.bytes.equals(data[i]!)));
  });

  it('fails the instances of a refused context with a readable text and sends the others', async () => {
    const pacs = await start({
      acceptContext: (_as, tss) => (tss[0] === J2K ? { result: 4 } : { result: 0, transferSyntax: tss[0] }),
    });
    const instances = [
      memoryInstance(CT, EXPLICIT_LE, '3.1', randomBytes(1000)),
      memoryInstance(CT, J2K, '3.2', randomBytes(1000)),
      memoryInstance(MR, IMPLICIT_LE, '3.3', randomBytes(1000)),
    ];
    const results = await sendInstances(target(pacs.port), instances, options());
    assert.equal(results.length, 3);
    const refused = results.find((r) => r.sopInstanceUid === '3.2')!;
    assert.equal(instanceSent(refused.status), false);
    assert.equal(refused.text, 'PACS refused CT Image Storage in JPEG 2000 Image Compression (Lossless Only) (transfer syntax not supported)');
    assert.ok(results.filter((r) => r.sopInstanceUid !== '3.2').every((r) => r.status === 0));
    assert.deepEqual(pacs.received.map((r) => r.sopInstanceUid), ['3.1', '3.3']);
  });

  it('an unreadable instance fails alone; a new association carries the rest', async () => {
    const pacs = await start();
    async function* broken(): AsyncGenerator<Buffer> {
      yield randomBytes(40_000);
      throw new Error('EIO: bad sector');
    }
    const good = [randomBytes(30_000), randomBytes(30_000)];
    const instances: OutgoingInstance[] = [
      memoryInstance(CT, EXPLICIT_LE, '4.1', good[0]!),
      { sopClassUid: CT, sopInstanceUid: '4.2', transferSyntaxUid: EXPLICIT_LE, openDataset: async () => broken() },
      { sopClassUid: CT, sopInstanceUid: '4.3', transferSyntaxUid: EXPLICIT_LE, openDataset: () => Promise.reject(new Error('entry missing')) },
      memoryInstance(CT, EXPLICIT_LE, '4.4', good[1]!),
    ];
    const results = await sendInstances(target(pacs.port), instances, options());
    assert.deepEqual(results.map((r) => [r.sopInstanceUid, instanceSent(r.status)]), [['4.1', true], ['4.2', false], ['4.3', false], ['4.4', true]]);
    assert.match(results[1]!.text, /bad sector/);
    assert.match(results[2]!.text, /entry missing/);
    assert.deepEqual(pacs.received.map((r) => r.sopInstanceUid), ['4.1', '4.4']);
    assert.ok(pacs.received[1]!.bytes.equals(good[1]!));
    assert.equal(pacs.associations, 2);
  });

  it('connection refused → transient SendError with a readable reason', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await assert.rejects(sendInstances(target(port), [memoryInstance(CT, EXPLICIT_LE, '5.1', Buffer.alloc(10))], options()), (err: unknown) => {
      assert.ok(err instanceof SendError);
      assert.equal(err.code, 'ERR_SEND');
      assert.equal(err.transient, true);
      assert.equal(err.reason, `connection refused by 127.0.0.1:${port} (nothing listens on that port, or a firewall refuses)`);
      return true;
    });
  });

  it('rejected called AE title → permanent SendError naming the reason', async () => {
    const pacs = await start({ aeTitle: 'PACS' });
    await assert.rejects(sendInstances(target(pacs.port, 'WRONG'), [memoryInstance(CT, EXPLICIT_LE, '6.1', Buffer.alloc(10))], options()), (err: unknown) => {
      assert.ok(err instanceof SendError);
      assert.equal(err.transient, false);
      assert.equal(err.reason, 'association rejected by the PACS: called AE title not recognised ("WRONG") (permanent)');
      return true;
    });
    assert.equal(pacs.received.length, 0);
  });

  it('PACS aborts mid-dataset → transient SendError; instances answered before keep their results', async () => {
    const pacs = await start({
      onChunk: (channel, bytes) => {
        if (pacs.received.length === 1 && bytes > 50_000) channel.abort();
      },
    });
    const progress: InstanceResult[] = [];
    const instances = [
      memoryInstance(CT, EXPLICIT_LE, '7.1', randomBytes(10_000)),
      memoryInstance(CT, EXPLICIT_LE, '7.2', randomBytes(2_000_000)),
      memoryInstance(CT, EXPLICIT_LE, '7.3', randomBytes(10_000)),
    ];
    await assert.rejects(sendInstances(target(pacs.port), instances, options({ onResult: (r) => progress.push(r) })), (err: unknown) => {
      assert.ok(err instanceof SendError);
      assert.equal(err.transient, true);
      assert.equal(err.reason, 'the PACS aborted the association while an instance was being sent');
      return true;
    });
    assert.deepEqual(progress.map((r) => [r.sopInstanceUid, r.status]), [['7.1', 0]]);
    assert.deepEqual(pacs.received.map((r) => r.sopInstanceUid), ['7.1']);
  });

  it('no C-STORE response in time → transient SendError saying so', async () => {
    // A sink that never finishes: the PACS takes the data and never answers.
    const acceptor = createAcceptor({
      aeTitle: null, maxPduLength: 16384, implementationClassUid: '1.2.3', implementationVersionName: 'X',
      acceptContext: acceptAll, maxAssociations: 2, artimTimeoutMs: 10_000, idleTimeoutMs: 0, log: noopLogger,
      onAssociation: (channel) => new DimseServiceProvider(channel, {
        onStore: () => ({ write() {}, end: () => new Promise<StoreOutcome>(() => {}), abort() {} }),
      }, noopLogger),
    });
    const { port } = await acceptor.listen(0, '127.0.0.1');
    try {
      await assert.rejects(
        sendInstances(target(port), [memoryInstance(CT, EXPLICIT_LE, '8.1', Buffer.alloc(100))], options({ responseTimeoutMs: 200 })),
        (err: unknown) => err instanceof SendError && err.transient && err.reason === `no C-STORE response from 127.0.0.1:${port} within 200 ms (timed out)`,
      );
    } finally {
      await acceptor.close();
    }
  });

  it('more than 128 contexts use several associations, all released', async () => {
    const pacs = await start();
    const instances = Array.from({ length: 130 }, (_, i) => memoryInstance(`1.2.826.0.1.3680043.9.7.${i}`, EXPLICIT_LE, `9.9.${i}`, Buffer.alloc(20, i)));
    const results = await sendInstances(target(pacs.port), instances, options());
    assert.equal(results.length, 130);
    assert.ok(results.every((r) => r.status === 0));
    assert.equal(pacs.associations, 2);
    assert.equal(pacs.received.length, 130);
    assert.equal(pacs.acceptor.activeAssociations, 0);
  });
});

describe('sendInstances over parallel associations (send.associations)', () => {
  const pacses: Pacs[] = [];
  const start = async (o: PacsOptions = {}): Promise<Pacs> => {
    const p = await startPacs(o);
    pacses.push(p);
    return p;
  };
  after(async () => {
    await Promise.all(pacses.map((p) => p.acceptor.close()));
  });

  /** Resolves once the PACS has accepted `n` associations (a PACS holding its answers till then). */
  const untilAssociations = async (pacs: Pacs, n: number): Promise<void> => {
    while (pacs.associations < n) await new Promise((resolve) => setImmediate(resolve));
  };
  const sorted = (results: InstanceResult[]) => [...results].sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid));
  const settingWarnings = (lines: ReturnType<ReturnType<typeof captureLog>['lines']>) =>
    lines.filter((l) => l.level === LEVEL.warn && l.msg.includes('send.associations'));

  it('associations: 4 carries the instances over 4 associations at once, every one byte-identical', { timeout: 60_000 }, async () => {
    // The PACS answers no C-STORE until 4 associations are up: only parallel sending gets through.
    const pacs: Pacs = await start({ beforeResponse: () => untilAssociations(pacs, 4) });
    const data = Array.from({ length: 24 }, (_, i) => randomBytes(20_000 + i * 2));
    const instances = data.map((d, i) => memoryInstance(CT, EXPLICIT_LE, `20.${String(i).padStart(2, '0')}`, d));
    const captured = captureLog();
    const results = await sendInstances(target(pacs.port), instances, options({ associations: 4, log: captured.log }));
    assert.equal(results.length, 24);
    assert.ok(results.every((r) => r.status === 0));
    assert.equal(pacs.associations, 4);
    assert.equal(new Set(pacs.carriedBy).size, 4, 'every association carried instances');
    const byUid = new Map(pacs.received.map((r) => [r.sopInstanceUid, r.bytes]));
    instances.forEach((instance, i) => assert.ok(byUid.get(instance.sopInstanceUid)?.equals(data[i]!), `${instance.sopInstanceUid} byte-identical`));
    assert.deepEqual(settingWarnings(captured.lines()), []);
    assert.equal(pacs.acceptor.activeAssociations, 0, 'all released');
  });

  it('a PACS taking one association at a time: everything arrives over it, one warning names send.associations', async () => {
    const pacs = await start({ maxAssociations: 1 });
    const data = Array.from({ length: 12 }, () => randomBytes(10_000));
    const instances = data.map((d, i) => memoryInstance(CT, EXPLICIT_LE, `21.${String(i).padStart(2, '0')}`, d));
    const captured = captureLog();
    const results = await sendInstances(target(pacs.port), instances, options({ associations: 4, log: captured.log }));
    assert.deepEqual(results.map((r) => r.status), data.map(() => 0));
    assert.deepEqual(pacs.received.map((r) => r.sopInstanceUid).sort(), instances.map((i) => i.sopInstanceUid));
    const warnings = settingWarnings(captured.lines());
    assert.equal(warnings.length, 1, 'warned once');
    assert.match(warnings[0]!.msg, /took only 1 of the 4 parallel associations asked for by send\.associations/);
    assert.match(warnings[0]!.msg, /local limit exceeded/);
  });

  it('a PACS aborting the extra associations at their first instance: those instances go over the first, one warning', { timeout: 60_000 }, async () => {
    const pacs: Pacs = await start({
      beforeResponse: () => untilAssociations(pacs, 3),
      onChunk: (channel) => {
        if (pacs.channels.indexOf(channel) > 0) channel.abort();
      },
    });
    const data = Array.from({ length: 10 }, () => randomBytes(30_000));
    const instances = data.map((d, i) => memoryInstance(CT, EXPLICIT_LE, `22.${String(i).padStart(2, '0')}`, d));
    const captured = captureLog();
    const results = await sendInstances(target(pacs.port), instances, options({ associations: 3, log: captured.log }));
    assert.deepEqual(sorted(results).map((r) => [r.sopInstanceUid, r.status]), instances.map((i) => [i.sopInstanceUid, 0]));
    const byUid = new Map(pacs.received.map((r) => [r.sopInstanceUid, r.bytes]));
    instances.forEach((instance, i) => assert.ok(byUid.get(instance.sopInstanceUid)?.equals(data[i]!), `${instance.sopInstanceUid} byte-identical`));
    assert.deepEqual(new Set(pacs.carriedBy), new Set([0]), 'only the first association stored instances');
    const warnings = settingWarnings(captured.lines());
    assert.equal(warnings.length, 1, 'warned once');
    assert.match(warnings[0]!.msg, /took only 1 of the 3 parallel associations/);
    assert.match(warnings[0]!.msg, /aborted the association/);
  });

  it('a failure status for one instance on one of 4 associations: the same per-instance results as over one', { timeout: 60_000 }, async () => {
    const outcome = (rq: StoreRequest): StoreOutcome => (rq.AffectedSOPInstanceUID === '23.05' ? { status: 0xa700, errorComment: 'disk full' } : rq.AffectedSOPInstanceUID === '23.07' ? { status: 0xb000 } : { status: 0 });
    const data = Array.from({ length: 16 }, () => randomBytes(8_000));
    const instances = data.map((d, i) => memoryInstance(CT, EXPLICIT_LE, `23.${String(i).padStart(2, '0')}`, d));
    const one = await sendInstances(target((await start({ outcome })).port), instances, options());
    const four: Pacs = await start({ outcome, beforeResponse: () => untilAssociations(four, 4) });
    const parallel = await sendInstances(target(four.port), instances, options({ associations: 4 }));
    assert.deepEqual(sorted(parallel), sorted(one));
    assert.ok(new Set(four.carriedBy).size > 1, 'several associations carried instances');
    assert.match(sorted(parallel)[5]!.text, /0xA700.*disk full/);
  });

  it('an association lost after it carried instances fails the send (transient); answered instances keep their results', async () => {
    const pacs: Pacs = await start({
      onChunk: (channel, bytes) => {
        if (pacs.received.length >= 4 && bytes > 50_000 && pacs.channels.indexOf(channel) === 0) channel.abort();
      },
    });
    const instances = Array.from({ length: 12 }, (_, i) => memoryInstance(CT, EXPLICIT_LE, `24.${String(i).padStart(2, '0')}`, randomBytes(i >= 4 ? 200_000 : 10_000)));
    const progress: InstanceResult[] = [];
    await assert.rejects(sendInstances(target(pacs.port), instances, options({ associations: 2, onResult: (r) => progress.push(r) })), (err: unknown) => {
      assert.ok(err instanceof SendError);
      assert.equal(err.transient, true);
      return true;
    });
    const stored = new Set(pacs.received.map((r) => r.sopInstanceUid));
    assert.ok(progress.every((r) => r.status === 0 && stored.has(r.sopInstanceUid)), 'every result reported is an instance the PACS stored');
    assert.ok(progress.length < instances.length);
  });
});

describe('sendInstances against DCMTK storescp', () => {
  let dir: string;

  before(async () => {
    // Throws with a clear message outside `npm test`'s private network namespace.
    requirePrivateNetns('storescp');
    dir = await mkdtemp(join(tmpdir(), 'send-storescp-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Sends the sample files read in `chunkBytes` chunks; each stored data set must equal the file's. */
  async function sendAndCompare(chunkBytes: number, dirName: string): Promise<void> {
    const names = ['CT_small.dcm', 'MR_small_RLE.dcm', 'JPEG2000.dcm', 'rtplan.dcm'];
    const files = await Promise.all(names.map((n) => fileInstance(join(TEST_FILES, n), chunkBytes)));
    const peer = await startStorescp({ outDir: join(dir, dirName), extraArgs: ['+xa'] });
    try {
      const results = await sendInstances(
        { host: '127.0.0.1', port: peer.port, callingAeTitle: 'BRIDGE', calledAeTitle: peer.aeTitle },
        files.map((f) => f.instance),
        options(),
      );
      assert.ok(results.every((r) => r.status === 0), JSON.stringify(results));
      const written = await peer.files();
      assert.equal(written.length, files.length);
      for (const f of files) {
        const path = written.find((p) => p.includes(f.instance.sopInstanceUid));
        assert.ok(path, `a file for ${f.instance.sopInstanceUid}`);
        const meta = await readFileMeta(path);
        assert.equal(meta.transferSyntaxUid, f.instance.transferSyntaxUid);
        assert.ok(readFileSync(path).subarray(meta.datasetOffset).equals(f.dataset), `${path} byte-identical`);
      }
    } finally {
      await peer.stop();
    }
  }

  it('every instance arrives byte-identical (each data set read in one 64 KiB chunk)', async () => {
    await sendAndCompare(65536, 'whole');
  });

  it('every instance arrives byte-identical when the data set comes in chunks smaller than a PDU', async () => {
    // Data sets from a ZIP arrive in chunks of any size; DCMTK must still accept the PDUs.
    await sendAndCompare(7000, 'small-chunks');
  });
});
