/**
 * Puts a ZIP into a watched folder under its name — a finished study into its inbox (SPEC §1),
 * a failed Outbox ZIP into Outbox_Failed (SPEC §2): atomically, and never over a file that is
 * already there — not even one that appeared after the name was chosen. A rename
 * replaces an existing name, so the name is taken with a hard link, which fails with EEXIST;
 * the next copy name is then tried. Where the file system has no hard links (FAT, exFAT, some
 * network shares) the ZIP is copied with COPYFILE_EXCL instead, fsynced, then the temporary
 * file removed; there the ZIP is visible under its name while the copy runs.
 */
import { constants } from 'node:fs';
import { copyFile, link, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './durable-fs.js';
import { copyZipName, MAX_COPIES, ZipNameError } from './naming/zip-name.js';

/** The file operations publishing uses (replaceable in tests to stage races and file systems). */
export interface PublishFs {
  link(existingPath: string, newPath: string): Promise<void>;
  copyFile(src: string, dest: string, mode: number): Promise<void>;
  unlink(path: string): Promise<void>;
}

const NODE_FS: PublishFs = { link, copyFile, unlink };

/** Errors of link() that say "no hard links here", not "this name is taken". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** Options of {@link publishZip}. */
export interface PublishOptions {
  /** fsync the copy (fallback) and the inbox folder. */
  fsync: boolean;
  fs?: PublishFs;
}

/** Where the ZIP went; `cleanupError` when the temporary file or the folder fsync failed after. */
export interface Published {
  path: string;
  cleanupError?: Error;
}

/**
 * Publishes `tempPath` as `folder/name`, or as the first free copy name (`name (2).zip`, …).
 * Rejects, with no new name left in `folder`, when no copy name is free or the file system
 * fails before the ZIP is in place. Once it is, nothing rejects: removing `tempPath` and
 * fsyncing the folder are after-work whose failure is returned in `cleanupError`.
 */
export async function publishZip(tempPath: string, folder: string, name: string, options: PublishOptions): Promise<Published> {
  const fs = options.fs ?? NODE_FS;
  let linkable = true;
  for (let n = 1; n <= MAX_COPIES; n++) {
    const target = join(folder, copyZipName(name, n));
    if (linkable) {
      try {
        await fs.link(tempPath, target);
      } catch (err) {
        if (codeOf(err) === 'EEXIST') continue;
        if (!NO_HARD_LINKS.has(codeOf(err) ?? '')) throw err;
        linkable = false;
      }
    }
    if (!linkable && !(await copyExclusive(fs, tempPath, target, options.fsync))) continue;
    try {
      await fs.unlink(tempPath);
      if (options.fsync) await fsyncDir(folder);
      return { path: target };
    } catch (err) {
      return { path: target, cleanupError: err as Error };
    }
  }
  throw new ZipNameError(`all ${MAX_COPIES} copy numbers of "${name}" are taken in ${folder}`);
}

/** Copies to a name that must not exist yet, and fsyncs it; false when the name exists. */
async function copyExclusive(fs: PublishFs, from: string, to: string, fsync: boolean): Promise<boolean> {
  try {
    await fs.copyFile(from, to, constants.COPYFILE_EXCL);
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return false;
    // COPYFILE_EXCL made `to` ours: whatever was written of it goes.
    await fs.unlink(to).catch(() => undefined);
    throw err;
  }
  if (!fsync) return true;
  try {
    const handle = await open(to, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await fs.unlink(to).catch(() => undefined);
    throw err;
  }
  return true;
}
