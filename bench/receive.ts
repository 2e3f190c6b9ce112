/**
 * `npm run bench` (receive side): the bridge against DCMTK storescp, same data, same run.
 *
 * Generates a CT study (600 × 512×512 16-bit, ~0.5 MB each, noisy like real CT), 3,000 tiny
 * instances of one study and one ~300 MB multi-frame instance; sends each with DCMTK storescu
 * (TCP_NODELAY=1) to storescp and to the bridge (the real CLI, fsync on), several repetitions,
 * and prints medians: MB/s, instances/s, the ratio bridge/storescp, the bridge's peak RSS, and
 * the time from the last acknowledgement to the ZIP in its inbox beyond the quiet time.
 * Then measures ZIP writing per deflate level on the CT study.
 *
 * Runs inside a private network namespace (`unshare -n`) when it can, because storescp listens
 * on every interface; all traffic is on that namespace's loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipStagedStudy } from '../src/bridge/zip/study-zipper.js';
import { echoscu, freePort, runTool } from '../test/support/peers/dcmtk.js';
import { writeStudy, type StudyFiles } from '../test/support/study-files.js';

const SELF = fileURLToPath(import.meta.url);
const BIN = fileURLToPath(new URL('../../bin/dicombridge.js', import.meta.url));
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3);
const QUIET_SECONDS = 1;

if (!process.env.DICOMBRIDGE_BENCH_INSIDE) {
  if (spawnSync('unshare', ['-n', 'true']).status === 0) {
    const inside = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, SELF, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, DICOMBRIDGE_BENCH_INSIDE: 'private' },
    });
    process.exit(inside.status ?? 1);
  }
  process.stderr.write('bench: cannot create a private network namespace (unshare -n); running in the main one\n');
  process.env.DICOMBRIDGE_BENCH_INSIDE = 'main';
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mb = (bytes: number) => bytes / 1e6;

/** Noisy, smooth 12-bit image: compresses about like real CT. */
function ctPixels(seed: number): Buffer {
  const rows = 512;
  const columns = 512;
  const pixels = Buffer.alloc(rows * columns * 2);
  let state = seed * 2654435761 >>> 0;
  for (let y = 0; y < rows; y += 1) {
    for (let x = 0; x < columns; x += 1) {
      state = (state * 1664525 + 1013904223) >>> 0;
      const r = (x - 256) ** 2 + (y - 256) ** 2;
      const body = r < 200 ** 2 ? 1000 + 80 * Math.sin(x / 9 + seed) * Math.cos(y / 13) : 0;
      pixels.writeUInt16LE(Math.max(0, Math.round(body + (state >>> 27) - 16)) & 0x0fff, (y * columns + x) * 2);
    }
  }
  return pixels;
}

async function totalBytes(files: string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}

function peakRssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Run { seconds: number; zipLatencySeconds?: number }

async function storescu(port: number, files: string[]): Promise<number> {
  const started = performance.now();
  const result = await runTool('storescu', ['-aec', 'CRYPE_DCM', '-aet', 'BENCH', '127.0.0.1', String(port), ...files], 600_000);
  if (result.code !== 0) throw new Error(`storescu failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

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

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dicombridge-bench-'));
  try {
    process.stdout.write(`bench: generating data in ${work} (network namespace: ${process.env.DICOMBRIDGE_BENCH_INSIDE})\n`);
    const noise = Array.from({ length: 16 }, (_, i) => ctPixels(i));
    const datasets: Array<[string, StudyFiles]> = [
      ['CT 600 × 0.5 MB', await writeStudy(join(work, 'ct'), { count: 600, rows: 512, columns: 512, pixelData: (i) => noise[i % noise.length]! })],
      ['3,000 tiny', await writeStudy(join(work, 'tiny'), { count: 3000, rows: 0, columns: 0, series: 1 })],
      ['1 × 300 MB multi-frame', await writeStudy(join(work, 'big'), { count: 1, rows: 512, columns: 512, frames: 572, series: 1 })],
    ];
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
    process.stdout.write(`\nReceive (medians of ${REPETITIONS}; ratio = bridge throughput / storescp throughput; storescp never fsyncs, the bridge fsyncs every instance unless said):\n${table.join('\n')}\n`);
    const zipLines = await benchZipLevels(datasets[0]![1], work);
    process.stdout.write(`\nZIP writing of the CT study (${mb(await totalBytes(datasets[0]![1].files)).toFixed(0)} MB) per deflate level:\n| level | throughput | size vs. input |\n|---|---|---|\n${zipLines.join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
