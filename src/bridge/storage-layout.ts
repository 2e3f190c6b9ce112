/**
 * The folders under `storageFolder` (SPEC §3). The five product folders are the interface to
 * the CRYPE app; `Work/` and `Logs/` are the bridge's own. Work files never live in a watched
 * folder, so the CRYPE app sees a ZIP only once it is complete (atomic rename).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Absolute paths of every folder the bridge uses. */
export interface StorageLayout {
  root: string;
  inboxAuto: string;
  inboxManual: string;
  inboxFailed: string;
  outboxAuto: string;
  outboxFailed: string;
  /** Instances being received: `<random>.part`, deleted on start. */
  incoming: string;
  /** One folder per study being staged (see study/staging.ts). */
  staging: string;
  /** ZIPs being written, renamed into an inbox when complete. */
  zipTemp: string;
  /** ZIPs taken from Outbox_Auto and being sent (re-sent after a crash). */
  outboxClaimed: string;
  /** Technical logs and the log book database. */
  logs: string;
}

/** Derives the layout from the storage folder (no I/O). */
export function storageLayout(root: string): StorageLayout {
  return {
    root,
    inboxAuto: join(root, 'Inbox_Auto'),
    inboxManual: join(root, 'Inbox_Manual'),
    inboxFailed: join(root, 'Inbox_Failed'),
    outboxAuto: join(root, 'Outbox_Auto'),
    outboxFailed: join(root, 'Outbox_Failed'),
    incoming: join(root, 'Work', 'incoming'),
    staging: join(root, 'Work', 'staging'),
    zipTemp: join(root, 'Work', 'zip'),
    outboxClaimed: join(root, 'Work', 'outbox'),
    logs: join(root, 'Logs'),
  };
}

/**
 * Creates every folder that is missing. A path taken by a file is left alone here: the
 * operation that needs the folder fails with a clear error and the study goes to Inbox_Failed.
 */
export async function ensureStorageLayout(layout: StorageLayout): Promise<void> {
  for (const dir of Object.values(layout)) {
    await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST' && err.code !== 'ENOTDIR') throw err;
    });
  }
}
