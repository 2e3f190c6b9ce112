/**
 * Dataset fuzzing against the real `dicombridge -s` (SPEC §5: what the bridge acknowledges
 * with 0000 can be zipped; nothing received ends the process). A seeded PRNG mutates
 * pydicom's sample files — byte flips, truncations, corrupted length fields, inserted file
 * meta (group 0002) elements, deflated files — and our own SCU sends them over real
 * associations. After each batch the bridge must still be running and answer C-ECHO; at the
 * end every instance answered 0000 must be in an inbox ZIP. The bridge runs as a child
 * process so that a crash shows as an exit. DICOMBRIDGE_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseFileMeta } from '../../src/dicom/part10/file-meta.js';
import { transferSyntaxInfo } from '../../src/dicom/part10/transfer-syntax.js';
import { list, readZip, removeDir, tempDir } from '../support/bridge-harness.js';
import { echoscu, freePort } from '../support/peers/dcmtk.js';
import { openScu, type TestScu } from '../support/scu.js';
import { testUid } from '../support/dicom-builder.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));
const TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const SEED = Number(process.env.DICOMBRIDGE_FUZZ_SEED ?? 0x9e3779b9);
const MUTATIONS = 300;
const BATCH = 30;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Base {
  name: string;
  sopClassUid: string;
  ts: string;
  dataset: Buffer;
}

interface Mutant {
  label: string;
  base: Base;
  sopInstanceUid: string;
  dataset: Buffer;
}

/** pydicom's Part 10 samples with a storage SOP class and a syntax we read, under 300 KB. */
function bases(): Base[] {
  const found: Base[] = [];
  for (const name of readdirSync(TEST_FILES).filter((n) => n.endsWith('.dcm')).sort()) {
    const bytes = readFileSync(join(TEST_FILES, name));
    if (bytes.length > 300_000) continue;
    let meta;
    try {
      meta = parseFileMeta(bytes, true);
    } catch {
      continue; // no file meta: the syntax is unknown
    }
    if (!meta || !meta.mediaStorageSopClassUid.startsWith('1.2.840.10008.5.1.4') || !transferSyntaxInfo(meta.transferSyntaxUid)) continue;
    found.push({ name, sopClassUid: meta.mediaStorageSopClassUid, ts: meta.transferSyntaxUid, dataset: bytes.subarray(meta.datasetOffset) });
  }
  return found;
}

/** A (0002,eeee) UI element in explicit VR little endian. */
function metaElement(element: number, value: string): Buffer {
  const v = Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write('UI', 4, 'latin1');
  head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}

function mutate(random: () => number, all: Base[]): Mutant {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const deflated = all.filter((b) => transferSyntaxInfo(b.ts)?.deflated);
  const kind = pick(['flip', 'flip', 'truncate', 'length', 'length', 'meta', 'deflated', 'intact'] as const);
  const base = kind === 'deflated' && deflated.length > 0 ? pick(deflated) : pick(all);
  const data = Buffer.from(base.dataset);
  const at = (limit = data.length) => Math.floor(random() * Math.max(1, Math.min(limit, data.length)));
  let out: Buffer = data;
  let label: string = kind;
  switch (kind) {
    case 'flip':
    case 'deflated': {
      const count = 1 + Math.floor(random() * 8);
      for (let i = 0; i < count; i++) data[at(4096)] ^= 1 << Math.floor(random() * 8);
      label = `${kind} ×${count}`;
      break;
    }
    case 'truncate': {
      const end = at();
      out = data.subarray(0, end);
      label = `truncate at ${end}`;
      break;
    }
    case 'length': {
      // Where an element header is likely: an even offset in the first KB; 16- or 32-bit lengths.
      const offset = at(1024) & ~1;
      const value = pick([0xffff, 0xfffe, 0, 1, 0x7fff, Math.floor(random() * 0x10000)]);
      if (offset + 8 <= data.length) {
        if (random() < 0.5) data.writeUInt16LE(value, offset + 6);
        else data.writeUInt32LE(pick([0xffffffff, 0xfffffff0, value, value * 65536]) >>> 0, offset + 4);
      }
      label = `length at ${offset}`;
      break;
    }
    case 'meta': {
      const ts = pick(['1.2.3.4.5', '1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', base.ts]);
      const elements = random() < 0.5 ? [metaElement(0x0010, ts)] : [metaElement(0x0002, base.sopClassUid), metaElement(0x0010, ts)];
      out = Buffer.concat([...elements, data]);
      label = `meta ${ts}`;
      break;
    }
    case 'intact':
      break;
  }
  return { label: `${base.name}: ${label}`, base, sopInstanceUid: testUid(), dataset: out };
}

