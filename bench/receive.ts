/**
 * The receive benchmark: the bridge against DCMTK storescp, same data, same run.
 *
 * Generates a CT study (600 × 512×512 16-bit, ~0.5 MB each, noisy like real CT), 3,000 tiny
 * instances of one study and one ~300 MB multi-frame instance; sends each with DCMTK storescu
 * (TCP_NODELAY=1) to storescp and to the bridge (the real CLI, fsync on), several repetitions,
 * and prints medians: MB/s, instances/s, the ratio bridge/storescp, the bridge's peak RSS, and
 * the time from the last acknowledgement to the ZIP in its inbox beyond the quiet time.
 * Then measures ZIP writing per deflate level on the CT study.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipStagedStudy } from '../src/bridge/zip/study-zipper.js';
import { echoscu, freePort } from '../test/support/peers/dcmtk.js';
import type { StudyFiles } from '../test/support/study-files.js';
import { BIN, mb, median, peakRssMb, REPETITIONS, storescu, totalBytes, waitFor } from './common.js';

const QUIET_SECONDS = 1;

interface Run { seconds: number; zipLatencySeconds?: number }

async function benchStorescp(work: string, files: string[]): Promise<Run[]> {
  const port = await freePort();
  const out = join(work, 'storescp-out');
  const runs: Run[] = [];
  await mkdir(out, { recursive: true });
  const scp = spawn('storescp', ['-od', out, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  try {
    await waitFor(async () => ((await echoscu(port, 'ANY')).code === 0 ? true : undefined), 10_000);
    for (let i = 0; i < REPETITIONS; i += 1) {
      runs.push({ seconds: await storescu(port, files) });
      await rm(out, { recursive: true, force: true });
      await mkdir(out);
    }
  } finally {
    scp.kill('SIGTERM');
  }
  return runs;
}

async function benchBridge(work: string, files: string[], fsync = true): Promise<{ runs: Run[]; peakRssMb: number }> {
  const port = await freePort();
  const storage = join(work, 'bridge-storage');
  const config = join(work, 'bridge.json');
  await writeFile(config, JSON.stringify({ storageFolder: storage, receive: { host: '127.0.0.1', port, timeoutSeconds: QUIET_SECONDS, fsync }, log: { level: 'warn' } }));
  const bridge: ChildProcess = spawn(process.execPath, [BIN, '-s', '--config', config], { stdio: 'ignore' });
  const runs: Run[] = [];
  try {
    await waitFor(async () => ((await echoscu(port)).code === 0 ? true : undefined), 20_000);
    for (let i = 0; i < REPETITIONS; i += 1) {
      const seconds = await storescu(port, files);
      const sent = performance.now();
      const inbox = join(storage, 'Inbox_Manual');
      await waitFor(async () => ((await readdir(inbox)).length > 0 ? true : undefined), 600_000);
      const zipLatencySeconds = (performance.now() - sent) / 1000 - QUIET_SECONDS;
      runs.push({ seconds, zipLatencySeconds });
      await rm(inbox, { recursive: true, force: true });
      await mkdir(inbox);
    }
    return { runs, peakRssMb: await peakRssMb(bridge.pid!) };
  } finally {
    bridge.kill('SIGTERM');
    await new Promise((r) => bridge.once('exit', r));
    await rm(storage, { recursive: true, force: true });
  }
}

async function benchZipLevels(study: StudyFiles, work: string): Promise<string[]> {
  const lines: string[] = [];
  const size = await totalBytes(study.files);
  const dir = join(work, 'ct');
  for (const level of [0, 1, 3, 6, 9]) {
    const zipPath = join(work, `level-${level}.zip`);
    const started = performance.now();
    await zipStagedStudy({ key: 'bench', dir, instances: new Map() }, zipPath, { zipTempDir: work, compressionLevel: level, cridTag: null, fsync: true });
    const seconds = (performance.now() - started) / 1000;
    const zipped = (await stat(zipPath)).size;
    lines.push(`| ${level} | ${(mb(size) / seconds).toFixed(0)} MB/s | ${(zipped / size * 100).toFixed(1)} % |`);
    await rm(zipPath);
  }
  return lines;
}

/** Named generated studies, shared by the receive and send benchmarks. */
export type Datasets = Array<[string, StudyFiles]>;

/** Runs the receive benchmark; returns its report (Markdown tables). */
export async function benchReceive(work: string, datasets: Datasets): Promise<string> {
  const table = [
    '| data | storescp MB/s | bridge MB/s | ratio | storescp inst/s | bridge inst/s | bridge peak RSS | ZIP after quiet time | bridge without fsync: MB/s, ratio |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, study] of datasets) {
    const bytes = await totalBytes(study.files);
    const scp = await benchStorescp(work, study.files);
    const bridge = await benchBridge(work, study.files);
    const unsynced = await benchBridge(work, study.files, false);
    const scpSeconds = median(scp.map((r) => r.seconds));
    const bridgeSeconds = median(bridge.runs.map((r) => r.seconds));
    const unsyncedSeconds = median(unsynced.runs.map((r) => r.seconds));
    table.push(`| ${name} | ${(mb(bytes) / scpSeconds).toFixed(0)} | ${(mb(bytes) / bridgeSeconds).toFixed(0)} | ${(scpSeconds / bridgeSeconds).toFixed(2)} | ${(study.files.length / scpSeconds).toFixed(0)} | ${(study.files.length / bridgeSeconds).toFixed(0)} | ${bridge.peakRssMb.toFixed(0)} MB | ${median(bridge.runs.map((r) => r.zipLatencySeconds!)).toFixed(2)} s | ${(mb(bytes) / unsyncedSeconds).toFixed(0)}, ${(scpSeconds / unsyncedSeconds).toFixed(2)} |`);
    process.stdout.write(`${table.at(-1)}\n`);
  }
  const zipLines = await benchZipLevels(datasets[0]![1], work);
  return `Receive (medians of ${REPETITIONS}; ratio = bridge throughput / storescp throughput; storescp never fsyncs, the bridge fsyncs every instance unless said):\n${table.join('\n')}\n\n`
    + `ZIP writing of the CT study (${mb(await totalBytes(datasets[0]![1].files)).toFixed(0)} MB) per deflate level:\n| level | throughput | size vs. input |\n|---|---|---|\n${zipLines.join('\n')}\n`;
}
