/**
 * `npm run bench`: generates realistic data once — a CT study (600 × 512×512 16-bit, ~0.5 MB
 * each, noisy like real CT), 3,000 tiny instances of one study, one ~300 MB multi-frame
 * instance — and runs the receive and the send benchmarks against DCMTK in the same run.
 *
 * Runs inside a private network namespace (`unshare -n`) when it can, because storescp listens
 * on every interface; all traffic stays on that namespace's loopback.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeStudy } from '../test/support/study-files.js';
import { ctPixels } from './common.js';
import { benchReceive, type Datasets } from './receive.js';
import { benchSend } from './send.js';
import { benchZip } from './zip.js';

if (process.env.DICOMBRIDGE_BENCH_INSIDE === 'private') process.env.DICOMBRIDGE_NETNS = 'private'; // Orthanc's helper checks it
if (!process.env.DICOMBRIDGE_BENCH_INSIDE) {
  if (spawnSync('unshare', ['-n', 'true']).status === 0) {
    const self = fileURLToPath(import.meta.url);
    const inside = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, self, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, DICOMBRIDGE_BENCH_INSIDE: 'private' },
    });
    process.exit(inside.status ?? 1);
  }
  process.stderr.write('bench: cannot create a private network namespace (unshare -n); running in the main one\n');
  process.env.DICOMBRIDGE_BENCH_INSIDE = 'main';
}

const only = process.argv[2]; // "receive", "zip" or "send" to run one part
const work = await mkdtemp(join(tmpdir(), 'dicombridge-bench-'));
try {
  process.stdout.write(`bench: generating data in ${work} (network namespace: ${process.env.DICOMBRIDGE_BENCH_INSIDE})\n`);
  const noise = Array.from({ length: 16 }, (_, i) => ctPixels(i));
  // BENCH_SETS=ct,tiny,big picks sets (all by default).
  const sets = (process.env.BENCH_SETS ?? 'ct,tiny,big').split(',');
  const datasets: Datasets = [];
  if (sets.includes('ct')) datasets.push(['CT 600 × 0.5 MB', await writeStudy(join(work, 'ct'), { count: 600, rows: 512, columns: 512, pixelData: (i) => noise[i % noise.length]! })]);
  if (sets.includes('tiny')) datasets.push(['3,000 tiny', await writeStudy(join(work, 'tiny'), { count: 3000, rows: 0, columns: 0, series: 1 })]);
  if (sets.includes('big')) datasets.push(['1 × 300 MB multi-frame', await writeStudy(join(work, 'big'), { count: 1, rows: 512, columns: 512, frames: 572, series: 1 })]);
  const reports: string[] = [];
  if (only === undefined || only === 'receive') reports.push(await benchReceive(work, datasets));
  if (only === undefined || only === 'zip') reports.push(await benchZip(work, datasets));
  if (only === undefined || only === 'send') reports.push(await benchSend(work, datasets));
  process.stdout.write(`\n${reports.join('\n')}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
