/**
 * The admin GUI's request guard (SPEC §7: "nobody on the network can change settings through
 * it"). Four checks, in order, before any route runs:
 *
 * 1. Host: only the names under which this server is really reached. A DNS-rebinding page
 *    (attacker.example resolving to 127.0.0.1) sends `Host: attacker.example` and is refused.
 * 2. Origin / Sec-Fetch-Site: a cross-site page may send requests but never with our Origin.
 * 3. Password (HTTP Basic), when one is configured: required off loopback (schema rule).
 * 4. Token: every state-changing request carries the per-process token that only a page
 *    served by us can read (it is embedded in index.html; no CORS header ever lets another
 *    origin read it), and a JSON content type (a cross-site form cannot send one).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackAddress } from '../config/schema.js';

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
}

function hostPort(host: string, port: number): string {
  const name = isIPv6(host) ? `[${host}]` : host;
  // Browsers leave the default port out of Host and Origin.
  return port === 80 ? name : `${name}:${port}`;
}

/**
 * Host header values under which this server is legitimately reached: its own address and,
 * on loopback, the loopback names; on a wildcard address every local interface and the
 * machine's name.
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set<string>([hostPort(host, port)]);
  if (isLoopbackAddress(host) || host === '0.0.0.0' || host === '::') {
    for (const name of ['localhost', '127.0.0.1', '::1']) names.add(hostPort(name, port));
  }
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(hostPort(a.address, port));
    }
    names.add(hostPort(hostname().toLowerCase(), port));
  }
  return names;
}

/** Checks every request; `refuse()` returns null when the request may proceed. */
export class RequestGuard {
  /** The page token; a new one per process start. */
  readonly token = randomBytes(24).toString('base64url');
  private hosts: Set<string>;
  private passwordDigest: Buffer | null;
  private readonly failures: number[] = [];

  constructor(settings: GuardSettings) {
    this.hosts = allowedHosts(settings.host, settings.port);
    this.passwordDigest = settings.password === '' ? null : digest(settings.password);
  }

  /** After a re-bind: the new address and password (the token stays, so open pages keep working). */
  update(settings: GuardSettings): void {
    this.hosts = allowedHosts(settings.host, settings.port);
    this.passwordDigest = settings.password === '' ? null : digest(settings.password);
  }

  /** The reason to refuse this request, or null. */
  refuse(req: IncomingMessage, nowMs = Date.now()): Refusal | null {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host)) return { status: 403, reason: 'unknown Host header' };

    const origin = req.headers.origin;
    if (origin !== undefined && !this.hosts.has(originHost(origin))) return { status: 403, reason: 'cross-origin request' };

    if (this.passwordDigest !== null) {
      if (this.tooManyFailures(nowMs)) return { status: 429, reason: 'too many wrong passwords; wait a minute' };
      if (!this.passwordMatches(req.headers.authorization)) {
        this.failures.push(nowMs);
        return { status: 401, reason: 'password required' };
      }
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // Reads are harmless across sites (the browser keeps the answer from the other page, and
      // a click on a link, or the page moving to a new GUI port, is "same-site"); writes are not.
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, reason: 'cross-site request' };
      const token = req.headers[TOKEN_HEADER];
      if (typeof token !== 'string' || !sameSecret(token, this.token)) return { status: 403, reason: 'missing or wrong page token' };
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') return { status: 415, reason: 'content type must be application/json' };
    }
    return null;
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

function originHost(origin: string): string {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' ? url.host.toLowerCase() : '';
  } catch {
    return '';
  }
}

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
