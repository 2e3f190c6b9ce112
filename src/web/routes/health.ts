/**
 * GET /health and GET /metrics on the admin GUI's server, for a service
 * monitor and for Prometheus.
 *
 * `/health` answers 200 `{ "status": "ready", "checks": [...] }` or 503 `{ "status": "not
 * ready", "reasons": [...], "checks": [...] }`, both with the instance's identity: `product`
 * ("DicomBridge"), `version`, `mode` ("service", "foreground") and `configPathSha256`, the
 * SHA-256 of the absolute configuration path. A second `dicombridge` started with the same
 * configuration (a double-click while the service runs) compares that hash with its own to
 * open the running GUI instead of failing on the taken ports; a hash, not the path, because
 * /health is readable by anyone who reaches the GUI. Ready means: the DICOM receiver listens when
 * receiving is on (receiving switched off is a choice, not a fault), the log book answers a
 * query, the storage folder takes a file (probed at most every 30 s, the answer cached), and
 * free disk space is not below `minFreeDiskMegabytes`, and every TLS file of a TLS end that is on
 * can be used. A certificate that expires within 30 days (or has expired) is listed under
 * `warnings`, without making the bridge "not ready": it still works until the day itself.
 *
 * `/metrics` is the Prometheus text format 0.0.4 (src/bridge/metrics.ts): counters since the
 * process started (they survive a bridge restart on a new storage folder) and gauges read at
 * each scrape.
 *
 * Both pass the GUI's RequestGuard like every route: the Host header must be one this server
 * is reached under (Prometheus sends the target's `host:port`, so scrape the address the GUI
 * listens on), and when `gui.password` is set, HTTP Basic authentication is required: in
 * prometheus.yml, `basic_auth: { username: any, password: <gui.password> }` (the user name is
 * not checked). Reads need no page token.
 */
import { createHash } from 'node:crypto';
import { posix, win32 } from 'node:path';
import { METRICS_CONTENT_TYPE, processFigures, renderMetrics } from '../../bridge/metrics.js';
import type { BridgeStatus } from '../../bridge/status.js';
import { checkStorageFolder } from '../../config/load.js';
import type { Supervisor } from '../../supervisor.js';
import { sendJson } from '../http.js';
import type { Route } from './context.js';
import { currentStatus } from './status.js';
import { certificateWarnings, describeConfiguredCertificates } from '../tls-files.js';

/** The product name /health reports, so a probe can tell a DicomBridge from another server. */
export const PRODUCT_NAME = 'DicomBridge';

/** How this process runs: `-s` (service), without it (foreground), or not set (tests of the web layer). */
export type RunMode = 'service' | 'foreground' | 'unknown';

/**
 * SHA-256 (hex) of the absolute configuration path, as /health reports it. Windows paths are
 * case-insensitive: lower-cased there, so `C:\CrypeDcm` and `c:\crypedcm` are the same file.
 */
export function configPathHash(configPath: string, platform: NodeJS.Platform = process.platform): string {
  const absolute = platform === 'win32' ? win32.resolve(configPath).toLowerCase() : posix.resolve(configPath);
  return createHash('sha256').update(absolute, 'utf8').digest('hex');
}

/** The storage folder is probed for writing at most this often; the answer is cached meanwhile. */
export const STORAGE_PROBE_INTERVAL_MS = 30_000;

/** One readiness check and what it found. */
export interface HealthCheck {
  name: 'receiver' | 'logbook' | 'storage' | 'disk' | 'tls';
  ok: boolean;
  /** What was found, for people ("listening on 127.0.0.1:11112", "free disk space below 1024 MB"). */
  detail: string;
}

/** The readiness verdict with the status it was read from. */
export interface HealthReport {
  ready: boolean;
  checks: HealthCheck[];
  /** The `detail` of each failed check. */
  reasons: string[];
  /** Not faults yet: certificates expiring within 30 days or expired. */
  warnings: string[];
  status: BridgeStatus;
}

/** Options of {@link HealthService}. */
export interface HealthServiceOptions {
  /** Clock for the probe cache (tests). */
  now?: () => number;
  /** Writes and removes a small file in `dir`; rejects when it cannot (tests inject failures). */
  probeWrite?: (dir: string) => Promise<void>;
  /** How this process runs, reported to a second start with the same configuration. */
  mode?: RunMode;
}

