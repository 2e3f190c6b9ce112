/**
 * Acceptance (SPEC §1 and §3 "nothing is lost on a crash"): the real CLI is SIGKILLed at a
 * random point of each of 20 receptions (before the first acknowledgement, between and during
 * instances, after the last one, or while it zips after the quiet time) and started again on
 * the same configuration. At the end every instance it acknowledged with 0000 is in exactly one
 * inbox ZIP with its dataset bytes as sent, nothing is in Inbox_Failed, and a clean stop leaves
 * no temporary file.
 *
 * Each sent copy carries its reception number (Image Comments), so the copy an acknowledgement
 * covers is known by its bytes: an instance the bridge stored but could not acknowledge before
 * the kill is sent again as a new copy, and either copy may legitimately be zipped, but the
 * acknowledged one must be, once. The fault points come from a seeded PRNG; the seed is
 * printed, and DICOMBRIDGE_TEST_SEED=<seed> replays the same plan.
 *
 * Run it in the private network namespace, as scripts/run-tests.sh does.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import {
  digest, filesIn, killCli, leftoverFiles, metric, seededRandom, startCli, stopCli, testSeed, zippedInstances, type CliBridge,
} from '../support/cli-bridge.js';
import { buildInstance, CT_IMAGE_STORAGE, EXPLICIT_LE, testUid } from '../support/dicom-builder.js';
import { freePort } from '../support/peers/dcmtk.js';
import { openScu, type TestScu } from '../support/scu.js';

const RECEPTIONS = 20;
const STUDIES = 5;
const MAX_INSTANCES = 30;
const QUIET_SECONDS = 1;

/** An instance of a study: sent again, as a new copy, until one copy is acknowledged. */
interface Instance {
  sopUid: string;
  series: number;
  instanceNumber: number;
  rows: number;
}

interface Study {
  studyUid: string;
  seriesUids: string[];
  patientName: string;
  /** Instances not acknowledged yet: the next reception of this study sends them again. */
  pending: Instance[];
  nextNumber: number;
}

/** Where in a reception the bridge is killed. */
type KillPlan =
  | { kind: 'acks'; afterAcks: number; extraTicks: number }
  | { kind: 'zipping'; afterReleaseMs: number };

