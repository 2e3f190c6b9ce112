/**
 * GET /api/certificates tells the page whether the GUI is served over plain HTTP off loopback,
 * so it shows the permanent "password sent without encryption" warning (the integration test
 * checks the same on a real non-loopback address inside the suite's network namespace).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../../src/config/load.js';
import type { RouteContext } from '../../../../src/web/routes/context.js';
import { getCertificates } from '../../../../src/web/routes/certificates.js';

async function answer(host: string, url: string): Promise<{ gui: { https: boolean; plainOffLoopback: boolean; warning: string } }> {
  const config = parseConfig({ storageFolder: '/tmp/x', gui: { host, password: host.startsWith('127.') ? '' : 'a long enough password' } }, { baseDir: '/tmp' });
  let body = '';
  const res = { writeHead: () => undefined, end: (text: string) => { body = text; } };
  await getCertificates({ res, supervisor: { config }, gui: { url } } as unknown as RouteContext);
  return JSON.parse(body) as { gui: { https: boolean; plainOffLoopback: boolean; warning: string } };
}

describe('GET /api/certificates: transport flag', () => {
  it('flags plain HTTP off loopback only', async () => {
    assert.deepEqual((await answer('127.0.0.1', 'http://127.0.0.1:8104/')).gui, { https: false, plainOffLoopback: false, warning: '' });
    const off = (await answer('10.1.2.3', 'http://10.1.2.3:8104/')).gui;
    assert.equal(off.plainOffLoopback, true);
    assert.match(off.warning, /^password sent without encryption/);
    assert.equal((await answer('0.0.0.0', 'http://0.0.0.0:8104/')).gui.plainOffLoopback, true);
    assert.deepEqual((await answer('10.1.2.3', 'https://10.1.2.3:8104/')).gui, { https: true, plainOffLoopback: false, warning: '' });
  });
});
