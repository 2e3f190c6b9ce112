/**
 * GUI login sessions (src/web/sessions.ts, src/web/security.ts): random ids, idle expiry,
 * all ended by a password change; the cookie's attributes; the guard admitting a session
 * instead of the password.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { RequestGuard } from '../../../src/web/security.js';
import { cookieValue, SESSION_IDLE_MS, sessionCookie, SessionStore } from '../../../src/web/sessions.js';

function req(headers: Record<string, string>, method = 'GET'): IncomingMessage {
  return { method, headers: { host: '127.0.0.1:8104', ...headers } } as unknown as IncomingMessage;
}

const basic = (secret: string) => `Basic ${Buffer.from(`admin:${secret}`).toString('base64')}`;

describe('SessionStore', () => {
  it('issues distinct 256-bit ids that expire after 8 idle hours', () => {
    const store = new SessionStore();
    const a = store.create(0);
    const b = store.create(0);
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a, 'base64url').length, 32);
    assert.equal(store.touch(a, SESSION_IDLE_MS), true, 'used within the idle time');
    assert.equal(store.touch(a, 2 * SESSION_IDLE_MS), true, 'each use restarts the idle time');
    assert.equal(store.touch(b, SESSION_IDLE_MS + 1), false);
    assert.equal(store.touch(b, 0), false, 'an expired session is forgotten');
    assert.equal(store.touch('made-up', 0), false);
  });

  it('reads the cookie and writes it Secure only over HTTPS', () => {
    assert.equal(cookieValue('a=1; dicombridge_session=xyz; b=2', 'dicombridge_session'), 'xyz');
    assert.equal(cookieValue('a=1', 'dicombridge_session'), undefined);
    assert.equal(sessionCookie('id', true), 'dicombridge_session=id; Secure; HttpOnly; SameSite=Strict; Path=/');
    assert.equal(sessionCookie('id', false), 'dicombridge_session=id; HttpOnly; SameSite=Strict; Path=/');
  });
});

describe('RequestGuard sessions', () => {
  const password = 'correct horse battery';

  it('opens a session on a right password and accepts its cookie alone; a new password ends it', () => {
    const guard = new RequestGuard({ host: '127.0.0.1', port: 8104, password });
    assert.equal(guard.admit(req({})).refusal?.status, 401);
    const login = guard.admit(req({ authorization: basic(password) }));
    assert.equal(login.refusal, null);
    const cookie = (login.setCookie ?? '').split(';')[0]!;
    assert.match(cookie, /^dicombridge_session=/);
    assert.deepEqual(guard.admit(req({ cookie })), { refusal: null });
    guard.update({ host: '127.0.0.1', port: 8104, password });
    assert.equal(guard.admit(req({ cookie })).refusal, null, 'same password: the session lives on');
    guard.update({ host: '127.0.0.1', port: 8104, password: 'another long password' });
    assert.equal(guard.admit(req({ cookie })).refusal?.status, 401);
  });

  it('opens no session without a password, nor for a request refused later (no token)', () => {
    const open = new RequestGuard({ host: '127.0.0.1', port: 8104, password: '' });
    assert.deepEqual(open.admit(req({})), { refusal: null });
    const guard = new RequestGuard({ host: '127.0.0.1', port: 8104, password });
    const refused = guard.admit(req({ authorization: basic(password), 'content-type': 'application/json' }, 'PUT'));
    assert.equal(refused.refusal?.status, 403);
    assert.equal(refused.setCookie, undefined);
    assert.equal(guard.sessions.size, 0);
  });

  it('over HTTPS accepts https:// Origins (default port 443 left out) and sets a Secure cookie', () => {
    const guard = new RequestGuard({ host: '127.0.0.1', port: 443, password, secure: true });
    const admitted = guard.admit({ method: 'GET', headers: { host: '127.0.0.1', origin: 'https://127.0.0.1', authorization: basic(password) } } as unknown as IncomingMessage);
    assert.equal(admitted.refusal, null);
    assert.match(admitted.setCookie ?? '', /; Secure;/);
    const plainOrigin = guard.admit({ method: 'GET', headers: { host: '127.0.0.1', origin: 'http://127.0.0.1' } } as unknown as IncomingMessage);
    assert.equal(plainOrigin.refusal?.reason, 'cross-origin request');
  });
});
