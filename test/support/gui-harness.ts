/**
 * Starts the whole product the way main.ts does — a bridge, its supervisor and the admin GUI
 * server — on a temp storage folder, DICOM port 0 and GUI port 0, with a configuration file
 * the GUI's Save writes. Plus a raw HTTP client that can send any Host header (fetch can't).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createBridge } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Logger } from '../../src/dicom/ul/logger.js';
import { Supervisor } from '../../src/supervisor.js';
import { startGuiServer, type GuiServer } from '../../src/web/server.js';
import { freePort } from './peers/dcmtk.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A running product under test. */
export interface GuiUnderTest {
  supervisor: Supervisor;
  gui: GuiServer;
  configPath: string;
  /** `http://127.0.0.1:<port>` without the trailing slash. */
  origin: string;
  /** Every log line written so far (to check that no secret is logged). */
  logText(): string;
  stop(): Promise<void>;
}

/** Starts bridge + GUI; `overrides` are config keys as in the JSON file. */
export async function startGui(storageFolder: string, overrides: Record<string, unknown> = {}): Promise<GuiUnderTest> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      if (process.env.DICOMBRIDGE_TEST_LOG) process.stderr.write(chunk);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink) as unknown as Logger;
  // A real free port (not 0): the GUI shows and saves it like any setting.
  const receive = { host: '127.0.0.1', port: await freePort(), timeoutSeconds: 1, ...(overrides.receive as object | undefined) };
  const config: Config = parseConfig({ ...overrides, storageFolder, receive }, { baseDir: storageFolder });
  const configPath = join(storageFolder, 'dicombridge.json');
  const start = (next: Config) => createBridge(next, { log });
  const supervisor = new Supervisor(await start(config), { configPath, start, log });
  const gui = await startGuiServer({ supervisor, version: PACKAGE_VERSION, log, port: 0 });
  return {
    supervisor,
    gui,
    configPath,
    origin: `http://127.0.0.1:${gui.port}`,
    logText: () => lines.join(''),
    async stop() {
      await gui.close();
      await supervisor.stop();
    },
  };
}

/** A raw HTTP answer. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => unknown;
}

/** Sends one request to 127.0.0.1:port with exactly the given headers. */
export function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<RawResponse> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers }, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) as unknown });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The page token, read from the served page as a browser would. */
export async function pageToken(port: number, headers: Record<string, string> = {}): Promise<string> {
  const page = await rawRequest(port, 'GET', '/', headers);
  const match = /name="dicombridge-token" content="([^"]+)"/.exec(page.body);
  if (!match) throw new Error(`no token in the page (status ${page.status})`);
  return match[1];
}

/** The configuration file's text, or null when it does not exist. */
export async function configText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}
