/**
 * The receive benchmark (issue 13): the bridge against DCMTK storescp and Orthanc, same data,
 * same run. Each set is sent by DCMTK storescu (TCP_NODELAY=1) to:
 * - storescp +B (bit-preserving: streams each data set to its file; the fastest receiver we
 *   know; it never flushes), and plain storescp for reference;
 * - Orthanc, the durable peer (fresh storage, one run);
 * - the bridge (the product as shipped, see bridgeCommand) with `receive.fsync` on and off.
 * Beside them it measures the flush cost on the same disk (floor.ts), and prints medians: the
 * durable floor (storescp +B + flush) and the bridge's time against it, the bridge without
 * fsync against storescp +B, the time from the last acknowledgement to the ZIP in its inbox
 * beyond the quiet time, and the bridge's peak RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { echoscu, freePort } from '../test/support/peers/dcmtk.js';
import { startOrthanc } from '../test/support/peers/orthanc.js';
import type { StudyFiles } from '../test/support/study-files.js';
import { bridgeCommand, mb, median, peakRssMb, REPETITIONS, storescu, totalBytes, waitFor } from './common.js';
import { flushSeconds } from './floor.js';

const QUIET_SECONDS = 1;

/** Seconds storescu takes per repetition against storescp with these options. */
async function benchStorescp(work: string, files: string[], options: string[]): Promise<number[]> {
  const port = await freePort();
  const out = join(work, 'storescp-out');
  const seconds: number[] = [];
  await mkdir(out, { recursive: true });
  const scp = spawn('storescp', [...options, '-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  try {
    await waitFor(async () => ((await echoscu(port, 'ANY')).code === 0 ? true : undefined), 10_000);
    for (let i = 0; i < REPETITIONS; i += 1) {
      seconds.push(await storescu(port, files));
      await rm(out, { recursive: true, force: true });
      await mkdir(out);
    }
  } finally {
    scp.kill('SIGTERM');
    await new Promise((r) => scp.once('exit', r));
    await rm(out, { recursive: true, force: true });
  }
  return seconds;
}

/** Seconds storescu takes against a fresh Orthanc (its default storage: flushed index). */
async function benchOrthanc(work: string, files: string[]): Promise<number[]> {
  const seconds: number[] = [];
  // One run: Orthanc takes minutes for 3,000 tiny instances (a flushed index row each).
  for (let i = 0; i < 1; i += 1) {
    const dir = join(work, 'orthanc');
    const orthanc = await startOrthanc({ dir, aeTitle: 'CRYPE_DCM' });
    try {
      seconds.push(await storescu(orthanc.dicomPort, files));
    } finally {
      await orthanc.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return seconds;
}

/** The bridge receiving each repetition: storescu seconds, ZIP latency; its peak RSS. */
async function benchBridge(work: string, files: string[], fsync: boolean): Promise<{ seconds: number[]; zipLatency: number[]; peakRssMb: number }> {
  const port = await freePort();
  const storage = join(work, 'bridge-storage');
  const config = join(work, 'bridge.json');
  await writeFile(config, JSON.stringify({
    storageFolder: storage,
    receive: { host: '127.0.0.1', port, timeoutSeconds: QUIET_SECONDS, fsync },
    gui: { port: await freePort() },
    log: { level: 'warn' },
  }));
  const { command, args } = bridgeCommand();
  const bridge: ChildProcess = spawn(command, [...args, '-s', '--config', config], { stdio: 'ignore' });
  const seconds: number[] = [];
  const zipLatency: number[] = [];
  try {
    await waitFor(async () => ((await echoscu(port)).code === 0 ? true : undefined), 20_000);
    const inbox = join(storage, 'Inbox_Manual');
    for (let i = 0; i < REPETITIONS; i += 1) {
      seconds.push(await storescu(port, files));
      const sent = performance.now();
      await waitFor(async () => ((await readdir(inbox)).length > 0 ? true : undefined), 600_000);
      zipLatency.push((performance.now() - sent) / 1000 - QUIET_SECONDS);
      await rm(inbox, { recursive: true, force: true });
      await mkdir(inbox);
    }
    return { seconds, zipLatency, peakRssMb: await peakRssMb(bridge.pid!) };
  } finally {
    bridge.kill('SIGTERM');
    await new Promise((r) => bridge.once('exit', r));
    await rm(storage, { recursive: true, force: true });
  }
}

/** Named generated studies, shared by the benchmarks. */
export type Datasets = Array<[string, StudyFiles]>;

const s = (seconds: number) => `${seconds.toFixed(2)} s`;

/** Runs the receive benchmark; returns its report (Markdown tables). */
export async function benchReceive(work: string, datasets: Datasets): Promise<string> {
  const durable = [
    '| data | storescp +B | + flush (N × write+fdatasync) | = durable floor | bridge, fsync on | bridge / floor (target ≤ 1.15) | Orthanc | bridge throughput / Orthanc |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const unsynced = [
    '| data | storescp +B MB/s | bridge, fsync off, MB/s | ratio (target ≥ 1.0) | storescp (plain) MB/s | bridge inst/s |',
    '|---|---|---|---|---|---|',
  ];
  const zipAndMemory = [
    '| data | ZIP in its inbox after the quiet time (fsync on) | peak RSS, fsync on | peak RSS, fsync off |',
    '|---|---|---|---|',
  ];
  for (const [name, study] of datasets) {
    const bytes = await totalBytes(study.files);
    const bitPreserving = median(await benchStorescp(work, study.files, ['+B']));
    const plain = median(await benchStorescp(work, study.files, []));
    const flushes = [];
    for (let i = 0; i < REPETITIONS; i += 1) flushes.push(flushSeconds(join(work, 'flush'), study.files));
    const flush = median(flushes);
    const orthanc = median(await benchOrthanc(work, study.files));
    const synced = await benchBridge(work, study.files, true);
    const fast = await benchBridge(work, study.files, false);
    const bridgeSynced = median(synced.seconds);
    const bridgeFast = median(fast.seconds);
    const floor = bitPreserving + flush;
    durable.push(`| ${name} | ${s(bitPreserving)} | ${s(flush)} | ${s(floor)} | ${s(bridgeSynced)} | ${(bridgeSynced / floor).toFixed(2)} | ${s(orthanc)} | ${(orthanc / bridgeSynced).toFixed(2)} |`);
    unsynced.push(`| ${name} | ${(mb(bytes) / bitPreserving).toFixed(0)} | ${(mb(bytes) / bridgeFast).toFixed(0)} | ${(bitPreserving / bridgeFast).toFixed(2)} | ${(mb(bytes) / plain).toFixed(0)} | ${(study.files.length / bridgeFast).toFixed(0)} |`);
    zipAndMemory.push(`| ${name} | ${s(median(synced.zipLatency))} | ${synced.peakRssMb.toFixed(0)} MB | ${fast.peakRssMb.toFixed(0)} MB |`);
    process.stdout.write(`${durable.at(-1)}\n${unsynced.at(-1)}\n${zipAndMemory.at(-1)}\n`);
  }
  return `Receive (${bridgeCommand().what}; medians of ${REPETITIONS}, all from storescu with TCP_NODELAY=1):\n\n`
    + `Durable receive: every instance flushed before its response\n${durable.join('\n')}\n\n`
    + `Receive without fsync\n${unsynced.join('\n')}\n\n`
    + `ZIP latency and memory\n${zipAndMemory.join('\n')}\n`;
}
