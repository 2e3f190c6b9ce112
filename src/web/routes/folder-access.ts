/**
 * Which folders the Settings tab's Browse may show (SPEC §7: the page must be safe). A storage
 * folder must be writable by the service account, so Browse offers only places where one can
 * be: the drives and mount points meant for data, the home folder, the temp folder and the
 * current storage folder, plus the folders on the way to them. System areas (/etc, /proc,
 * C:\Windows, ...) are never listed, even to an account that could write there.
 */
import { constants } from 'node:fs';
import { access, readFile, realpath, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';

/** POSIX system areas: never a place for patient data, and nothing Browse should reveal. */
const POSIX_SYSTEM = [
  '/proc', '/sys', '/dev', '/run', '/boot', '/efi', '/etc', '/usr', '/bin', '/sbin', '/snap', '/lost+found',
  '/var/lib', '/var/cache', '/var/log', '/var/run', '/var/lock', '/var/spool', '/var/mail', '/var/backups',
];

/** Folders below a Windows drive letter that hold the system or programs. */
const WINDOWS_SYSTEM = ['windows', 'program files', 'program files (x86)', '$recycle.bin', 'system volume information', 'recovery', 'perflogs'];

/** Where data mounts live on Linux; offered even when only their sub-folders are writable. */
const POSIX_DATA_PLACES = ['/mnt', '/media', '/srv', '/data'];

/** File system types of /proc/self/mounts that hold data (disks and network shares). */
const DATA_FS_TYPES = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'jfs', 'reiserfs', 'ntfs', 'ntfs3', 'vfat', 'exfat', 'nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'fuseblk', '9p', 'virtiofs']);

/** True for a system area that Browse never shows. */
export function isSystemFolder(dir: string, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === 'win32') {
    const parts = path.win32.resolve(dir).split('\\').filter((p) => p !== '');
    return parts.length >= 2 && WINDOWS_SYSTEM.includes(parts[1]!.toLowerCase());
  }
  const p = path.posix.resolve(dir);
  if (/^\/lib[^/]*(\/|$)/.test(p)) return true;
  return POSIX_SYSTEM.some((s) => p === s || p.startsWith(`${s}/`));
}

/** True when this process may create files in `dir`. */
export async function isWritable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function isFolder(dir: string): Promise<boolean> {
  return (await stat(dir).catch(() => null))?.isDirectory() === true;
}

/** The nearest folder that exists at or above `start`. */
export async function nearestExisting(start: string): Promise<string> {
  let dir = start;
  for (;;) {
    if (await isFolder(dir)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}

/** Decodes the octal escapes (`\040` for a space) of a /proc/self/mounts field. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Writable data mount points of this machine (Linux), from /proc/self/mounts. */
async function dataMounts(): Promise<string[]> {
  const text = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const mounts: string[] = [];
  for (const line of text.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (mountPoint === undefined || type === undefined || !DATA_FS_TYPES.has(type)) continue;
    const dir = unescapeMount(mountPoint);
    if (dir !== '/' && !isSystemFolder(dir, 'linux') && (await isWritable(dir))) mounts.push(dir);
  }
  return mounts;
}

/** Drive letters that exist (Windows). */
async function driveLetters(): Promise<string[]> {
  const drives: string[] = [];
  for (let c = 65; c <= 90; c++) {
    const drive = `${String.fromCharCode(c)}:\\`;
    if (await isFolder(drive)) drives.push(drive);
  }
  return drives;
}

/** The folders Browse starts from, and what may be listed below or on the way to them. */
export class FolderAccess {
  private constructor(
    /** Folders whose whole (non-system) tree may be listed. */
    readonly roots: readonly string[],
    private readonly platform: NodeJS.Platform,
  ) {}

  /**
   * The roots for this machine: drive letters on Windows; elsewhere the storage folder (or
   * its nearest existing parent), the home and temp folders, /mnt, /media, /srv, /data and
   * the writable data mount points. Symbolic links are resolved, so a link cannot lead out.
   */
  static async forMachine(storageFolder: string, platform: NodeJS.Platform = process.platform): Promise<FolderAccess> {
    if (platform === 'win32') return new FolderAccess(await driveLetters(), platform);
    const candidates = [await nearestExisting(storageFolder), homedir(), tmpdir(), ...POSIX_DATA_PLACES, ...(await dataMounts())];
    const roots: string[] = [];
    for (const candidate of candidates) {
      const real = await realpath(candidate).catch(() => null);
      if (real === null || real === '/' || isSystemFolder(real, platform) || !(await isFolder(real))) continue;
      if (!roots.includes(real)) roots.push(real);
    }
    return new FolderAccess(roots.sort(), platform);
  }

  private inside(dir: string, root: string): boolean {
    const rel = this.pathApi.relative(root, dir);
    return rel === '' || (!rel.startsWith('..') && !this.pathApi.isAbsolute(rel));
  }

  private get pathApi(): typeof path.posix {
    return this.platform === 'win32' ? path.win32 : path.posix;
  }

  /** True when `dir` is at or below a root. */
  underRoot(dir: string): boolean {
    return this.roots.some((root) => this.inside(dir, root));
  }

  /** True when `dir` is on the way to a root (an ancestor of one). */
  leadsToRoot(dir: string): boolean {
    return this.roots.some((root) => root !== dir && this.inside(root, dir));
  }

  /** True when Browse may list `dir` (a real path, links resolved). */
  mayList(dir: string): boolean {
    return !isSystemFolder(dir, this.platform) && (this.underRoot(dir) || this.leadsToRoot(dir));
  }

  /** True when Browse shows the sub-folder `dir` (a real path): it is writable or leads to a root. */
  async mayShow(dir: string): Promise<boolean> {
    if (isSystemFolder(dir, this.platform)) return false;
    if (this.leadsToRoot(dir) || this.roots.includes(dir)) return true;
    return this.underRoot(dir) && (await isWritable(dir));
  }
}