describe('random SIGKILL while receiving', () => {
  let work: string;
  let storage: string;
  let bridge: CliBridge | undefined;

  before(async () => {
    work = await tempDir('dicombridge-kill-work-');
    storage = await tempDir('dicombridge-kill-storage-');
  });
  after(async () => {
    if (bridge) await killCli(bridge);
    await removeDir(storage);
    await removeDir(work);
  });

  test('every instance acknowledged before a kill is in exactly one ZIP, bytes as sent', { timeout: 120_000 }, async (t) => {
    const seed = testSeed();
    t.diagnostic(`seed ${seed} (replay with DICOMBRIDGE_TEST_SEED=${seed})`);
    console.log(`random-kill: seed ${seed} (replay with DICOMBRIDGE_TEST_SEED=${seed})`);
    const random = seededRandom(seed);
    const below = (n: number) => Math.floor(random() * n);

    const port = await freePort();
    const guiPort = await freePort();
    const configPath = join(work, 'config.json');
    const consoleLog = join(work, 'console.log');
    await writeFile(configPath, JSON.stringify({
      storageFolder: storage,
      receive: { host: '127.0.0.1', port, timeoutSeconds: QUIET_SECONDS, fsync: true },
      gui: { port: guiPort },
      log: { level: 'warn' },
    }));

    const studies: Study[] = Array.from({ length: STUDIES }, (_, i) => ({
      studyUid: testUid(),
      seriesUids: [testUid(), testUid()],
      patientName: `KILL^Patient${i}`,
      pending: [],
      nextNumber: 1,
    }));
    /** Digest of every copy sent → what it was. */
    const sent = new Map<string, string>();
    /** Digests of the copies acknowledged with 0000. */
    const acknowledged = new Set<string>();
    const plans: string[] = [];

    bridge = await startCli(configPath, port, consoleLog);
    for (let reception = 0; reception < RECEPTIONS; reception += 1) {
      const study = studies[below(STUDIES)]!;
      const resend = study.pending.splice(0, MAX_INSTANCES);
      const fresh = Array.from({ length: 1 + below(MAX_INSTANCES - resend.length) }, (): Instance => ({
        sopUid: testUid(),
        series: below(2),
        instanceNumber: study.nextNumber++,
        // Mostly small, a few of a few hundred KB (384 × 384 × 2 bytes of pixel data).
        rows: random() < 0.2 ? 256 + below(129) : 16 + below(49),
      }));
      const instances = [...resend, ...fresh];
      const copies = instances.map((instance) => {
        const dataset = buildInstance({
          patientName: study.patientName,
          patientId: study.patientName,
          studyUid: study.studyUid,
          seriesUid: study.seriesUids[instance.series]!,
          seriesNumber: instance.series + 1,
          sopUid: instance.sopUid,
          instanceNumber: instance.instanceNumber,
          rows: instance.rows,
          columns: instance.rows,
          extra: [{ group: 0x0020, element: 0x4000, vr: 'LT', value: `copy sent in reception ${reception}` }],
        });
        const id = digest(dataset);
        sent.set(id, `${instance.sopUid} (reception ${reception})`);
        return { instance, dataset, id };
      });

      const roll = random();
      const plan: KillPlan = roll < 0.75
        // 0 = before the first acknowledgement; n = after the last; a few ticks later lands mid-instance.
        ? { kind: 'acks', afterAcks: below(copies.length + 1), extraTicks: below(4) }
        : { kind: 'zipping', afterReleaseMs: QUIET_SECONDS * 1000 + below(1500) };
      plans.push(`${reception}: ${copies.length} instances (${resend.length} again) of study ${studies.indexOf(study)}, kill ${JSON.stringify(plan)}`);

      const current = bridge;
      let killing: Promise<void> | undefined;
      const kill = (ticks: number) => {
        killing ??= (async () => {
          for (let i = 0; i < ticks; i += 1) await new Promise((r) => setImmediate(r)); // a random point, not synchronisation
          await killCli(current);
        })();
      };

      let scu: TestScu | undefined;
      let acks = 0;
      try {
        scu = await openScu(port, [[CT_IMAGE_STORAGE, EXPLICIT_LE]]);
        if (plan.kind === 'acks' && plan.afterAcks === 0) kill(plan.extraTicks);
        for (const copy of copies) {
          const result = await scu.store(CT_IMAGE_STORAGE, EXPLICIT_LE, copy.instance.sopUid, copy.dataset).catch(() => undefined);
          if (!result) break; // the association died with the bridge
          if (result.status === 0) {
            acknowledged.add(copy.id);
            acks += 1;
          }
          if (plan.kind === 'acks' && acks === plan.afterAcks) kill(plan.extraTicks);
        }
        if (!killing) {
          await scu.release().catch(() => undefined);
          if (plan.kind === 'zipping') await new Promise((r) => setTimeout(r, plan.afterReleaseMs)); // the random fault point
        }
      } catch {
        // the kill came before the association was accepted
      } finally {
        kill(0);
        await killing;
        if (scu) await scu.abort().catch(() => undefined);
      }
      study.pending.push(...copies.filter((c) => !acknowledged.has(c.id)).map((c) => c.instance));
      bridge = await startCli(configPath, port, consoleLog);
    }

    // Bridge running after the last restart: wait (bounded) until everything is zipped and quiet.
    const deadline = Date.now() + 60_000;
    let missing: string[] = [];
    for (;;) {
      const found = new Set((await zippedInstances(storage)).map((z) => z.datasetDigest));
      missing = [...acknowledged].filter((id) => !found.has(id));
      const inProgress = await metric(guiPort, 'dicombridge_studies_in_progress');
      if (missing.length === 0 && inProgress === 0) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250)); // polling interval of a bounded wait
    }
    const exitCode = await stopCli(bridge);
    bridge = undefined;
    const context = `seed ${seed}; plan:\n${plans.join('\n')}`;
    assert.equal(exitCode, 0, `clean stop exit code; ${context}`);

    const zipped = await zippedInstances(storage);
    const counts = new Map<string, ZippedCount>();
    for (const z of zipped) {
      const entry = counts.get(z.datasetDigest) ?? { count: 0, where: [] };
      entry.count += 1;
      entry.where.push(`${z.zip}:${z.entry}`);
      counts.set(z.datasetDigest, entry);
    }
    const lost = [...acknowledged].filter((id) => !counts.has(id)).map((id) => sent.get(id));
    assert.deepEqual(lost, [], `acknowledged instances in no ZIP; ${context}`);
    const twice = [...counts].filter(([, c]) => c.count > 1).map(([id, c]) => `${sent.get(id) ?? id} in ${c.where.join(', ')}`);
    assert.deepEqual(twice, [], `instances in more than one ZIP entry; ${context}`);
    const altered = zipped.filter((z) => !sent.has(z.datasetDigest)).map((z) => `${z.zip}:${z.entry}`);
    assert.deepEqual(altered, [], `ZIP entries whose dataset is not a copy as sent (altered or truncated); ${context}`);
    assert.deepEqual(await filesIn(join(storage, 'Inbox_Failed')), [], `nothing in Inbox_Failed; ${context}`);
    assert.deepEqual(await leftoverFiles(storage), [], `no temporary or staged file left after the clean stop; ${context}`);
    assert.ok(acknowledged.size > 0, 'some instances were acknowledged at all');
    t.diagnostic(`${acknowledged.size} acknowledged copies of ${sent.size} sent, ${zipped.length} zipped, over ${RECEPTIONS} kills`);
  });
});

interface ZippedCount {
  count: number;
  where: string[];
}
