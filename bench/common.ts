/**
 * What the benchmarks share: timing helpers, realistic CT pixels, peak RSS, and DCMTK runs with
 * TCP_NODELAY=1 (Debian's DCMTK otherwise leaves Nagle on and loses ~45 ms per instance).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runTool } from '../test/support/peers/dcmtk.js';

/** The real CLI, run as a separate process so its RSS is its own. */
export const BIN = fileURLToPath(new URL('../../bin/dicombridge.js', import.meta.url));

/**
 * The product as users run it: the Linux executable that `npm run package` builds (bundled,
 * with its V8 flags), or, where there is none, the CLI on this Node with the same flags.
 */
export function bridgeCommand(): { command: string; args: string[]; what: string } {
  // DICOMBRIDGE_BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) or
  // DICOMBRIDGE_BENCH_BIN (another build's CLI) run the CLI on this Node instead.
  const extra = (process.env.DICOMBRIDGE_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const bin = process.env.DICOMBRIDGE_BENCH_BIN;
  if (extra.length > 0 || bin !== undefined) {
    const args = [...SEA_EXEC_ARGV, ...extra];
    return { command: process.execPath, args: [...args, bin ?? BIN], what: `node ${args.join(' ')} ${bin ?? 'bin/dicombridge.js'}` };
  }
  const version = (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
  const exe = fileURLToPath(new URL(`../pkg/dicombridge-${version}-linux-x64`, import.meta.url));
  if (process.platform === 'linux' && existsSync(exe)) return { command: exe, args: [], what: `the executable ${exe}` };
  return { command: process.execPath, args: [...SEA_EXEC_ARGV, BIN], what: `node ${SEA_EXEC_ARGV.join(' ')} bin/dicombridge.js` };
}
/** The V8 flags the executables start with (scripts/package.mjs puts them in the SEA's execArgv). */
const SEA_EXEC_ARGV = JSON.parse(readFileSync(fileURLToPath(new URL('../../scripts/exec-argv.json', import.meta.url)), 'utf8')) as string[];

export const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3);

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
export const mb = (bytes: number) => bytes / 1e6;

/** Noisy, smooth 12-bit image: compresses about like real CT. */
export function ctPixels(seed: number): Buffer {
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

export async function totalBytes(files: string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}

export function peakRssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Seconds storescu takes to send the files to 127.0.0.1:port. */
export async function storescu(port: number, files: string[]): Promise<number> {
  const started = performance.now();
  const result = await runTool('storescu', ['-aec', 'CRYPE_DCM', '-aet', 'BENCH', '127.0.0.1', String(port), ...files], 600_000);
  if (result.code !== 0) throw new Error(`storescu failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

