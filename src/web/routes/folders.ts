/**
 * GET /api/folders: the read-only folder listing behind the Settings tab's "Browse" button.
 * It lists sub-folder names only, never file contents, and writes nothing; choosing a folder
 * just fills the form field, which Save then validates like any other value.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { HttpError, sendJson } from '../http.js';
import type { Route } from './context.js';

/** Most names returned for one folder (a huge folder must not freeze the page). */
export const MAX_FOLDERS = 2000;

/** File-system roots: drive letters on Windows, `/` elsewhere. */
export function fileSystemRoots(platform: NodeJS.Platform = process.platform): string[] {
  if (platform !== 'win32') return ['/'];
  const roots: string[] = [];
  for (let c = 65; c <= 90; c++) {
    const drive = `${String.fromCharCode(c)}:\\`;
    if (existsSync(drive)) roots.push(drive);
  }
  return roots;
}

/** The nearest folder that exists at or above `start`. */
async function nearestExisting(start: string): Promise<string> {
  let dir = start;
  for (;;) {
    const info = await stat(dir).catch(() => null);
    if (info?.isDirectory()) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}

export const getFolders: Route = async ({ res, url, supervisor }) => {
  const asked = url.searchParams.get('path');
  if (asked !== null && (asked.includes('\0') || !path.isAbsolute(asked))) throw new HttpError(400, 'path must be an absolute folder path');
  const dir = asked === null || asked === '' ? await nearestExisting(supervisor.config.storageFolder) : path.resolve(asked);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new HttpError(code === 'ENOENT' || code === 'ENOTDIR' ? 404 : 400, `cannot open ${dir}: ${code}`);
  }
  const folders: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path.join(dir, entry.name)).catch(() => null))?.isDirectory());
    if (isFolder) folders.push(entry.name);
    if (folders.length >= MAX_FOLDERS) break;
  }
  folders.sort((a, b) => a.localeCompare(b));
  const parent = path.dirname(dir);
  sendJson(res, 200, { path: dir, parent: parent === dir ? null : parent, folders, roots: fileSystemRoots() });
};
