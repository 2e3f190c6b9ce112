/**
 * Small durable file-system steps shared by the receive and zip workflows: a rename is only
 * durable once the directory holding the new name is fsynced (POSIX), and Windows cannot
 * open a directory for fsync at all, so that step is skipped there.
 */
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

const CAN_FSYNC_DIRS = process.platform !== 'win32';

/** fsyncs a directory so that names created or removed in it survive a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  if (!CAN_FSYNC_DIRS) return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames and fsyncs the target's directory (and the source's when it differs). */
export async function durableRename(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
  if (dirname(from) !== dirname(to)) await fsyncDir(dirname(from));
}
