import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsAuditEntry, settingsChanges, isSecretKey } from '../../../src/bridge/settings-audit.js';
import { configIssue } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';

const base = () => parseConfig({ storageFolder: '/srv/bridge', receive: { port: 11112 } }, { baseDir: '/srv' });

describe('settingsChanges', () => {
  it('lists each changed key as key: old → new, in the config order', () => {
    const before = base();
    const after = structuredClone(before);
    after.receive.port = 11113;
    after.send.host = '10.1.2.3';
    after.send.tls.keyFile = '/etc/bridge/client.key';
    after.receive.fsync = false;
    assert.deepEqual(settingsChanges(before, after), [
      'receive.port: 11112 → 11113',
      'receive.fsync: true → false',
      'send.host: (empty) → 10.1.2.3',
      'send.tls.keyFile: (empty) → /etc/bridge/client.key',
    ]);
  });

  it('never writes a password, only that it changed', () => {
    const before = base();
    const after = structuredClone(before);
    after.gui.password = 'correct horse battery staple';
    const lines = settingsChanges(before, after);
    assert.deepEqual(lines, ['gui.password: (changed)']);
    // Cleared, too: the old one must not show either.
    assert.deepEqual(settingsChanges(after, before), ['gui.password: (changed)']);
    assert.ok(!JSON.stringify(settingsChanges(after, before)).includes('horse'));
    assert.ok(isSecretKey('gui.password') && isSecretKey('send.tls.passphrase') && !isSecretKey('send.tls.keyFile'));
  });

  it('shows the allowed peers as one JSON value', () => {
    const before = base();
    const after = structuredClone(before);
    after.receive.allowedPeers = [{ aeTitle: 'PACS1', host: '10.1.2.3' }];
    assert.deepEqual(settingsChanges(before, after), ['receive.allowedPeers: [] → [{"aeTitle":"PACS1","host":"10.1.2.3"}]']);
  });

  it('compares only the keys a partial tree holds; unknown keys read (none) → value; long values are cut', () => {
    const before = base();
    assert.deepEqual(settingsChanges(before, { receive: { port: 'abc' } }), ['receive.port: 11112 → abc']);
    assert.deepEqual(settingsChanges(before, { receive: { colour: 'red' } }), ['receive.colour: (none) → red']);
    const [line] = settingsChanges(before, { storageFolder: 'x'.repeat(1000) });
    assert.ok(line.length < 400 && line.endsWith('…'));
    assert.deepEqual(settingsChanges(before, structuredClone(before)), []);
  });
});

describe('settingsAuditEntry', () => {
  it('a saved change: Success, the changes and the address', () => {
    const before = base();
    const after = structuredClone(before);
    after.receive.port = 11113;
    assert.deepEqual(settingsAuditEntry({ before, after, address: '127.0.0.1' }), {
      action: 'Settings',
      status: 'Success',
      reason: 'receive.port: 11112 → 11113',
      peerAddress: '127.0.0.1',
    });
    assert.equal(settingsAuditEntry({ before, after: before, address: '::1' }).reason, 'no setting changed');
  });

  it('a refused save: Failed, why, and what was attempted; a secret value quoted by a rule is left out', () => {
    const before = base();
    const attempted = { receive: { port: 104 }, gui: { password: 12345678 } };
    const issues = [
      configIssue('receive.port', 'must be an address and port this machine can listen on (EADDRINUSE)', 104),
      configIssue('gui.password', 'must be a text', 12345678),
    ];
    const entry = settingsAuditEntry({ before, after: attempted, issues, address: '10.0.0.7' });
    assert.equal(entry.status, 'Failed');
    assert.equal(entry.peerAddress, '10.0.0.7');
    assert.equal(
      entry.reason,
      'Not saved: receive.port: must be an address and port this machine can listen on (EADDRINUSE) (got 104); gui.password: must be a text\n' +
        'receive.port: 11112 → 104\ngui.password: (changed)',
    );
    assert.ok(!String(entry.reason).includes('12345678'));
  });
});