/** Evaluates readiness for whichever bridge is current and serves both routes. */
export class HealthService {
  private readonly mode: RunMode;
  private readonly now: () => number;
  private readonly probeWrite: (dir: string) => Promise<void>;
  private probe: { dir: string; atMs: number; result: Promise<string | null> } | null = null;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly version: string,
    options: HealthServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.mode = options.mode ?? 'unknown';
    // The same probe as the start-up check of SPEC §5 "storage folder: writable".
    this.probeWrite = options.probeWrite ?? ((dir) => checkStorageFolder({ storageFolder: dir }));
  }

  /** Runs every check (the storage probe from its cache when fresh). */
  async report(): Promise<HealthReport> {
    const bridge = this.supervisor.bridge;
    const [status, storageError] = await Promise.all([currentStatus(this.supervisor, this.version), this.storageProbe(bridge.layout.root)]);
    const checks: HealthCheck[] = [];

    const receiving = status.receiving;
    if (!receiving.enabled) checks.push({ name: 'receiver', ok: true, detail: 'DICOM receiving is switched off' });
    else if (receiving.listening) checks.push({ name: 'receiver', ok: true, detail: `DICOM receiver listening on ${receiving.host}:${receiving.port}` });
    else checks.push({ name: 'receiver', ok: false, detail: `DICOM receiver not listening (receive.port ${receiving.port ?? bridge.config.receive.port})` });
    const tls = receiving.tls;
    if (tls?.enabled) {
      checks.push(tls.listening
        ? { name: 'tls', ok: true, detail: `DICOM TLS receiver listening on ${tls.host}:${tls.port}` }
        : { name: 'tls', ok: false, detail: `DICOM TLS receiver not listening (receive.tls.port ${tls.port})` });
    }

    try {
      bridge.logBook.latest(1);
      checks.push({ name: 'logbook', ok: true, detail: 'log book answers' });
    } catch (err) {
      checks.push({ name: 'logbook', ok: false, detail: `log book not usable: ${(err as Error).message}` });
    }

    checks.push(storageError === null
      ? { name: 'storage', ok: true, detail: `storage folder ${status.storageFolder} is writable` }
      : { name: 'storage', ok: false, detail: `storage folder ${status.storageFolder} not writable: ${storageError}` });

    const minFreeMb = bridge.config.minFreeDiskMegabytes;
    const free = status.disk.freeBytes === null ? 'unknown' : `${Math.floor(status.disk.freeBytes / (1024 * 1024))} MB`;
    checks.push(status.disk.low
      ? { name: 'disk', ok: false, detail: `free disk space below ${minFreeMb} MB (${free} free)` }
      : { name: 'disk', ok: true, detail: minFreeMb === 0 ? `free disk space ${free} (no minimum set)` : `free disk space ${free}, minimum ${minFreeMb} MB` });

    const certificates = await describeConfiguredCertificates(bridge.config);
    for (const entry of certificates) {
      if (entry.inUse && entry.error !== undefined) checks.push({ name: 'tls', ok: false, detail: `${entry.setting}: ${entry.error}` });
    }
    const warnings = certificateWarnings(certificates.filter((e) => e.error === undefined));

    const reasons = checks.filter((c) => !c.ok).map((c) => c.detail);
    return { ready: reasons.length === 0, checks, reasons, warnings, status };
  }

  /** GET /health */
  readonly health: Route = async ({ res }) => {
    const report = await this.report();
    const identity = { product: PRODUCT_NAME, version: this.version, mode: this.mode, configPathSha256: configPathHash(this.supervisor.configPath) };
    if (report.ready) sendJson(res, 200, { status: 'ready', ...identity, checks: report.checks, warnings: report.warnings });
    else sendJson(res, 503, { status: 'not ready', ...identity, reasons: report.reasons, checks: report.checks, warnings: report.warnings });
  };

  /** GET /metrics */
  readonly metrics: Route = async ({ res }) => {
    const report = await this.report();
    const body = renderMetrics({ counts: this.supervisor.counts, status: report.status, ready: report.ready, process: processFigures() });
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };

  /** null when the folder took a file, else why not; re-probed after the interval or a folder change. */
  private storageProbe(dir: string): Promise<string | null> {
    const nowMs = this.now();
    if (this.probe === null || this.probe.dir !== dir || nowMs - this.probe.atMs >= STORAGE_PROBE_INTERVAL_MS) {
      const result = this.probeWrite(dir).then(
        () => null,
        // checkStorageFolder wraps the file system's error: show its code (EROFS, EACCES, ...).
        (err: Error & { code?: string }) => (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.code ?? err.message,
      );
      this.probe = { dir, atMs: nowMs, result };
    }
    return this.probe.result;
  }
}
