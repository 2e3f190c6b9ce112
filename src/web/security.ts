/**
 * The admin GUI's request guard (SPEC §7: "nobody on the network can change settings through
 * it"). Four checks, in order, before any route runs:
 *
 * 1. Host: only the names under which this server is really reached. A DNS-rebinding page
 *    (attacker.example resolving to 127.0.0.1) sends `Host: attacker.example` and is refused.
 * 2. Origin / Sec-Fetch-Site: a cross-site page may send requests but never with our Origin.
 * 3. Password (HTTP Basic), when one is configured: required off loopback (schema rule). It is
 *    compared in constant time (SHA-256 digests of both, so not even the length leaks); a
 *    successful challenge opens a session (sessions.ts) whose cookie then stands in for it.
 * 4. Token: every state-changing request carries the per-process token that only a page
 *    served by us can read (it is embedded in index.html; no CORS header ever lets another
 *    origin read it), and a JSON content type (a cross-site form cannot send one).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackAddress } from '../config/schema.js';
import { cookieValue, SESSION_COOKIE, sessionCookie, SessionStore } from './sessions.js';

/** Header carrying the page token on state-changing requests. */
export const TOKEN_HEADER = 'x-dicombridge-token';

/** Why a request was refused: HTTP status and a short text for the body and the log. */
export interface Refusal {
  status: 400 | 401 | 403 | 415 | 429;
  reason: string;
}

/** Where the GUI listens and what it requires. */
export interface GuardSettings {
  host: string;
  port: number;
  /** '' = no password (loopback only, enforced by the config schema). */
  password: string;
  /** Served over HTTPS (gui.tls): Origin is https://…, the session cookie is Secure. */
  secure?: boolean;
}

/** What the guard decided: a refusal, or admission with possibly a new session cookie to set. */
export interface Admission {
  refusal: Refusal | null;
  /** A Set-Cookie value when this request opened a session. */
  setCookie?: string;
}

function hostPort(host: string, port: number, secure = false): string {
  const name = isIPv6(host) ? `[${host}]` : host;
  // Browsers leave the default port out of Host and Origin.
  return port === (secure ? 443 : 80) ? name : `${name}:${port}`;
}

/**
 * Host header values under which this server is legitimately reached: its own address and,
 * on loopback, the loopback names; on a wildcard address every local interface and the
 * machine's name.
 */
export function allowedHosts(host: string, port: number, secure = false): Set<string> {
  const names = new Set<string>([hostPort(host, port, secure)]);
  if (isLoopbackAddress(host) || host === '0.0.0.0' || host === '::') {
    for (const name of ['localhost', '127.0.0.1', '::1']) names.add(hostPort(name, port, secure));
  }
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(hostPort(a.address, port, secure));
    }
    names.add(hostPort(hostname().toLowerCase(), port, secure));
  }
  return names;
}

/** Checks every request; `refuse()` returns null when the request may proceed. */
export class RequestGuard {
  /** The page token; a new one per process start. */
  readonly token = randomBytes(24).toString('base64url');
  private hosts: Set<string>;
  private passwordDigest: Buffer | null;
  private secure: boolean;
  private readonly failures: number[] = [];
  /** Logins by cookie; only used while a password is set. */
  readonly sessions = new SessionStore();

  constructor(settings: GuardSettings) {
    this.secure = settings.secure ?? false;
    this.hosts = allowedHosts(settings.host, settings.port, this.secure);
    this.passwordDigest = settings.password === '' ? null : digest(settings.password);
  }

  /** After a re-bind: the new address and password (the token stays, so open pages keep working; a new password ends every session). */
  update(settings: GuardSettings): void {
    this.secure = settings.secure ?? false;
    this.hosts = allowedHosts(settings.host, settings.port, this.secure);
    const next = settings.password === '' ? null : digest(settings.password);
    if (next === null || this.passwordDigest === null || !timingSafeEqual(next, this.passwordDigest)) this.sessions.clear();
    this.passwordDigest = next;
  }

  /** The reason to refuse this request, or null. */
  refuse(req: IncomingMessage, nowMs = Date.now()): Refusal | null {
    return this.admit(req, nowMs).refusal;
  }

  /** Decides on this request; after a successful password challenge also opens a session. */
  admit(req: IncomingMessage, nowMs = Date.now()): Admission {
    const refusal = (r: Refusal): Admission => ({ refusal: r });
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host)) return refusal({ status: 403, reason: 'unknown Host header' });

    const origin = req.headers.origin;
    if (origin !== undefined && !this.hosts.has(originHost(origin, this.secure))) return refusal({ status: 403, reason: 'cross-origin request' });

    let openSession = false;
    if (this.passwordDigest !== null) {
      // A live session was opened with the password: someone guessing meanwhile does not lock it out.
      const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
      if (session === undefined || !this.sessions.touch(session, nowMs)) {
        if (this.tooManyFailures(nowMs)) return refusal({ status: 429, reason: 'too many wrong passwords; wait a minute' });
        if (!this.passwordMatches(req.headers.authorization)) {
          this.failures.push(nowMs);
          return refusal({ status: 401, reason: 'password required' });
        }
        openSession = true;
      }
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // Reads are harmless across sites (the browser keeps the answer from the other page, and
      // a click on a link, or the page moving to a new GUI port, is "same-site"); writes are not.
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') return refusal({ status: 403, reason: 'cross-site request' });
      const token = req.headers[TOKEN_HEADER];
      if (typeof token !== 'string' || !sameSecret(token, this.token)) return refusal({ status: 403, reason: 'missing or wrong page token' });
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') return refusal({ status: 415, reason: 'content type must be application/json' });
    }
    return openSession ? { refusal: null, setCookie: sessionCookie(this.sessions.create(nowMs), this.secure) } : { refusal: null };
  }

  private passwordMatches(authorization: string | undefined): boolean {
    if (authorization === undefined || this.passwordDigest === null) return false;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization.trim());
    if (!match) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    return timingSafeEqual(digest(decoded.slice(colon + 1)), this.passwordDigest);
  }

  /** At most 10 wrong passwords a minute: enough for a person, too few for guessing. */
  private tooManyFailures(nowMs: number): boolean {
    while (this.failures.length > 0 && this.failures[0] < nowMs - 60_000) this.failures.shift();
    return this.failures.length >= 10;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function originHost(origin: string, secure: boolean): string {
  try {
    const url = new URL(origin);
    return url.protocol === (secure ? 'https:' : 'http:') ? url.host.toLowerCase() : '';
  } catch {
    return '';
  }
}

/** Strict-Transport-Security over HTTPS: browsers use only HTTPS for this host for a year. */
export const HSTS_HEADER = 'max-age=31536000';

/** Response headers that keep the page from being framed, sniffed or fed foreign scripts. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
