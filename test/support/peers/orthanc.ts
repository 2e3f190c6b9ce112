/**
 * Orthanc (Debian package orthanc, 1.10) as a real PACS for send-side integration tests:
 * its own JSON configuration and storage under a test folder, free ports, readiness probed
 * over REST (`GET /system`), stopped by PID, received instances read back over REST.
 * No npm library wraps Orthanc; its REST API is small enough for node:http.
 *
 * Orthanc listens on every interface, so it refuses to start outside the private network
 * namespace of scripts/run-tests.sh (requirePrivateNetns).
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './dcmtk.js';
import { requirePrivateNetns, spawnPeer, waitUntilReady, type PeerProcess } from './storescp.js';

/** Orthanc's binary in the Debian package (/usr/sbin is not on every user's PATH). */
const ORTHANC_BINARY = existsSync('/usr/sbin/Orthanc') ? '/usr/sbin/Orthanc' : 'Orthanc';
/** A start-up can lose its free port to another process; retry with new ports this often. */
const START_ATTEMPTS = 3;
/** Cap on a REST response body (test instances are small; a runaway answer fails the test). */
const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;
/** Bound on one REST request. */
const REST_TIMEOUT_MS = 30_000;

/** A running Orthanc. */
export interface OrthancPeer {
  dicomPort: number;
  httpPort: number;
  aeTitle: string;
  pid: number;
  /** Orthanc identifiers of the stored instances (REST GET /instances). */
  instanceIds(): Promise<string[]>;
  /** The stored Part 10 file of one instance (REST GET /instances/{id}/file). */
  file(id: string): Promise<Buffer>;
  /** Stops by PID (SIGTERM, then SIGKILL); idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startOrthanc}. */
export interface OrthancOptions {
  /** Folder for the configuration, the storage area and the index (created if missing). */
  dir: string;
  aeTitle?: string;
  /** Orthanc's DicomCheckCalledAet: reject associations whose called AE is not `aeTitle`. */
  checkCalledAet?: boolean;
  /** restrict accepted transfer syntaxes, e.g. to test a PACS refusing JPEG */
  acceptedTransferSyntaxes?: string[];
  /** DICOM TLS on the DICOM port (Orthanc ≥ 1.9): its certificate, key, trusted CAs, client certificate required. */
  tls?: { certFile: string; keyFile: string; caFile: string; requireClientCert: boolean };
}

/** One REST call to 127.0.0.1:port; resolves with status and body. */
function rest(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: REST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`Orthanc GET ${path}: response larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`Orthanc GET ${path}: no answer within ${REST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A REST call that must answer 200. */
async function restOk(port: number, path: string): Promise<Buffer> {
  const { status, body } = await rest(port, path);
  if (status !== 200) throw new Error(`Orthanc GET ${path} answered HTTP ${status}: ${body.toString('utf8', 0, 500)}`);
  return body;
}

/** The configuration file's content: everything under `dir`, local REST only, no plugins. */
function configuration(options: OrthancOptions, aeTitle: string, dicomPort: number, httpPort: number): Record<string, unknown> {
  return {
    Name: 'DicomBridgeTest',
    StorageDirectory: join(options.dir, 'storage'),
    IndexDirectory: join(options.dir, 'index'),
    TemporaryDirectory: join(options.dir, 'tmp'),
    StorageCompression: false,
    Plugins: [],
    LuaScripts: [],
    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    SslEnabled: false,
    DicomServerEnabled: true,
    DicomAet: aeTitle,
    DicomPort: dicomPort,
    DicomCheckCalledAet: options.checkCalledAet ?? false,
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    UnknownSopClassAccepted: true,
    ...(options.acceptedTransferSyntaxes ? { AcceptedTransferSyntaxes: options.acceptedTransferSyntaxes } : {}),
    ...(options.tls ? {
      DicomTlsEnabled: true,
      DicomTlsCertificate: options.tls.certFile,
      DicomTlsPrivateKey: options.tls.keyFile,
      DicomTlsTrustedCertificates: options.tls.caFile,
      DicomTlsRemoteCertificateRequired: options.tls.requireClientCert,
    } : {}),
    OverwriteInstances: false,
    SaveJobs: false,
    ConcurrentJobs: 1,
    MetricsEnabled: false,
    // A throwaway test store: no fsync per instance.
    SyncStorageArea: false,
  };
}

/** Starts Orthanc once on fresh ports; resolves when `GET /system` answers 200. */
async function startOnce(options: OrthancOptions, aeTitle: string): Promise<{ peer: PeerProcess; dicomPort: number; httpPort: number }> {
  const dicomPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === dicomPort) httpPort = await freePort();
  const configFile = join(options.dir, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(configuration(options, aeTitle, dicomPort, httpPort), null, 2));
  const peer = await spawnPeer(ORTHANC_BINARY, ['--no-jobs', configFile], { cwd: options.dir });
  try {
    await waitUntilReady(peer, 'Orthanc', async () => (await rest(httpPort, '/system')).status === 200);
  } catch (err) {
    await peer.stop();
    throw err;
  }
  return { peer, dicomPort, httpPort };
}

/**
 * Starts Orthanc with its own configuration in `options.dir` (storage and index there,
 * REST on 127.0.0.1 only, no authentication, no plugins, uncompressed storage, unknown SOP
 * classes accepted). Retries on fresh ports if Orthanc exits during start-up.
 */
export async function startOrthanc(options: OrthancOptions): Promise<OrthancPeer> {
  requirePrivateNetns('Orthanc');
  const aeTitle = options.aeTitle ?? 'ORTHANC';
  await mkdir(join(options.dir, 'tmp'), { recursive: true });
  let started: Awaited<ReturnType<typeof startOnce>> | undefined;
  for (let attempt = 1; !started; attempt += 1) {
    try {
      started = await startOnce(options, aeTitle);
    } catch (err) {
      if (attempt >= START_ATTEMPTS || !/exited during start-up/.test((err as Error).message)) throw err;
    }
  }
  const { peer, dicomPort, httpPort } = started;
  return {
    dicomPort,
    httpPort,
    aeTitle,
    pid: peer.pid,
    instanceIds: async () => JSON.parse((await restOk(httpPort, '/instances')).toString('utf8')) as string[],
    file: (id: string) => restOk(httpPort, `/instances/${encodeURIComponent(id)}/file`),
    stop: () => peer.stop(),
  };
}
