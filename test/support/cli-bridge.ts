/**
 * The real CLI (`bin/dicombridge.js -s`) as a child process, for fault tests that kill it and
 * start it again on the same configuration, and looks at its storage folder only as a user
 * (or the CRYPE app) would: the Inbox folders, the GUI server's /metrics, the files left over.
 * Nothing here reaches into the bridge's modules, so the tests survive a new receive design.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetOf, readZip } from './bridge-harness.js';
import { rawRequest } from './gui-harness.js';
import { echoscu } from './peers/dcmtk.js';

const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));

/** A running CLI bridge. */
export interface CliBridge {
  child: ChildProcess;
  /** Resolves when the process has exited (after kill or stop). */
  exited: Promise<void>;
}

/**
 * Starts `dicombridge -s --config configPath`, its console (stdout and stderr) appended to
 * `consoleLog`, and waits until it answers C-ECHO on 127.0.0.1:port (bounded).
 */
export async function startCli(configPath: string, port: number, consoleLog: string): Promise<CliBridge> {
  const fd = openSync(consoleLog, 'a');
  const child = spawn(process.execPath, [BIN, '-s', '--config', configPath], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`bridge exited at start (code ${child.exitCode}); see ${consoleLog}`);
    if ((await echoscu(port)).code === 0) return { child, exited };
    await new Promise((r) => setTimeout(r, 100)); // readiness probe interval, not synchronisation of the test's subject
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`bridge did not answer C-ECHO within 15 s; see ${consoleLog}`);
}

/** SIGKILL, then waits for the exit. */
export async function killCli(bridge: CliBridge): Promise<void> {
  if (bridge.child.exitCode === null && bridge.child.signalCode === null) bridge.child.kill('SIGKILL');
  await bridge.exited;
}

/** SIGTERM (a clean stop), bounded: SIGKILL and an error after timeoutMs. Resolves with the exit code. */
export async function stopCli(bridge: CliBridge, timeoutMs = 30_000): Promise<number | null> {
  if (bridge.child.exitCode !== null || bridge.child.signalCode !== null) return bridge.child.exitCode;
  bridge.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  const result = await Promise.race([bridge.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await killCli(bridge);
    throw new Error(`bridge did not stop within ${timeoutMs} ms of SIGTERM`);
  }
  return bridge.child.exitCode;
}

/** One sample of the GUI server's /metrics (undefined when absent or the server does not answer). */
export async function metric(guiPort: number, name: string): Promise<number | undefined> {
  const res = await rawRequest(guiPort, 'GET', '/metrics').catch(() => undefined);
  if (!res || res.status !== 200) return undefined;
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** SHA-256 of some bytes, hex: the identity of one sent copy of an instance. */
export function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** One instance found in an inbox ZIP. */
export interface ZippedInstance {
  zip: string;
  entry: string;
  /** SHA-256 of the dataset (the Part 10 file without preamble and file meta); '' when unreadable. */
  datasetDigest: string;
}

/**
 * Every entry of every ZIP in Inbox_Auto and Inbox_Manual. An unreadable ZIP, or an entry
 * that is no Part 10 file, is listed with an empty digest (never a thrown error).
 */
export async function zippedInstances(storage: string): Promise<ZippedInstance[]> {
  const found: ZippedInstance[] = [];
  for (const inbox of ['Inbox_Auto', 'Inbox_Manual']) {
    const names = await readdir(join(storage, inbox)).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.zip')).sort()) {
      const zip = join(inbox, name);
      const entries = await readZip(join(storage, zip)).catch((err: Error) => new Map([[`(unreadable ZIP: ${err.message})`, Buffer.alloc(0)]]));
      for (const [entry, file] of entries) {
        let datasetDigest = '';
        try {
          datasetDigest = digest(datasetOf(file));
        } catch {
          // not a Part 10 file: no copy as sent has an empty digest, so the audit reports it
        }
        found.push({ zip, entry, datasetDigest });
      }
    }
  }
  return found;
}

/** Files (recursively) in a folder under the storage folder; [] when it does not exist. */
export async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * What a clean stop must not leave behind, whatever the bridge's working folders are called:
 * outside Inbox_Auto and Inbox_Manual, no DICOM Part 10 file, no ZIP, no empty file (a
 * temporary created ahead; an empty `.log` passes) and no file named like a temporary
 * (`.part`, `.tmp`, `~`). The log book and text logs pass.
 */
export async function leftoverFiles(storage: string): Promise<string[]> {
  const left: string[] = [];
  for (const path of await filesIn(storage)) {
    const rel = relative(storage, path);
    const top = rel.split(sep)[0];
    if (top === 'Inbox_Auto' || top === 'Inbox_Manual') {
      if (!rel.endsWith('.zip') || rel.split(sep).length !== 2) left.push(rel);
      continue;
    }
    if (/\.(part|tmp|temp)$|~$/i.test(rel)) {
      left.push(rel);
      continue;
    }
    const size = (await stat(path)).size;
    if (size === 0 && !rel.endsWith('.log')) {
      left.push(`${rel} (empty)`);
      continue;
    }
    const handle = await open(path, 'r');
    const head = Buffer.alloc(132);
    const { bytesRead } = await handle.read(head, 0, 132, 0).finally(() => undefined);
    await handle.close();
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) left.push(`${rel} (a ZIP)`);
    else if (bytesRead === 132 && head.toString('latin1', 128, 132) === 'DICM') left.push(`${rel} (a DICOM file)`);
  }
  return left.sort();
}

/**
 * A seeded PRNG (mulberry32): the same seed replays the same fault points. Returns floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from DICOMBRIDGE_TEST_SEED, or a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.DICOMBRIDGE_TEST_SEED;
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}
