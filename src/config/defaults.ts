/**
 * Default settings (SPEC §5 table plus the documented extra keys). A missing key in the
 * configuration file takes the value found here.
 */
import type { Config } from './schema.js';

/** `C:\CrypeDcm` on Windows (as the vendor manual), a system data folder elsewhere. */
export function defaultStorageFolder(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'C:\\CrypeDcm' : '/var/lib/dicombridge';
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(value);
}

/** The embedded configuration used when no file is given; frozen, copy before changing. */
export const DEFAULT_CONFIG: Readonly<Config> = deepFreeze<Config>({
  storageFolder: defaultStorageFolder(),
  keepFailedDays: 7,
  minFreeDiskMegabytes: 1024,
  receive: {
    enabled: true,
    host: '0.0.0.0',
    port: 104,
    aeTitle: '',
    timeoutSeconds: 30,
    cridTagGroup: '0000',
    cridTagElement: '0000',
    maxAssociations: 16,
    associationTimeoutSeconds: 30,
    idleTimeoutSeconds: 60,
    maxPduLength: 262144,
    zipCompressionLevel: 1,
    fsync: true,
    allowedPeers: [],
    tls: { enabled: false, port: 2762, certFile: '', keyFile: '', caFile: '', requireClientCert: true },
  },
  send: {
    enabled: false,
    host: '',
    port: 104,
    calledAeTitle: 'CRYPE_DCM',
    callingAeTitle: 'CRYPE_DCM',
    retries: 3,
    retryDelaySeconds: 30,
    scanIntervalSeconds: 5,
    stableSeconds: 2,
    incompleteZipSeconds: 600,
    associations: 1,
    tls: { enabled: false, caFile: '', certFile: '', keyFile: '' },
    timeoutSeconds: 30,
  },
  gui: {
    host: '127.0.0.1',
    port: 8104,
    password: '',
    tls: { certFile: '', keyFile: '' },
  },
  log: {
    level: 'info',
    maxFileMegabytes: 10,
    keepFiles: 10,
  },
});
