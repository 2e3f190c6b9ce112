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
  const handle = await openDir(dir);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A directory kept open to fsync it repeatedly (one open per study, not per instance). */
export interface DirHandle {
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a directory for repeated fsyncs; a no-op handle where directories cannot be fsynced. */
export async function openDir(dir: string): Promise<DirHandle> {
  if (!CAN_FSYNC_DIRS) return { sync: async () => undefined, close: async () => undefined };
  const handle = await open(dir, 'r');
  return { sync: () => handle.sync(), close: () => handle.close() };
}

/**
 * Renames and fsyncs the target's directory. The source directory is not fsynced: the new
 * name is what must survive, and a resurrected old name could only be a temporary file that
 * start-up removes anyway (journaling file systems commit both sides of a rename together).
 */
export async function durableRename(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
}
