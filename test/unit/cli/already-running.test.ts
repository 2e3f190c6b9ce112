import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { alreadyRunningLine, guiUrl, holdConsole, probeRunningBridge } from '../../../src/cli/already-running.js';
import { stopSignals } from '../../../src/cli/run.js';
import { configPathHash } from '../../../src/web/routes/health.js';

const CONFIG = '/etc/dicombridge/dicombridge.json';

/** An HTTP server on 127.0.0.1:0 answering every request with `body`; records the request headers. */
async function answering(status: number, body: string): Promise<{ port: number; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

describe('probeRunningBridge', () => {
  const servers: { close(): unknown }[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  const gui = (port: number, password = '') => ({ host: '127.0.0.1', port, password });
  const identity = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ status: 'ready', product: 'DicomBridge', version: '0.1.0', mode: 'service', configPathSha256: configPathHash(CONFIG), checks: [], ...extra });

  it('finds a DicomBridge on the same configuration file, ready or not', async () => {
    const ready = await answering(200, identity());
    servers.push(ready.server);
    assert.deepEqual(await probeRunningBridge({ gui: gui(ready.port), configPath: CONFIG }), { url: `http://127.0.0.1:${ready.port}/`, mode: 'service', version: '0.1.0' });
    const notReady = await answering(503, identity({ status: 'not ready' }));
    servers.push(notReady.server);
    assert.equal((await probeRunningBridge({ gui: gui(notReady.port), configPath: CONFIG }))?.mode, 'service');
  });

  it('sends the configured GUI password as HTTP Basic', async () => {
    const s = await answering(200, identity());
    servers.push(s.server);
    await probeRunningBridge({ gui: gui(s.port, 'pw:ä'), configPath: CONFIG });
    assert.equal(s.seen[0].authorization, `Basic ${Buffer.from('dicombridge:pw:ä').toString('base64')}`);
    assert.equal(s.seen[0].host, `127.0.0.1:${s.port}`);
  });

  it('ignores a bridge on another configuration, another server, a refusal, a closed port and silence', async () => {
    const other = await answering(200, identity({ configPathSha256: configPathHash('/etc/other.json') }));
    const foreign = await answering(200, '<html>router login</html>');
    const refused = await answering(401, JSON.stringify({ error: 'password required' }));
    servers.push(other.server, foreign.server, refused.server);
    for (const port of [other.port, foreign.port, refused.port]) assert.equal(await probeRunningBridge({ gui: gui(port), configPath: CONFIG }), null, String(port));

    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal(await probeRunningBridge({ gui: gui(closedPort), configPath: CONFIG }), null);

    const silent = createTcpServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    servers.push(silent);
    assert.equal(await probeRunningBridge({ gui: gui((silent.address() as AddressInfo).port), configPath: CONFIG, timeoutMs: 50 }), null);
  });

  it('reaches a GUI on a wildcard address through loopback', () => {
    assert.equal(guiUrl('::1', 8104), 'http://[::1]:8104/');
    assert.equal(guiUrl('127.0.0.1', 8104), 'http://127.0.0.1:8104/');
  });
});

describe('the already-running message and console', () => {
  it('names the running GUI and whether it is the service', () => {
    assert.equal(
      alreadyRunningLine({ url: 'http://127.0.0.1:8104/', mode: 'service', version: '0.1.0' }),
      'DicomBridge is already running (service): admin GUI at http://127.0.0.1:8104/; opened it in your browser\n',
    );
    assert.match(alreadyRunningLine({ url: 'http://127.0.0.1:8104/', mode: 'foreground', version: '0.1.0' }), /running \(in another window\): admin GUI/);
  });

  it('holds a console until Enter, returns at once without a terminal', async () => {
    const input = Object.assign(new EventEmitter(), { isTTY: true, paused: false, resume() {}, pause() { this.paused = true; } });
    const held = holdConsole(input, 60_000);
    input.emit('data', Buffer.from('\r\n'));
    await held;
    assert.equal(input.paused, true);
    assert.equal(input.listenerCount('data'), 0);
    await holdConsole(Object.assign(new EventEmitter(), { isTTY: false, resume() {}, pause() {} }), 60_000);
  });

  it('stops on SIGBREAK (Ctrl+Break) too on Windows', () => {
    assert.deepEqual(stopSignals('win32'), ['SIGINT', 'SIGTERM', 'SIGBREAK']);
    assert.deepEqual(stopSignals('linux'), ['SIGINT', 'SIGTERM']);
  });

  it('hashes the configuration path, case-insensitively on Windows', () => {
    assert.equal(configPathHash('C:\\CrypeDcm\\dicombridge.json', 'win32'), configPathHash('c:\\crypedcm\\DICOMBRIDGE.json', 'win32'));
    assert.notEqual(configPathHash('/a/b.json', 'linux'), configPathHash('/a/B.json', 'linux'));
    assert.match(configPathHash('/a/b.json'), /^[0-9a-f]{64}$/);
  });
});
