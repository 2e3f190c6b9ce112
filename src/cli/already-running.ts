/**
 * "Is this bridge already running?" (SPEC §6, the vendor's double-click): users open the GUI
 * by starting the program again while the service runs. Before binding anything, the
 * foreground mode asks the configured GUI address for `/health`; when a DicomBridge with the
 * same configuration file answers (same SHA-256 of the absolute path), it opens that GUI and
 * exits 0 instead of failing on the taken DICOM port. Anything else there (another program,
 * a bridge with another configuration, no answer within the timeout) leaves the start as it
 * was, which then fails naming the taken key. A GUI on HTTPS (gui.tls) is asked over TLS, and
 * only if it shows our own configured certificate is the password sent.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';
import { configPathHash, PRODUCT_NAME, type RunMode } from '../web/routes/health.js';

/** How long the probe waits for an answer: a local GUI answers in milliseconds. */
export const PROBE_TIMEOUT_MS = 2000;

/** How long the console stays open on Windows after the message, unless Enter comes first. */
export const CONSOLE_HOLD_MS = 15_000;

const MAX_BODY_BYTES = 64 * 1024;

/** The bridge found at the GUI address. */
export interface RunningBridge {
  /** Where its GUI is reached from this machine. */
  url: string;
  mode: RunMode;
  version: string;
}

/** A wildcard listen address is reached through loopback. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** The GUI's URL for a host and port (IPv6 in brackets). */
export function guiUrl(host: string, port: number, secure = false): string {
  return `${secure ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${port}/`;
}

/** A TLS connection to the GUI, kept only when it shows the certificate in `certFile` (ours). */
async function pinnedTls(host: string, port: number, certFile: string): Promise<TLSSocket | null> {
  const ours = new X509Certificate(await readFile(certFile));
  return new Promise((resolve) => {
    // Not verified against a CA: the pin below is stricter (exactly our certificate).
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ...(isIPv6(host) || /^[\d.]+$/.test(host) ? {} : { servername: host }) });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      if (peer !== undefined && peer.raw.equals(ours.raw)) resolve(socket);
      else {
        socket.destroy();
        resolve(null);
      }
    });
    socket.once('error', () => resolve(null));
  });
}

/** Options of {@link probeRunningBridge}. */
export interface ProbeOptions {
  gui: Pick<Config['gui'], 'host' | 'port' | 'password'> & { tls?: Config['gui']['tls'] };
  /** The configuration file this process was started with (absolute). */
  configPath: string;
  timeoutMs?: number;
}

/**
 * Asks `GET /health` on the configured GUI address (with the configured password, which a
 * bridge on the same file shares). Resolves with the running bridge when it is a DicomBridge
 * on the same configuration file, else null; never rejects.
 */
export function probeRunningBridge(options: ProbeOptions): Promise<RunningBridge | null> {
  const host = reachableHost(options.gui.host);
  const tls = options.gui.tls;
  const secure = tls !== undefined && tls.certFile !== '' && tls.keyFile !== '';
  const url = guiUrl(host, options.gui.port, secure);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.gui.password !== '') headers.authorization = `Basic ${Buffer.from(`dicombridge:${options.gui.password}`).toString('base64')}`;
  const expected = configPathHash(options.configPath);
  return new Promise((resolve) => {
    let settled = false;
    let req: ClientRequest | null = null;
    const finish = (found: RunningBridge | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(found);
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) finish(null);
        else chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          const same = body.product === PRODUCT_NAME && body.configPathSha256 === expected;
          finish(same ? { url, mode: (body.mode as RunMode | undefined) ?? 'unknown', version: String(body.version ?? '') } : null);
        } catch {
          finish(null);
        }
      });
      res.on('error', () => finish(null));
    };
    const timer = setTimeout(() => finish(null), options.timeoutMs ?? PROBE_TIMEOUT_MS);
    const ask = (socket: TLSSocket | null) => {
      if (settled) {
        socket?.destroy();
        return;
      }
      // Over TLS the pinned socket is the connection (Node uses createConnection only without an agent).
      const over = socket === null ? {} : { createConnection: () => socket };
      req = request({ host, port: options.gui.port, path: '/health', method: 'GET', headers, ...over }, onResponse);
      req.on('error', () => finish(null));
      req.end();
    };
    if (!secure) ask(null);
    else {
      pinnedTls(host, options.gui.port, tls.certFile).then(
        (socket) => (socket === null ? finish(null) : ask(socket)),
        () => finish(null),
      );
    }
  });
}

/** The line printed when the bridge is already running. */
export function alreadyRunningLine(running: RunningBridge): string {
  const where = running.mode === 'service' ? ' (service)' : running.mode === 'foreground' ? ' (in another window)' : '';
  return `DicomBridge is already running${where}: admin GUI at ${running.url}; opened it in your browser\n`;
}

/** The part of stdin {@link holdConsole} uses. */
export interface ConsoleInput {
  readonly isTTY?: boolean;
  once(event: 'data', listener: () => void): unknown;
  off(event: 'data', listener: () => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Keeps a console window readable: resolves on Enter or after `holdMs`. A program started by
 * double-click on Windows gets a console of its own that closes when it exits, so the message
 * would vanish at once. Returns at once when stdin is not a terminal (scripts, pipes, tests).
 */
export function holdConsole(input: ConsoleInput, holdMs = CONSOLE_HOLD_MS): Promise<void> {
  if (input.isTTY !== true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      input.off('data', done);
      input.pause();
      resolve();
    };
    const timer = setTimeout(done, holdMs);
    input.once('data', done);
    input.resume();
  });
}
