/**
 * The admin GUI's HTTP server (SPEC §7), on `gui.host:gui.port` (loopback by default); HTTPS
 * only, with HSTS, when `gui.tls` is set (listener.ts). Node's own `http` module: the GUI has
 * a handful of JSON routes plus three static files, so a framework would add more than it
 * saves (STYLE.md §9 allows it "if it stays tiny"). Every request passes the RequestGuard
 * (Host, Origin, password or session, token) first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ConfigError, configIssue } from '../config/errors.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../dicom/ul/logger.js';
import type { Supervisor } from '../supervisor.js';
import { HttpError, sendJson, setSecurityHeaders } from './http.js';
import { GuiListener, loadGuiTls, wantsTls, type GuiTlsFiles } from './listener.js';
import { HSTS_HEADER, RequestGuard } from './security.js';
import { TlsMaterialError, type TlsMaterial } from '../tls/material.js';
import { getCertificates } from './routes/certificates.js';
import { defaultGuiFiles, filesFromDirs, serveStatic, type StaticDirs } from './static.js';
import type { GuiRebind, Route, RouteContext } from './routes/context.js';
import { getActivity } from './routes/activity.js';
import { postEcho } from './routes/echo.js';
import { EventHub } from './routes/events.js';
import { getFolders } from './routes/folders.js';
import { HealthService, type RunMode } from './routes/health.js';
import { getSettings, putSettings, validateSettings } from './routes/settings.js';
import { getLogBook, getStatus } from './routes/status.js';
import { getProgress } from './routes/progress.js';
import { getLogBookCsv, postRetry } from './routes/logbook.js';

/** Options of startGuiServer. */
export interface GuiServerOptions {
  supervisor: Supervisor;
  version: string;
  log: Logger;
  /** How this process runs (the CLI's `-s` or not), reported by /health. */
  mode?: RunMode;
  /** Overrides gui.port (tests use 0). */
  port?: number;
  /** Serve the page from these folders instead of the embedded or source-tree files. */
  staticDirs?: StaticDirs;
}

/** A running GUI server. */
export interface GuiServer {
  /** e.g. `http://127.0.0.1:8104/` */
  readonly url: string;
  readonly port: number;
  /** The page token (tests send it like the page does). */
  readonly token: string;
  close(): Promise<void>;
}

function urlOf(host: string, port: number, secure = false): string {
  return `${secure ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${port}/`;
}

/** The GUI's certificate and key, or null for plain HTTP; a ConfigError naming gui.tls.* when unusable. */
async function guiTlsMaterial(files: GuiTlsFiles): Promise<TlsMaterial | null> {
  if (!wantsTls(files)) return null;
  try {
    return await loadGuiTls(files);
  } catch (err) {
    if (!(err instanceof TlsMaterialError)) throw err;
    throw new ConfigError([configIssue(`gui.tls.${err.key}`, err.message)], { cause: err });
  }
}

