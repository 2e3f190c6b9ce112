/**
 * DCMTK storescp as a C-STORE SCP peer for integration tests: started on a free port, probed
 * with echoscu until it answers, stopped by PID. Also holds the small process supervisor the
 * Orthanc helper shares (spawn, bounded stderr capture, SIGTERM then SIGKILL, idempotent stop).
 * No npm library wraps these daemons; a real DCMTK/Orthanc peer is the point of these tests.
 *
 * storescp and Orthanc listen on every interface (neither can be bound to 127.0.0.1), so both
 * refuse to start outside the private network namespace scripts/run-tests.sh provides.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { echoscu, freePort } from './dcmtk.js';

/** Bytes of a peer's stderr/stdout kept for error messages (the tail). */
const OUTPUT_TAIL_BYTES = 16 * 1024;
/** Bounded wait for a peer to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 5_000;
/** Readiness probing: tries × pause between tries bounds the start-up wait. */
const PROBE_TRIES = 100;
const PROBE_PAUSE_MS = 100;

/**
 * Throws unless the tests run in the private network namespace of scripts/run-tests.sh
 * (DICOMBRIDGE_NETNS=private), because `peerName` listens on every interface.
 */
export function requirePrivateNetns(peerName: string): void {
  if (process.env.DICOMBRIDGE_NETNS !== 'private') {
    throw new Error(`run the tests with npm test: ${peerName} listens on every interface and must run in a private network namespace`);
  }
}

/** Peers still running, killed synchronously if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A spawned peer daemon: its PID, captured output and an idempotent stop. */
export interface PeerProcess {
  pid: number;
  /** Null while running. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** The tail of stdout+stderr, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after a bounded wait; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Spawns a peer daemon and supervises it; rejects if the binary cannot be started. */
export function spawnPeer(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<PeerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail += chunk.toString('utf8');
      if (tail.length > OUTPUT_TAIL_BYTES) tail = tail.slice(tail.length - OUTPUT_TAIL_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const exited = new Promise<void>((done) => {
      child.once('exit', (code, signal) => {
        status = { code, signal };
        running.delete(child);
        done();
      });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      running.delete(child);
      reject(err.code === 'ENOENT'
        ? new Error(`${command} is not installed: run 'npm test' (scripts/install-test-deps.sh installs it)`)
        : err);
    });
    child.once('spawn', () => {
      running.add(child);
      let stopping: Promise<void> | undefined;
      resolve({
        pid: child.pid!,
        exitStatus: () => status,
        output: () => tail,
        stop: () => {
          stopping ??= (async () => {
            if (status) return;
            child.kill('SIGTERM');
            const grace = new AbortController();
            const killed = await Promise.race([
              exited.then(() => false),
              delay(TERM_GRACE_MS, true, { signal: grace.signal }).catch(() => false),
            ]);
            grace.abort();
            if (killed && !status) {
              child.kill('SIGKILL');
              await exited;
            }
          })();
          return stopping;
        },
      });
    });
  });
}

/**
 * Calls `probe` until it returns true, at most PROBE_TRIES times; fails early with the peer's
 * output if the process exits, and with a timeout message otherwise.
 */
export async function waitUntilReady(peer: PeerProcess, name: string, probe: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < PROBE_TRIES; attempt += 1) {
    const exit = peer.exitStatus();
    if (exit) throw new Error(`${name} exited during start-up (code ${exit.code}, signal ${exit.signal}): ${peer.output().trim()}`);
    if (await probe().catch(() => false)) return;
    await delay(PROBE_PAUSE_MS);
  }
  throw new Error(`${name} did not become ready after ${PROBE_TRIES} probes: ${peer.output().trim()}`);
}

/** A running DCMTK storescp. */
export interface StorescpPeer {
  port: number;
  aeTitle: string;
  outDir: string;
  pid: number;
  /** Received files (Part 10, written by storescp in bit-preserving mode +B so datasets are byte-identical). */
  files(): Promise<string[]>;
  /** Stops by PID (SIGTERM, then SIGKILL); idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts storescp on a free port, writing every received instance into `outDir` in
 * bit-preserving mode (+B: the dataset is stored as received on the wire, not re-encoded).
 * Resolves once an echoscu C-ECHO succeeds. `extraArgs` go before the port (e.g. `+xa`).
 */
export async function startStorescp(options: { outDir: string; aeTitle?: string; extraArgs?: string[]; /** A port chosen before (a PACS that comes up where the bridge already sends). */ port?: number; /** Readiness probe instead of a plain echoscu (e.g. echoscu +tls for storescp +tls). */ probe?: (port: number) => Promise<boolean> }): Promise<StorescpPeer> {
  requirePrivateNetns('storescp');
  const aeTitle = options.aeTitle ?? 'STORESCP';
  await mkdir(options.outDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const peer = await spawnPeer('storescp', [
    '-aet', aeTitle, '+B', '-od', options.outDir, ...(options.extraArgs ?? []), String(port),
  ], { env: { ...process.env, TCP_NODELAY: '1' } });
  try {
    await waitUntilReady(peer, 'storescp', options.probe ? () => options.probe!(port) : async () => (await echoscu(port, aeTitle)).code === 0);
  } catch (err) {
    await peer.stop();
    throw err;
  }
  return {
    port,
    aeTitle,
    outDir: options.outDir,
    pid: peer.pid,
    files: async () => {
      const entries = await readdir(options.outDir, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
        .sort();
    },
    stop: () => peer.stop(),
  };
}
