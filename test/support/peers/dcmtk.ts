/**
 * DCMTK command-line peers (Debian package dcmtk) for integration tests and the benchmark.
 * A missing binary fails the run: these tests never skip. `TCP_NODELAY=1` because Debian's
 * DCMTK leaves Nagle on otherwise and loses ~45 ms per small PDU.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const DCMTK_ENV = { ...process.env, TCP_NODELAY: '1' };

/** Result of a finished DCMTK tool. */
export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a DCMTK tool to completion (bounded by timeoutMs). */
export function runTool(tool: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { env: DCMTK_ENV, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err && typeof (err as NodeJS.ErrnoException).code === 'string' ? undefined : (err as { code?: number } | null)?.code ?? 0;
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${tool} is not installed: run 'npm test' (it installs dcmtk) or apt-get install dcmtk`));
        return;
      }
      resolve({ code: code ?? null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** storescu to 127.0.0.1:port; `-v` so acknowledged instances can be counted. */
export function storescu(port: number, files: string[], options: { calledAet?: string; callingAet?: string; extra?: string[] } = {}): Promise<ToolResult> {
  return runTool('storescu', [
    '-v', '-aet', options.callingAet ?? 'STORESCU', '-aec', options.calledAet ?? 'CRYPE_DCM',
    ...(options.extra ?? []), '127.0.0.1', String(port), ...files,
  ]);
}

/** Starts storescu without waiting, for tests that act during the transfer. */
export function spawnStorescu(port: number, files: string[], extra: string[] = []): ChildProcess {
  return spawn('storescu', ['-v', '-aet', 'STORESCU', '-aec', 'CRYPE_DCM', ...extra, '127.0.0.1', String(port), ...files], {
    env: DCMTK_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Counts "Received Store Response (Success" lines in storescu -v output. */
export function acknowledgedCount(output: string): number {
  return output.split('\n').filter((line) => /Received Store Response \((Success|Warning)/.test(line)).length;
}

/** echoscu against 127.0.0.1:port. */
export function echoscu(port: number, calledAet = 'CRYPE_DCM'): Promise<ToolResult> {
  return runTool('echoscu', ['-aet', 'ECHOSCU', '-aec', calledAet, '127.0.0.1', String(port)], 30_000);
}

/** dcmdump of one file (print all, no string limit). */
export function dcmdump(file: string, extra: string[] = []): Promise<ToolResult> {
  return runTool('dcmdump', ['+L', ...extra, file], 30_000);
}

/** A free TCP port on 127.0.0.1 (for peers that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