/** Starts serving the GUI; rejects naming gui.host/gui.port when it cannot listen (exit code 1: a service manager retries). */
export async function startGuiServer(options: GuiServerOptions): Promise<GuiServer> {
  const { supervisor, version } = options;
  const log = options.log.child({ component: 'gui' });
  const files = options.staticDirs ? filesFromDirs(options.staticDirs) : defaultGuiFiles();
  const initial = supervisor.config.gui;
  const events = new EventHub(supervisor, version, log);
  const health = new HealthService(supervisor, version, { mode: options.mode });

  const routes = new Map<string, Map<string, Route>>([
    ['/api/status', new Map([['GET', getStatus]])],
    ['/api/logbook', new Map([['GET', getLogBook]])],
    // Log Book export and Retry: a read, and a write behind the same guard as settings.
    ['/api/logbook.csv', new Map([['GET', getLogBookCsv]])],
    ['/api/retry', new Map([['POST', postRetry]])],
    ['/api/events', new Map([['GET', events.route]])],
    ['/api/settings', new Map([['GET', getSettings], ['PUT', putSettings]])],
    ['/api/settings/validate', new Map([['POST', validateSettings]])],
    ['/api/echo', new Map([['POST', postEcho]])],
    ['/api/folders', new Map([['GET', getFolders]])],
    ['/api/progress', new Map([['GET', getProgress]])],
    // Monitoring: readiness and Prometheus metrics, behind the same guard.
    ['/health', new Map([['GET', health.health]])],
    ['/metrics', new Map([['GET', health.metrics]])],
    // Activity chart (issue 11): received/sent counts per hour or day.
    ['/api/activity', new Map([['GET', getActivity]])],
    // Certificates (issue 10): what each configured certificate is and when it expires.
    ['/api/certificates', new Map([['GET', getCertificates]])],
  ]);

  // The port is known after listening; update() then sets the allowed Host names.
  const guard = new RequestGuard({ host: initial.host, port: options.port ?? initial.port, password: initial.password });
  let listener: GuiListener;
  /** Where the GUI is; `configPort` is gui.port as configured (tests listen on port 0 instead). */
  let current = { host: initial.host, port: 0, configPort: initial.port, url: '' };

  const rebind: GuiRebind = {
    get url() {
      return current.url;
    },
    async prepare(gui: Config['gui']) {
      const material = await guiTlsMaterial(gui.tls);
      const secure = material !== null;
      if (gui.host === current.host && gui.port === current.configPort) {
        // Same address, other scheme: the listener switches in place (no second bind possible).
        const url = urlOf(gui.host, current.port, secure);
        return {
          url,
          commit: () => {
            const same = listener;
            same.useTls(material, gui.tls);
            current = { ...current, url };
            guard.update({ host: gui.host, port: current.port, password: gui.password, secure });
            log.info({ url }, secure ? 'admin GUI now serves HTTPS' : 'admin GUI now serves plain HTTP');
            // Let the answer to this very request leave before plain connections go away.
            if (secure) setTimeout(() => same.closePlainConnections(), 1000).unref();
          },
          cancel: () => Promise.resolve(),
        };
      }
      const next = new GuiListener(handle, log);
      next.useTls(material, gui.tls);
      let port: number;
      try {
        port = await next.listen(gui.host, gui.port);
      } catch (err) {
        await next.close();
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        const key = code === 'EADDRNOTAVAIL' ? 'gui.host' : 'gui.port';
        const value = key === 'gui.host' ? gui.host : gui.port;
        throw new ConfigError([configIssue(key, `must be an address and port this machine can listen on (${code})`, value)], { cause: err });
      }
      const url = urlOf(gui.host, port, secure);
      return {
        url,
        commit: () => {
          const old = listener;
          listener = next;
          current = { host: gui.host, port, configPort: gui.port, url };
          guard.update({ host: gui.host, port, password: gui.password, secure });
          log.info({ url }, 'admin GUI moved');
          // Let the answer to this very request leave before the old address goes away.
          setTimeout(() => void old.close(), 1000).unref();
        },
        cancel: () => next.close(),
      };
    },
    reload: () => listener.reload('settings saved'),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    if ((req.socket as TLSSocket).encrypted === true) res.setHeader('strict-transport-security', HSTS_HEADER);
    const { refusal, setCookie } = guard.admit(req);
    if (setCookie !== undefined) res.setHeader('set-cookie', setCookie);
    if (refusal) {
      log.warn({ method: req.method, path: req.url?.slice(0, 200), host: req.headers.host?.slice(0, 200), peer: req.socket.remoteAddress, reason: refusal.reason }, 'GUI request refused');
      if (refusal.status === 401) res.setHeader('www-authenticate', 'Basic realm="CRYPE DicomBridge", charset="UTF-8"');
      return sendJson(res, refusal.status, { error: refusal.reason });
    }
    const url = new URL(req.url ?? '/', 'http://gui.invalid');
    const methods = routes.get(url.pathname);
    try {
      if (!methods) {
        if ((req.method === 'GET' || req.method === 'HEAD') && (await serveStatic(res, url.pathname, files, guard.token))) return;
        throw new HttpError(404, 'not found');
      }
      const route = methods.get(req.method ?? '');
      if (!route) {
        res.setHeader('allow', [...methods.keys()].join(', '));
        throw new HttpError(405, `${req.method} is not allowed here`);
      }
      const ctx: RouteContext = { req, res, url, supervisor, version, log, gui: rebind };
      await route(ctx);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
      log.error({ err, path: url.pathname }, 'GUI request failed');
      sendJson(res, 500, { error: `internal error: ${(err as Error).message}` });
    }
  }

  listener = new GuiListener(handle, log);
  let port: number;
  let secure: boolean;
  try {
    const material = await guiTlsMaterial(initial.tls);
    secure = material !== null;
    listener.useTls(material, initial.tls);
    port = await listener.listen(initial.host, options.port ?? initial.port);
  } catch (err) {
    events.close();
    await listener.close();
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    // Not a ConfigError (exit 78, which systemd does not restart): a port taken at boot may be free a moment later.
    throw new Error(`gui.host/gui.port: cannot listen on ${initial.host}:${options.port ?? initial.port} (${code})`, { cause: err });
  }
  guard.update({ host: initial.host, port, password: initial.password, secure });
  current = { host: initial.host, port, configPort: initial.port, url: urlOf(initial.host, port, secure) };
  log.info({ url: current.url }, 'admin GUI listening');
  // A new password saved through PUT /api/settings is asked for from the next request on.
  const onSettings = (config: Config) => guard.update({ host: current.host, port: current.port, password: config.gui.password });
  supervisor.on('settings', onSettings);

  return {
    get url() {
      return current.url;
    },
    get port() {
      return current.port;
    },
    get token() {
      return guard.token;
    },
    async close() {
      supervisor.off('settings', onSettings);
      events.close();
      await listener.close();
    },
  };
}
