/**
 * The ZIP benchmark: how long zipStagedStudy takes to write a study's ZIP once its quiet time
 * is over (SPEC §1), on the datasets of `npm run bench` plus a generated study of 10,000 tiny
 * instances, at the default deflate level (1); then the CT study per deflate level.
 *
 * Runs in the bench process itself (no DICOM traffic), fsync on as in the bridge.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { zipStagedStudy } from '../src/bridge/zip/study-zipper.js';
import { writeStudy, type StudyFiles } from '../test/support/study-files.js';
import { mb, median, REPETITIONS, totalBytes } from './common.js';

const DEFAULT_LEVEL = 1;

/** Seconds to zip the staged folder `dir`, and the ZIP's size. */
async function zipOnce(work: string, dir: string, level: number): Promise<{ seconds: number; zipBytes: number }> {
  const zipPath = join(work, `bench-${level}.zip.tmp`);
  await rm(zipPath, { force: true });
  const started = performance.now();
  await zipStagedStudy({ key: 'bench', dir, instances: new Map() }, zipPath, { zipTempDir: work, compressionLevel: level, cridTag: null, fsync: true });
  const seconds = (performance.now() - started) / 1000;
  const zipBytes = (await stat(zipPath)).size;
  await rm(zipPath);
  return { seconds, zipBytes };
}

async function medianZip(work: string, dir: string, level: number): Promise<{ seconds: number; zipBytes: number }> {
  const runs = [];
  for (let i = 0; i < REPETITIONS; i += 1) runs.push(await zipOnce(work, dir, level));
  return { seconds: median(runs.map((r) => r.seconds)), zipBytes: runs[0]!.zipBytes };
}

/** The CT study's ZIP per deflate level: throughput and size. */
async function benchZipLevels(work: string, study: StudyFiles): Promise<string[]> {
  const lines: string[] = [];
  const size = await totalBytes(study.files);
  for (const level of [0, 1, 3, 6, 9]) {
    const { seconds, zipBytes } = await medianZip(work, dirname(study.files[0]!), level);
    lines.push(`| ${level} | ${seconds.toFixed(2)} s | ${(mb(size) / seconds).toFixed(0)} MB/s | ${(zipBytes / size * 100).toFixed(1)} % |`);
    process.stdout.write(`${lines.at(-1)}\n`);
  }
  return lines;
}

/**
 * Runs the ZIP benchmark on `datasets` (the first one is the CT study used per level) and a
 * generated 10,000-tiny study; returns its report (Markdown tables).
 */
export async function benchZip(work: string, datasets: Array<[string, StudyFiles]>): Promise<string> {
  const tinyDir = join(work, 'zip-tiny-10000');
  const all: Array<[string, StudyFiles]> = [...datasets, ['10,000 tiny', await writeStudy(tinyDir, { count: 10_000, rows: 0, columns: 0, series: 1 })]];
  const table = [
    '| data | instances | input | seconds | MB/s | instances/s | ZIP size vs. input |',
    '|---|---|---|---|---|---|---|',
  ];
  try {
    for (const [name, study] of all) {
      const dir = dirname(study.files[0]!);
      const count = (await readdir(dir)).filter((f) => f.endsWith('.dcm')).length;
      const size = await totalBytes(study.files);
      const { seconds, zipBytes } = await medianZip(work, dir, DEFAULT_LEVEL);
      table.push(`| ${name} | ${count} | ${mb(size).toFixed(0)} MB | ${seconds.toFixed(2)} | ${(mb(size) / seconds).toFixed(0)} | ${(count / seconds).toFixed(0)} | ${(zipBytes / size * 100).toFixed(1)} % |`);
      process.stdout.write(`${table.at(-1)}\n`);
    }
  } finally {
    await rm(tinyDir, { recursive: true, force: true });
  }
  const ct = datasets[0]![1];
  const levels = await benchZipLevels(work, ct);
  return `ZIP writing after the quiet time (zipStagedStudy alone, level ${DEFAULT_LEVEL}, fsync on, medians of ${REPETITIONS}):\n${table.join('\n')}\n\n`
    + `ZIP writing of the CT study (${mb(await totalBytes(ct.files)).toFixed(0)} MB) per deflate level:\n| level | seconds | throughput | size vs. input |\n|---|---|---|---|\n${levels.join('\n')}\n`;
}
