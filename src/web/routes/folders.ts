/**
 * GET /api/folders: the read-only folder listing behind the Settings tab's "Browse" button.
 * It lists sub-folder names only, never file contents, and writes nothing; choosing a folder
 * just fills the form field, which Save then validates like any other value. Only folders a
 * storage folder could be in are shown (folder-access.ts); any other path answers 403.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { HttpError, sendJson } from '../http.js';
import type { Route } from './context.js';
import { FolderAccess, isSystemFolder, nearestExisting } from './folder-access.js';

/** Most names returned for one folder (a huge folder must not freeze the page). */
export const MAX_FOLDERS = 2000;

const OUTSIDE = 'this folder is outside the folders a storage folder can be in';

export const getFolders: Route = async ({ res, url, supervisor }) => {
  const asked = url.searchParams.get('path');
  if (asked !== null && (asked.includes('\0') || !path.isAbsolute(asked))) throw new HttpError(400, 'path must be an absolute folder path');
  const access = await FolderAccess.forMachine(supervisor.config.storageFolder);
  const wanted = asked === null || asked === '' ? await nearestExisting(supervisor.config.storageFolder) : path.resolve(asked);
  // Refused before it is even looked at: a system area says nothing, not even "missing".
  if (isSystemFolder(wanted)) throw new HttpError(403, OUTSIDE);
  let dir: string;
  try {
    dir = await realpath(wanted);
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new HttpError(code === 'ENOENT' || code === 'ENOTDIR' ? 404 : 400, `cannot open ${wanted}: ${code}`);
  }
  if (!access.mayList(dir)) throw new HttpError(403, OUTSIDE);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new HttpError(400, `cannot open ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const folders: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
    const child = await realpath(path.join(dir, entry.name)).catch(() => null);
    if (child === null || !(await stat(child).catch(() => null))?.isDirectory()) continue;
    if (await access.mayShow(child)) folders.push(entry.name);
    if (folders.length >= MAX_FOLDERS) break;
  }
  folders.sort((a, b) => a.localeCompare(b));
  const parent = path.dirname(dir);
  const parentListed = parent !== dir && access.mayList(parent);
  sendJson(res, 200, { path: dir, parent: parentListed ? parent : null, folders, roots: access.roots });
};
