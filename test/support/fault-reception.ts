/**
 * One reception for fault tests: an association of our SCU sends copies of a study's instances
 * while a fault (a SIGKILL, a power cut) is injected at a point a seeded plan chose. It records
 * which copies were acknowledged with 0000. Each copy carries the reception it was sent in
 * (Image Comments), so its bytes (their digest) tell which acknowledgement covers which copy,
 * even when an instance the bridge could not acknowledge is sent again later.
 */
import { buildInstance, CT_IMAGE_STORAGE, EXPLICIT_LE, testUid } from './dicom-builder.js';
import { digest, metric, zippedInstances } from './cli-bridge.js';
import { openScu, type TestScu } from './scu.js';

/** An instance of a study: sent again, as a new copy, until one copy is acknowledged. */
export interface Instance {
  sopUid: string;
  series: number;
  instanceNumber: number;
  /** Rows = columns of 16-bit pixel data. */
  rows: number;
}

/** A study the test sends, in parts, over several receptions. */
export interface TestStudy {
  studyUid: string;
  seriesUids: string[];
  patientName: string;
  /** Instances not acknowledged yet: the next reception of this study sends them again. */
  pending: Instance[];
  nextNumber: number;
}

/** One copy of an instance as sent. */
export interface Copy {
  instance: Instance;
  dataset: Buffer;
  /** SHA-256 of the dataset. */
  id: string;
}

/** Where in a reception the fault strikes. */
export type FaultPlan =
  /** After this many acknowledgements (0 = before the first; all = after the last), a few event-loop turns later (mid-instance). */
  | { kind: 'acks'; afterAcks: number; extraTicks: number }
  /** This long after the association's release: during the quiet time or while zipping. */
  | { kind: 'zipping'; afterReleaseMs: number };

/** A new study with two series. */
export function newStudy(patientName: string): TestStudy {
  return { studyUid: testUid(), seriesUids: [testUid(), testUid()], patientName, pending: [], nextNumber: 1 };
}

/** `count` new instances of a study: mostly small, about one in five of a few hundred KB. */
export function freshInstances(study: TestStudy, count: number, random: () => number): Instance[] {
  const below = (n: number) => Math.floor(random() * n);
  return Array.from({ length: count }, (): Instance => ({
    sopUid: testUid(),
    series: below(2),
    instanceNumber: study.nextNumber++,
    rows: random() < 0.2 ? 256 + below(129) : 16 + below(49),
  }));
}

/** The copies of `instances` sent in reception `reception` (distinct bytes per reception). */
export function copiesOf(study: TestStudy, instances: Instance[], reception: number): Copy[] {
  return instances.map((instance) => {
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
    return { instance, dataset, id: digest(dataset) };
  });
}

/** A plan: three in four strike around acknowledgements, one in four after the release. */
export function randomPlan(copies: number, quietSeconds: number, random: () => number): FaultPlan {
  const below = (n: number) => Math.floor(random() * n);
  return random() < 0.75
    ? { kind: 'acks', afterAcks: below(copies + 1), extraTicks: below(4) }
    : { kind: 'zipping', afterReleaseMs: Math.max(0, quietSeconds * 1000 - 200) + below(1000) };
}

/**
 * Sends `copies` on one association to 127.0.0.1:port and runs `fault` once, at the plan's
 * point (or at the end, whatever happened). Resolves with the ids of the acknowledged copies
 * once the fault has run and the association is gone.
 */
export async function receptionWithFault(port: number, copies: Copy[], plan: FaultPlan, fault: () => Promise<void>): Promise<Set<string>> {
  const acknowledged = new Set<string>();
  let faulting: Promise<void> | undefined;
  const strike = (ticks: number) => {
    faulting ??= (async () => {
      for (let i = 0; i < ticks; i += 1) await new Promise((r) => setImmediate(r)); // a random point, not synchronisation
      await fault();
    })();
  };
  let scu: TestScu | undefined;
  try {
    scu = await openScu(port, [[CT_IMAGE_STORAGE, EXPLICIT_LE]]);
    if (plan.kind === 'acks' && plan.afterAcks === 0) strike(plan.extraTicks);
    for (const copy of copies) {
      const result = await scu.store(CT_IMAGE_STORAGE, EXPLICIT_LE, copy.instance.sopUid, copy.dataset).catch(() => undefined);
      if (!result) break; // the association died with the bridge
      if (result.status === 0) acknowledged.add(copy.id);
      if (plan.kind === 'acks' && acknowledged.size === plan.afterAcks) strike(plan.extraTicks);
    }
    if (!faulting) {
      await scu.release().catch(() => undefined);
      if (plan.kind === 'zipping') await new Promise((r) => setTimeout(r, plan.afterReleaseMs)); // the random fault point
    }
  } catch {
    // the fault came before the association was accepted
  } finally {
    strike(0);
    await faulting;
    if (scu) await scu.abort().catch(() => undefined);
  }
  return acknowledged;
}

/** What the inbox ZIPs hold, measured against what was sent and acknowledged. */
export interface ZipAudit {
  /** Acknowledged copies in no ZIP. */
  lost: string[];
  /** Copies in more than one ZIP entry, with where. */
  twice: string[];
  /** ZIP entries whose dataset is no copy as sent (altered or truncated). */
  altered: string[];
  /** Acknowledged copies zipped under a name without their study's UID. */
  misplaced: string[];
  zippedCount: number;
}

/**
 * Audits Inbox_Auto and Inbox_Manual. `sent` maps each copy's id to its label and study UID.
 */
export async function auditZips(storage: string, sent: Map<string, { label: string; studyUid: string }>, acknowledged: Set<string>): Promise<ZipAudit> {
  const zipped = await zippedInstances(storage);
  const where = new Map<string, string[]>();
  for (const z of zipped) where.set(z.datasetDigest, [...(where.get(z.datasetDigest) ?? []), z.zip]);
  const label = (id: string) => sent.get(id)?.label ?? id;
  return {
    lost: [...acknowledged].filter((id) => !where.has(id)).map(label),
    twice: [...where].filter(([, zips]) => zips.length > 1).map(([id, zips]) => `${label(id)} in ${zips.join(', ')}`),
    altered: zipped.filter((z) => !sent.has(z.datasetDigest)).map((z) => `${z.zip}:${z.entry}`),
    misplaced: [...acknowledged].filter((id) => (where.get(id) ?? []).some((zip) => !zip.includes(sent.get(id)!.studyUid))).map(label),
    zippedCount: zipped.length,
  };
}

/**
 * Waits (at most 60 s) until every acknowledged copy is in a ZIP and no study is in progress
 * (the bridge's /metrics); the audit that follows reports what is missing.
 */
export async function untilZipped(storage: string, guiPort: number, acknowledged: Set<string>): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = new Set((await zippedInstances(storage)).map((z) => z.datasetDigest));
    const missing = [...acknowledged].filter((id) => !found.has(id)).length;
    if ((missing === 0 && (await metric(guiPort, 'dicombridge_studies_in_progress')) === 0) || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 250)); // polling interval of a bounded wait
  }
}
