/**
 * What an administrator checks first (the GUI's status strip, /health): is the
 * bridge receiving and sending, what is waiting, what failed, how much disk is left.
 */
import { readdir, statfs } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { BYTES_PER_MEGABYTE, type DiskCheck } from './receive/disk-guard.js';
import type { StorageLayout } from './storage-layout.js';

/** The DICOM TLS listener in the status strip (`receive.tls`). */
export interface TlsReceivingStatus {
  enabled: boolean;
  listening: boolean;
  host: string;
  port: number | null;
  requireClientCert: boolean;
  /** For people, e.g. "TLS: on, listening on 0.0.0.0:2762". */
  text: string;
}

/** The figures of the status strip. */
export interface BridgeStatus {
  version: string;
  receiving: { enabled: boolean; listening: boolean; host: string; port: number | null; aeTitle: string; tls?: TlsReceivingStatus };
  sending: { enabled: boolean; host: string; port: number; calledAeTitle: string };
  activeAssociations: number;
  studiesInProgress: number;
  outboxWaiting: number;
  /** Files in Outbox_Auto that stay unchanged but do not read as a ZIP (they go to Outbox_Failed in time). */
  outboxUnreadable: number;
  failed: { inbox: number; outbox: number };
  disk: { path: string; freeBytes: number | null; totalBytes: number | null; low: boolean };
  storageFolder: string;
}

/** The live counters a running bridge exposes. */
export interface StatusSource {
  readonly config: Config;
  readonly layout: StorageLayout;
  readonly receivePort: number | null;
  /** The DICOM TLS port bound, or null; absent on sources without a TLS listener. */
  readonly receiveTlsPort?: number | null;
  readonly activeAssociations: number;
  readonly studiesInProgress: number;
  readonly outboxWaiting: number;
  /** Unreadable files in Outbox_Auto; 0 when absent. */
  readonly outboxUnreadable?: number;
  /** The receiver's disk space guard: while it refuses storing, the disk shows as low. */
  readonly diskGuard?: { check(): Promise<DiskCheck> };
}

/** The `minFreeDiskMegabytes` threshold in bytes (0 = off). */
export function minFreeDiskBytes(config: Config): number {
  return config.minFreeDiskMegabytes * BYTES_PER_MEGABYTE;
}

/** Entries in a folder that the bridge did not name as temporary ('.'-prefixed); 0 if missing. */
async function countItems(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => !n.startsWith('.')).length;
}

/** Free and total bytes of the file system holding `dir`, or nulls when it cannot be read. */
export async function diskSpace(dir: string): Promise<{ freeBytes: number | null; totalBytes: number | null }> {
  try {
    const s = await statfs(dir);
    // bavail: what an unprivileged writer may still use (root's reserve excluded).
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return { freeBytes: null, totalBytes: null };
  }
}

/** The TLS listener's status from the settings and the port bound. */
export function tlsReceivingStatus(config: Config, boundPort: number | null): TlsReceivingStatus {
  const t = config.receive.tls;
  const host = config.receive.host;
  const listening = boundPort !== null;
  const port = boundPort ?? (t.enabled ? t.port : null);
  const text = !t.enabled ? 'TLS: off' : listening ? `TLS: on, listening on ${host}:${port}` : `TLS: on, not listening on ${host}:${port}`;
  return { enabled: t.enabled, listening, host, port, requireClientCert: t.requireClientCert, text };
}

/**
 * Reads the status. The disk is low while the bridge's disk space guard refuses storing, or
 * when fewer than `lowDiskBytes` are free (by default the config's `minFreeDiskMegabytes`).
 * Asking the guard also lets it notice, and log, that space returned when no C-STORE comes.
 */
export async function readStatus(bridge: StatusSource, version: string, lowDiskBytes = minFreeDiskBytes(bridge.config)): Promise<BridgeStatus> {
  const { config, layout } = bridge;
  const [inbox, outbox, disk, guard] = await Promise.all([
    countItems(layout.inboxFailed),
    countItems(layout.outboxFailed),
    diskSpace(layout.root),
    bridge.diskGuard?.check(),
  ]);
  return {
    version,
    receiving: {
      enabled: config.receive.enabled,
      listening: bridge.receivePort !== null,
      host: config.receive.host,
      port: bridge.receivePort ?? (config.receive.enabled ? config.receive.port : null),
      aeTitle: config.receive.aeTitle,
      tls: tlsReceivingStatus(config, bridge.receiveTlsPort ?? null),
    },
    sending: { enabled: config.send.enabled, host: config.send.host, port: config.send.port, calledAeTitle: config.send.calledAeTitle },
    activeAssociations: bridge.activeAssociations,
    studiesInProgress: bridge.studiesInProgress,
    outboxWaiting: bridge.outboxWaiting,
    outboxUnreadable: bridge.outboxUnreadable ?? 0,
    failed: { inbox, outbox },
    disk: { path: layout.root, ...disk, low: guard?.low === true || (disk.freeBytes !== null && disk.freeBytes < lowDiskBytes) },
    storageFolder: layout.root,
  };
}
