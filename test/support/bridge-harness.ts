/**
 * Builds the system under test the way main.ts does, on a temp storage folder and port 0,
 * and offers what a test needs to look at the result like a user would: the inbox folders,
 * the ZIPs' entries, the log book.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import yauzl from 'yauzl';
import { createBridge, type Bridge, type BridgeDeps, type BridgeEvents } from '../../src/app.js';
import type { StudyOutcome } from '../../src/bridge/receive/study-completion.js';
import { parseConfig } from '../../src/config/load.js';
import type { Logger } from '../../src/dicom/ul/logger.js';

/** A quiet logger; set DICOMBRIDGE_TEST_LOG=debug to see the bridge's lines. */
export function testLogger(): Logger {
  return pino({ level: process.env.DICOMBRIDGE_TEST_LOG ?? 'silent' }) as unknown as Logger;
}

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'dicombridge-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Starts a bridge on 127.0.0.1:0 with the given config overrides (and collaborators, e.g. a logger). */
export async function startBridge(storageFolder: string, overrides: Record<string, unknown> = {}, deps: BridgeDeps = {}): Promise<Bridge> {
  const receive = { host: '127.0.0.1', port: 1, timeoutSeconds: 1, ...(overrides.receive as object | undefined) };
  const config = parseConfig({ ...overrides, storageFolder, receive }, { baseDir: storageFolder });
  config.receive.port = 0; // port 0 is not a valid setting, but lets the OS pick a free port in tests
  return createBridge(config, { log: testLogger(), ...deps });
}

/**
 * Config overrides that switch sending on to a PACS at 127.0.0.1:port (called AE "PACS"),
 * with short scan, stable and retry times for tests; `extra` overrides any send key.
 */
export function sendOverrides(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { send: { enabled: true, host: '127.0.0.1', port, calledAeTitle: 'PACS', callingAeTitle: 'CRYPE_DCM', retries: 2, retryDelaySeconds: 1, scanIntervalSeconds: 1, stableSeconds: 1, timeoutSeconds: 10, ...extra } };
}

/** Resolves with the next `count` events of one kind (bounded by timeoutMs). */
export function nextEvents<K extends keyof BridgeEvents>(bridge: Bridge, kind: K, count: number, timeoutMs = 60_000): Promise<Array<BridgeEvents[K][0]>> {
  return new Promise((resolve, reject) => {
    const outcomes: Array<BridgeEvents[K][0]> = [];
    const timer = setTimeout(() => {
      bridge.off(kind, onEvent as never);
      reject(new Error(`expected ${count} ${kind} events, got ${outcomes.length} within ${timeoutMs} ms`));
    }, timeoutMs);
    function onEvent(outcome: BridgeEvents[K][0]) {
      outcomes.push(outcome);
      if (outcomes.length === count) {
        clearTimeout(timer);
        bridge.off(kind, onEvent as never);
        resolve(outcomes);
      }
    }
    bridge.on(kind, onEvent as never);
  });
}

/** Resolves with the next `count` study outcomes (bounded by timeoutMs). */
export function nextStudies(bridge: Bridge, count: number, timeoutMs = 60_000): Promise<StudyOutcome[]> {
  return nextEvents(bridge, 'study', count, timeoutMs);
}

/** File names in a folder, sorted; [] if it does not exist. */
export async function list(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** Every file under a folder, recursively, as paths relative to it. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1)).sort();
}

/** All entries of a ZIP, read fully (test data is small enough). */
export function readZip(path: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, strictFileNames: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return reject(streamErr);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
          stream.on('error', reject);
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** The dataset part of a Part 10 file (after "DICM" and the group 0002 elements). */
export function datasetOf(file: Buffer): Buffer {
  if (file.toString('latin1', 128, 132) !== 'DICM') throw new Error('not a Part 10 file');
  let offset = 132;
  while (offset < file.length && file.readUInt16LE(offset) === 0x0002) {
    const vr = file.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr);
    offset += long ? 12 + file.readUInt32LE(offset + 8) : 8 + file.readUInt16LE(offset + 6);
  }
  return file.subarray(offset);
}

/** Removes a temp folder. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * SOP Instance UID of an explicit VR little endian dataset as dicom-builder writes them
 * (short-length VRs only before (0008,0018)); the test's own parser, not the code under test.
 */
export function sopUidOf(dataset: Buffer): string {
  let offset = 0;
  while (offset + 8 <= dataset.length) {
    const group = dataset.readUInt16LE(offset);
    const element = dataset.readUInt16LE(offset + 2);
    const length = dataset.readUInt16LE(offset + 6);
    if (group === 0x0008 && element === 0x0018) return dataset.toString('latin1', offset + 8, offset + 8 + length).replace(/\0$/, '');
    offset += 8 + length;
  }
  throw new Error('no SOP Instance UID');
}

/** True when the bytes hold `uid` as a whole value (not as the prefix of a longer UID). */
export function containsUid(bytes: Buffer, uid: string): boolean {
  const needle = Buffer.from(uid, 'latin1');
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    const next = bytes[at + needle.length];
    if (next === undefined || !((next >= 0x30 && next <= 0x39) || next === 0x2e)) return true;
  }
  return false;
}
