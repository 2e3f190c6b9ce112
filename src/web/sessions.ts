/**
 * Login sessions of the admin GUI (SPEC §7): after one successful HTTP Basic challenge the
 * browser gets a random session cookie, so the password is not sent with every request. The
 * ids live in memory only (a restart logs everyone out, which is harmless), expire after a
 * quiet spell, and all end when the password changes.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'dicombridge_session';

/** A session unused this long is gone (a working day). */
export const SESSION_IDLE_MS = 8 * 60 * 60 * 1000;

/** More live sessions than this: the least recently used goes (bounds memory against a flood of logins). */
const MAX_SESSIONS = 1000;

/** In-memory session ids with their last use. */
export class SessionStore {
  /** Keyed by the SHA-256 of the id, so a lookup compares digests, not the secret itself. */
  private readonly lastUse = new Map<string, number>();

  constructor(private readonly idleMs = SESSION_IDLE_MS) {}

  /** A new random 256-bit session id. */
  create(nowMs = Date.now()): string {
    const id = randomBytes(32).toString('base64url');
    this.lastUse.set(keyOf(id), nowMs);
    if (this.lastUse.size > MAX_SESSIONS) {
      const oldest = this.lastUse.keys().next().value;
      if (oldest !== undefined) this.lastUse.delete(oldest);
    }
    return id;
  }

  /** True for a live session (and marks it used); an expired one is forgotten. */
  touch(id: string, nowMs = Date.now()): boolean {
    const key = keyOf(id);
    const last = this.lastUse.get(key);
    if (last === undefined) return false;
    this.lastUse.delete(key);
    if (nowMs - last > this.idleMs) return false;
    this.lastUse.set(key, nowMs); // re-inserted: the Map's order stays least recently used first
    return true;
  }

  /** Ends every session (the password changed). */
  clear(): void {
    this.lastUse.clear();
  }

  get size(): number {
    return this.lastUse.size;
  }
}

function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64');
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value for a session; `Secure` only over HTTPS (a browser drops a Secure cookie sent over HTTP). */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}${secure ? '; Secure' : ''}; HttpOnly; SameSite=Strict; Path=/`;
}
