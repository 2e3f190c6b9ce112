/**
 * The send benchmark: each generated study zipped and dropped into Outbox_Auto, sent by the
 * bridge (the product as shipped: bridgeCommand in common.ts) over 1 and over 4
 * parallel associations, beside DCMTK storescu sending the unzipped files, all to the same
 * `storescp --fork` in the same run (so every sender faces a peer that takes associations at
 * once). The bridge is timed from taking the ZIP (it leaves Outbox_Auto) to the end of sending
 * (it leaves the bridge's work folder), so the stable-size wait, a setting, is not counted.
 *
 * DICOMBRIDGE_BENCH_NODE_ARGS adds node options to the bridge (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof` for a profile); DICOMBRIDGE_BENCH_BIN runs another build's CLI;
 * DICOMBRIDGE_BENCH_SEND_SETS (e.g. `tiny`) measures only the sets whose name contains it;
 * DICOMBRIDGE_BENCH_ASSOCIATIONS (e.g. `1`) only those association counts.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { echoscu, freePort } from '../test/support/peers/dcmtk.js';
import { writeZip } from '../test/support/zip-files.js';
import { bridgeCommand, mb, median, peakRssMb, REPETITIONS, storescu, totalBytes, waitFor } from './common.js';
import type { Datasets } from './receive.js';

/** The bridge's node options as its executable has them (SEA execArgv), plus any asked for. */
/** Parallel associations per ZIP the bridge is measured with. */
const ASSOCIATIONS = (process.env.DICOMBRIDGE_BENCH_ASSOCIATIONS ?? '1,4').split(',').map(Number);
const SETS = process.env.DICOMBRIDGE_BENCH_SEND_SETS;

async function startStorescp(outDir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  await mkdir(outDir, { recursive: true });
  const scp = spawn('storescp', ['--fork', '-od', outDir, String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  await waitFor(async () => ((await echoscu(port, 'ANY')).code === 0 ? true : undefined), 10_000);
  return {
    port,
    stop: async () => {
      scp.kill('SIGTERM');
      await new Promise((r) => scp.once('exit', r));
    },
  };
}

const isEmpty = async (dir: string) => ((await readdir(dir).catch(() => [])).length === 0 ? true : undefined);

/** Seconds from the bridge taking the ZIP to finishing it; one bridge for all repetitions. */
async function benchBridgeSend(work: string, zipPath: string, port: number, outDir: string, associations: number): Promise<{ seconds: number[]; peakRssMb: number }> {
  const storage = join(work, 'send-storage');
  const config = join(work, 'send.json');
  await writeFile(config, JSON.stringify({
    storageFolder: storage,
    receive: { enabled: false },
    send: { enabled: true, host: '127.0.0.1', port, calledAeTitle: 'ANY', stableSeconds: 1, scanIntervalSeconds: 1, associations },
    log: { level: 'warn' },
  }));
  const { command, args } = bridgeCommand();
  const bridge = spawn(command, [...args, '-s', '--config', config], { stdio: 'ignore' });
  const seconds: number[] = [];
  try {
    const outbox = join(storage, 'Outbox_Auto');
    const claimed = join(storage, 'Work', 'outbox');
    await waitFor(async () => ((await stat(outbox).catch(() => undefined)) ? true : undefined), 20_000);
    for (let i = 0; i < REPETITIONS; i += 1) {
      await copyFile(zipPath, join(storage, 'bench.zip'));
      await rename(join(storage, 'bench.zip'), join(outbox, 'bench.zip'));
      await waitFor(() => isEmpty(outbox), 600_000);
      const taken = performance.now();
      await waitFor(() => isEmpty(claimed), 600_000);
      seconds.push((performance.now() - taken) / 1000);
      const failed = await readdir(join(storage, 'Outbox_Failed'));
      if (failed.length > 0) throw new Error(`the bridge could not send the ZIP: ${failed.join(', ')}`);
      await rm(outDir, { recursive: true, force: true });
      await mkdir(outDir);
    }
    return { seconds, peakRssMb: await peakRssMb(bridge.pid!) };
  } finally {
    bridge.kill('SIGTERM');
    await new Promise((r) => bridge.once('exit', r));
    await rm(storage, { recursive: true, force: true });
  }
}

/** Runs the send benchmark; returns its report (a Markdown table). */
export async function benchSend(work: string, datasets: Datasets): Promise<string> {
  const table = [
    `| data | storescu MB/s | ${ASSOCIATIONS.map((n) => `bridge ×${n} MB/s | ratio ×${n}`).join(' | ')} | storescu inst/s | ${ASSOCIATIONS.map((n) => `bridge ×${n} inst/s`).join(' | ')} | bridge peak RSS ${ASSOCIATIONS.map((n) => `×${n}`).join(' / ')} |`,
    `|---|---|${ASSOCIATIONS.map(() => '---|---|').join('')}---|${ASSOCIATIONS.map(() => '---|').join('')}---|`,
  ];
  for (const [name, study] of datasets) {
    if (SETS !== undefined && !name.includes(SETS)) continue;
    const bytes = await totalBytes(study.files);
    const zipPath = join(work, 'send-bench.zip');
    await writeZip(zipPath, study.files);
    const outDir = join(work, 'send-storescp');
    const scp = await startStorescp(outDir);
    try {
      const direct: number[] = [];
      for (let i = 0; i < REPETITIONS; i += 1) {
        direct.push(await storescu(scp.port, study.files));
        await rm(outDir, { recursive: true, force: true });
        await mkdir(outDir);
      }
      const directSeconds = median(direct);
      const cells: string[] = [];
      const rates: string[] = [];
      const rss: string[] = [];
      for (const associations of ASSOCIATIONS) {
        const bridge = await benchBridgeSend(work, zipPath, scp.port, outDir, associations);
        const bridgeSeconds = median(bridge.seconds);
        cells.push(`${(mb(bytes) / bridgeSeconds).toFixed(1)} | ${(directSeconds / bridgeSeconds).toFixed(2)}`);
        rates.push((study.files.length / bridgeSeconds).toFixed(1));
        rss.push(bridge.peakRssMb.toFixed(0));
      }
      table.push(`| ${name} | ${(mb(bytes) / directSeconds).toFixed(1)} | ${cells.join(' | ')} | ${(study.files.length / directSeconds).toFixed(1)} | ${rates.join(' | ')} | ${rss.join(' / ')} MB |`);
      process.stdout.write(`${table.at(-1)}\n`);
    } finally {
      await scp.stop();
      await rm(zipPath, { force: true });
    }
  }
  return `Send (medians of ${REPETITIONS}; ratio = bridge throughput / storescu throughput; every sender to the same storescp --fork; the bridge: ${bridgeCommand().what}; the ZIP is deflated by yazl's default level):\n${table.join('\n')}\n`;
}