describe(`dataset fuzzing against dicombridge -s (seed ${SEED})`, () => {
  let dir: string;
  let port: number;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  before(async () => {
    dir = await tempDir();
    port = await freePort();
    const configPath = join(dir, 'dicombridge.json');
    await writeFile(configPath, JSON.stringify({
      storageFolder: join(dir, 'store'),
      minFreeDiskMegabytes: 0,
      // The CRYPE ID edit runs (as a check or for real) on every instance.
      receive: { host: '127.0.0.1', port, timeoutSeconds: 1, cridTagGroup: '0010', cridTagElement: '0010' },
      gui: { host: '127.0.0.1', port: await freePort() },
      log: { level: 'warn' },
    }));
    child = spawn(process.execPath, [BIN, '-s', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    for (let attempt = 0; attempt < 150; attempt += 1) {
      if (child.exitCode !== null) throw new Error(`bridge exited at start: ${output}`);
      if ((await echoscu(port)).code === 0) return;
      await new Promise((r) => setTimeout(r, 100)); // readiness probe of an external process
    }
    throw new Error(`bridge did not answer C-ECHO: ${output}`);
  });
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await removeDir(dir);
  });

  test(`${MUTATIONS} mutated datasets: never an exit, C-ECHO after each batch, every 0000 in an inbox ZIP`, { timeout: 120_000 }, async () => {
    const random = prng(SEED);
    const all = bases();
    assert.ok(all.length >= 20, `only ${all.length} sample files`);
    assert.ok(all.some((b) => transferSyntaxInfo(b.ts)?.deflated), 'a deflated sample');
    const acknowledged = new Map<string, string>();
    const statuses = new Map<number, number>();
    for (let sent = 0; sent < MUTATIONS; sent += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, MUTATIONS - sent) }, () => mutate(random, all));
      const pairs = batch.map((m): [string, string] => [m.base.sopClassUid, m.base.ts]);
      let scu: TestScu | null = null;
      for (const m of batch) {
        scu ??= await openScu(port, pairs);
        let status: number;
        try {
          status = (await scu.store(m.base.sopClassUid, m.base.ts, m.sopInstanceUid, m.dataset)).status;
        } catch {
          status = -1; // context refused or association ended: not acknowledged, open a new one
          await scu.abort().catch(() => undefined);
          scu = null;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 0) acknowledged.set(m.sopInstanceUid, m.label);
      }
      await scu?.release().catch(() => undefined);
      assert.equal(child.exitCode, null, `the bridge exited (seed ${SEED}, batch at ${sent}): ${output.slice(-3000)}`);
      assert.equal((await echoscu(port)).code, 0, `no C-ECHO after the batch at ${sent} (seed ${SEED})`);
    }
    assert.ok(acknowledged.size > 0 && acknowledged.size < MUTATIONS, `statuses: ${JSON.stringify([...statuses])}`);

    // The bridge is another process: seen only through its folders, polled within a bound.
    const store = join(dir, 'store');
    const zipped = new Set<string>();
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    while ([...acknowledged.keys()].some((uid) => !zipped.has(uid)) && Date.now() < deadline) {
      for (const inbox of ['Inbox_Auto', 'Inbox_Manual']) {
        for (const name of await list(join(store, inbox))) {
          if (!name.endsWith('.zip') || seen.has(`${inbox}/${name}`)) continue;
          seen.add(`${inbox}/${name}`);
          for (const file of (await readZip(join(store, inbox, name))).values()) {
            zipped.add(parseFileMeta(file, true)!.mediaStorageSopInstanceUid);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const missing = [...acknowledged].filter(([uid]) => !zipped.has(uid)).map(([, label]) => label);
    assert.deepEqual(missing, [], `acknowledged with 0000 but in no inbox ZIP (seed ${SEED}); Inbox_Failed: ${(await list(join(store, 'Inbox_Failed'))).join(', ')}`);
    assert.equal(child.exitCode, null, `the bridge exited: ${output.slice(-3000)}`);
  });
});
