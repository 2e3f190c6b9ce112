/**
 * Acceptance (issue 5 point 6, and point 7's reject reason): `/health` and `/metrics` on the
 * GUI's server answer with the right figures after a round trip with real DCMTK peers —
 * storescu into the bridge, the study's ZIP, that ZIP sent on to storescp — and the
 * association limit rejects an extra echoscu with "local limit exceeded". Counters survive the
 * bridge restart of a storage folder change; receiving switched off is still ready, a receiver
 * that should listen and does not is not.
 *
 * Needs the private network namespace (storescp listens on every interface):
 * `unshare -n sh -c 'ip link set lo up && DICOMBRIDGE_NETNS=private node --test dist/test/integration/health-metrics.test.js'`
 */
import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Receiver } from '../../src/bridge/receive/receiver.js';
import { noopLogger } from '../../src/dicom/ul/logger.js';
import { requestAssociation, type RequestorAssociation } from '../../src/dicom/ul/requestor.js';
import { nextEvents, removeDir, tempDir } from '../support/bridge-harness.js';
import { rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { acknowledgedCount, echoscu, storescu } from '../support/peers/dcmtk.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';

const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';

interface Health {
  status: string;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  reasons?: string[];
}

/** The value of one sample in a text exposition, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  const series = entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /health and GET /metrics', () => {
  let work: string;
  let scp: StorescpPeer;
  let app: GuiUnderTest;
  let port: number;
  let study: StudyFiles;

  const metrics = async (): Promise<string> => {
    const res = await rawRequest(port, 'GET', '/metrics');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    return res.body;
  };
  const health = async (): Promise<{ status: number; body: Health }> => {
    const res = await rawRequest(port, 'GET', '/health');
    return { status: res.status, body: res.json() as Health };
  };
  const value = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => sample(await metrics(), name, labels);

  before(async () => {
    work = await tempDir();
    scp = await startStorescp({ outDir: join(work, 'storescp'), aeTitle: 'PACS' });
    app = await startGui(join(work, 'store'), {
      receive: { maxAssociations: 1, timeoutSeconds: 3600 },
      send: { enabled: true, host: '127.0.0.1', port: scp.port, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', retries: 0, scanIntervalSeconds: 1, stableSeconds: 1, timeoutSeconds: 10 },
    });
    port = app.gui.port;
    study = await writeStudy(join(work, 'study'), { count: 3 });
  });
  after(async () => {
    await app?.stop();
    await scp?.stop();
    await removeDir(work);
  });

  it('starts ready, with every counter present at 0', async () => {
    const { status, body } = await health();
    assert.equal(status, 200);
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.checks.map((c) => [c.name, c.ok]), [['receiver', true], ['logbook', true], ['storage', true], ['disk', true]]);
    assert.match(body.checks[0]!.detail, /^DICOM receiver listening on 127\.0\.0\.1:\d+$/);

    const text = await metrics();
    assert.match(text, /^# HELP dicombridge_up /m);
    assert.match(text, /^# TYPE dicombridge_associations_total counter$/m);
    assert.match(text, /^# TYPE dicombridge_outbox_waiting gauge$/m);
    assert.equal(sample(text, 'dicombridge_up'), 1);
    assert.equal(sample(text, 'dicombridge_ready'), 1);
    assert.equal(sample(text, 'dicombridge_instances_received_total'), 0);
    for (const inbox of ['Inbox_Auto', 'Inbox_Manual', 'Inbox_Failed']) assert.equal(sample(text, 'dicombridge_studies_completed_total', { inbox }), 0);
    for (const result of ['success', 'failed']) assert.equal(sample(text, 'dicombridge_zips_sent_total', { result }), 0);
    for (const folder of ['Inbox_Failed', 'Outbox_Failed']) assert.equal(sample(text, 'dicombridge_failed_items', { folder }), 0);
    assert.equal(sample(text, 'dicombridge_associations_total', { result: 'accepted' }), 0);
    assert.equal(sample(text, 'dicombridge_receiver_listening'), 1);
    assert.equal(sample(text, 'dicombridge_outbox_waiting'), 0);
    assert.equal(sample(text, 'dicombridge_studies_in_progress'), 0);
    assert.ok(sample(text, 'dicombridge_disk_free_bytes')! > 0);
  });

  it('counts a storescu round trip: 3 instances received, one study into Inbox_Manual', async () => {
    const zipped = nextEvents(app.supervisor.bridge, 'study', 1);
    const result = await storescu(app.supervisor.bridge.receivePort!, study.files);
    assert.equal(acknowledgedCount(result.stdout + result.stderr), 3, result.stderr);
    // While staged, the study is in progress.
    assert.equal(await value('dicombridge_studies_in_progress'), 1);
    await app.supervisor.bridge.flush();
    const [outcome] = await zipped;
    assert.equal(outcome!.inbox, 'Inbox_Manual');

    const text = await metrics();
    assert.equal(sample(text, 'dicombridge_instances_received_total'), 3);
    const datasetBytes = [...study.datasets.values()].reduce((sum, d) => sum + d.length, 0);
    const received = sample(text, 'dicombridge_bytes_received_total')!;
    assert.ok(received > datasetBytes && received < datasetBytes + 3 * 1024, `bytes received ${received}: datasets ${datasetBytes} plus three file metas`);
    assert.equal(sample(text, 'dicombridge_studies_completed_total', { inbox: 'Inbox_Manual' }), 1);
    assert.equal(sample(text, 'dicombridge_studies_completed_total', { inbox: 'Inbox_Auto' }), 0);
    assert.ok(sample(text, 'dicombridge_associations_total', { result: 'accepted' })! >= 1);
    assert.ok(sample(text, 'dicombridge_associations_ended_total', { how: 'released' })! >= 1);
    assert.equal(sample(text, 'dicombridge_studies_in_progress'), 0);
    assert.equal(sample(text, 'dicombridge_associations_active'), 0);
  });

  it('counts the study ZIP sent on to storescp: one ZIP, 3 instances and their dataset bytes', async () => {
    const bridge = app.supervisor.bridge;
    const [zipName] = await readdir(bridge.layout.inboxManual);
    assert.ok(zipName, 'the study ZIP is in Inbox_Manual');
    const sent = nextEvents(bridge, 'send', 1);
    await copyFile(join(bridge.layout.inboxManual, zipName), join(bridge.layout.outboxAuto, zipName));
    const [outcome] = await sent;
    assert.equal(outcome!.status, 'Success', outcome!.reason);

    const text = await metrics();
    assert.equal(sample(text, 'dicombridge_zips_sent_total', { result: 'success' }), 1);
    assert.equal(sample(text, 'dicombridge_zips_sent_total', { result: 'failed' }), 0);
    assert.equal(sample(text, 'dicombridge_instances_sent_total'), 3);
    const datasetBytes = [...study.datasets.values()].reduce((sum, d) => sum + d.length, 0);
    assert.equal(sample(text, 'dicombridge_bytes_sent_total'), datasetBytes);
    assert.equal((await scp.files()).length, 3);
  });

  it('rejects an association past receive.maxAssociations with "local limit exceeded", and counts it', async () => {
    const before = await metrics();
    const rejectedBefore = sample(before, 'dicombridge_associations_total', { result: 'rejected' })!;
    const acceptedBefore = sample(before, 'dicombridge_associations_total', { result: 'accepted' })!;
    let held: RequestorAssociation | undefined;
    try {
      held = await requestAssociation({
        host: '127.0.0.1',
        port: app.supervisor.bridge.receivePort!,
        callingAeTitle: 'HOLDER',
        calledAeTitle: 'CRYPE_DCM',
        contexts: [{ pcId: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
        maxPduLength: 16384,
        connectTimeoutMs: 5000,
        artimTimeoutMs: 5000,
        log: noopLogger,
      });
      assert.equal(await value('dicombridge_associations_active'), 1);
      const echo = await echoscu(app.supervisor.bridge.receivePort!);
      const output = echo.stdout + echo.stderr;
      assert.notEqual(echo.code, 0, output);
      assert.match(output, /Association Rejected/i, output);
      assert.match(output, /Rejected Transient/i, output);
      assert.match(output, /Local Limit Exceeded/i, output);
    } finally {
      await held?.release();
    }
    const text = await metrics();
    assert.equal(sample(text, 'dicombridge_associations_total', { result: 'rejected' }), rejectedBefore + 1);
    assert.equal(sample(text, 'dicombridge_associations_rejected_total', { reason: 'local-limit-exceeded' }), 1);
    assert.equal(sample(text, 'dicombridge_associations_total', { result: 'accepted' }), acceptedBefore + 1);
  });

  it('keeps its counters across the bridge restart of a storage folder change', async () => {
    const settings = (await rawRequest(port, 'GET', '/api/settings')).json() as { settings: Record<string, unknown> };
    const old = app.supervisor.bridge;
    await app.supervisor.save({ ...settings.settings, storageFolder: join(work, 'store2') });
    assert.notEqual(app.supervisor.bridge, old, 'a new bridge runs');
    const text = await metrics();
    assert.equal(sample(text, 'dicombridge_instances_received_total'), 3);
    assert.equal(sample(text, 'dicombridge_studies_completed_total', { inbox: 'Inbox_Manual' }), 1);
    assert.equal(sample(text, 'dicombridge_zips_sent_total', { result: 'success' }), 1);
    assert.equal(sample(text, 'dicombridge_associations_rejected_total', { reason: 'local-limit-exceeded' }), 1);
    const { status, body } = await health();
    assert.equal(status, 200);
    assert.match(body.checks.find((c) => c.name === 'storage')!.detail, /store2 is writable$/);

    // And counting goes on with the new bridge.
    const more = await storescu(app.supervisor.bridge.receivePort!, study.files.slice(0, 1));
    assert.equal(acknowledgedCount(more.stdout + more.stderr), 1, more.stderr);
    assert.equal(await value('dicombridge_instances_received_total'), 4);
  });

  it('is still ready with receiving switched off (a choice, not a fault)', async () => {
    const settings = (await rawRequest(port, 'GET', '/api/settings')).json() as { settings: { receive: Record<string, unknown> } };
    await app.supervisor.save({ ...settings.settings, receive: { ...settings.settings.receive, enabled: false } });
    const { status, body } = await health();
    assert.equal(status, 200);
    assert.equal(body.checks[0]!.detail, 'DICOM receiving is switched off');
    assert.equal(await value('dicombridge_receiver_listening'), 0);
    await app.supervisor.save({ ...settings.settings, receive: { ...settings.settings.receive, enabled: true } });
    assert.equal((await health()).status, 200);
  });

  it('answers 503 with the reason when receiving is on but the receiver does not listen', async () => {
    // The state a failed re-bind leaves (receiving on, no listener); reached here by closing it.
    const bridge = app.supervisor.bridge as unknown as { receiver: Receiver | null };
    const receiver = bridge.receiver!;
    await receiver.close();
    bridge.receiver = null;
    const { status, body } = await health();
    assert.equal(status, 503);
    assert.equal(body.status, 'not ready');
    assert.equal(body.reasons!.length, 1);
    assert.match(body.reasons![0]!, /^DICOM receiver not listening/);
    assert.equal(await value('dicombridge_ready'), 0);
  });
});

describe('/health and /metrics behind the GUI password', () => {
  const password = 'scrape me please';
  let dir: string;
  let app: GuiUnderTest;
  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'), { gui: { host: '127.0.0.1', password } });
  });
  after(async () => {
    await app?.stop();
    await removeDir(dir);
  });

  it('asks for the password (HTTP Basic, as Prometheus basic_auth sends it) and refuses a foreign Host', async () => {
    const port = app.gui.port;
    const basic = { authorization: `Basic ${Buffer.from(`prometheus:${password}`).toString('base64')}` };
    for (const path of ['/health', '/metrics']) {
      assert.equal((await rawRequest(port, 'GET', path)).status, 401, path);
      assert.equal((await rawRequest(port, 'GET', path, { ...basic, host: `attacker.example:${port}` })).status, 403, path);
      assert.equal((await rawRequest(port, 'GET', path, basic)).status, 200, path);
    }
    assert.equal((await rawRequest(port, 'POST', '/metrics', basic)).status, 403, 'no token: refused before routing');
  });
});
