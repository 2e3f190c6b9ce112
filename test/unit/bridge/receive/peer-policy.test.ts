import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../../src/config/errors.js';
import { PeerPolicy } from '../../../../src/bridge/receive/peer-policy.js';

const peer = (callingAeTitle: string, address: string, commonName?: string) => ({ callingAeTitle, calledAeTitle: 'CRYPE_DCM', address, commonName });
const hosts: Record<string, string[]> = { 'pacs.example': ['10.1.2.3', 'fd00::3'] };
const resolver = async (host: string): Promise<string[]> => {
  const found = hosts[host];
  if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

describe('PeerPolicy', () => {
  it('lets any peer in when the list is empty', async () => {
    const policy = await PeerPolicy.resolve([], resolver);
    assert.ok(policy.open);
    assert.equal(policy.check(peer('ANYONE', '192.0.2.1')), null);
  });

  it('rejects an unknown calling AE title, and a known one from another address', async () => {
    const policy = await PeerPolicy.resolve([{ aeTitle: 'PACS1', host: '10.1.2.3' }, { aeTitle: 'MOD', host: '10.9.0.0/16' }, { aeTitle: 'ANYWHERE' }], resolver);
    assert.equal(policy.check(peer('PACS1', '10.1.2.3')), null);
    assert.equal(policy.check(peer('PACS1', '::ffff:10.1.2.3')), null, 'IPv4-mapped from a dual-stack socket');
    assert.equal(policy.check(peer('MOD', '10.9.200.1')), null);
    assert.equal(policy.check(peer('ANYWHERE', '203.0.113.9')), null);
    assert.equal(policy.check(peer('STRANGER', '10.1.2.3'))?.reason, 'unknown-calling-ae-title');
    assert.equal(policy.check(peer('PACS1', '10.1.2.4'))?.reason, 'address-not-allowed');
    assert.equal(policy.check(peer('MOD', '10.8.0.1'))?.reason, 'address-not-allowed');
    assert.match(policy.check(peer('PACS1', '10.1.2.4'))!.text, /"PACS1" from 10\.1\.2\.4.*10\.1\.2\.3/);
  });

  it('resolves host names to all their addresses; one that does not resolve is a ConfigError on Save, or matches nothing at start', async () => {
    const policy = await PeerPolicy.resolve([{ aeTitle: 'PACS1', host: 'pacs.example' }], resolver);
    assert.equal(policy.check(peer('PACS1', '10.1.2.3')), null);
    assert.equal(policy.check(peer('PACS1', 'fd00::3')), null);
    assert.equal(policy.check(peer('PACS1', '10.1.2.4'))?.reason, 'address-not-allowed');
    await assert.rejects(PeerPolicy.resolve([{ aeTitle: 'X', host: 'gone.example' }], resolver),
      (err: unknown) => err instanceof ConfigError && err.key === 'receive.allowedPeers[0].host' && /ENOTFOUND/.test(err.message));
    const reported: string[] = [];
    const lenient = await PeerPolicy.resolve([{ aeTitle: 'X', host: 'gone.example' }], resolver, (issue) => reported.push(issue.key));
    assert.deepEqual(reported, ['receive.allowedPeers[0].host']);
    assert.equal(lenient.check(peer('X', '10.1.2.3'))?.reason, 'address-not-allowed');
  });

  it('checks the client certificate CN when the connection gives one', async () => {
    const policy = await PeerPolicy.resolve([{ aeTitle: 'PACS1', commonName: 'pacs1.hospital' }, { aeTitle: 'PACS2' }], resolver);
    assert.equal(policy.check(peer('PACS1', '10.0.0.1', 'pacs1.hospital')), null);
    assert.equal(policy.check(peer('PACS1', '10.0.0.1', 'intruder'))?.reason, 'certificate-name-mismatch');
    assert.equal(policy.check(peer('PACS1', '10.0.0.1')), null, 'plain DICOM: no certificate to compare');
    assert.equal(policy.check(peer('PACS2', '10.0.0.1', 'anything')), null, 'an entry without commonName takes any verified certificate');
  });
});
