/**
 * The Browse dialog for the Storage Folder: a read-only, server-side folder listing
 * (GET /api/folders). Choosing a folder only fills the form field; nothing is saved here.
 * Folder names come from the file system and are shown with textContent only.
 */
import { getJson, type FoldersResponse } from './api.js';

interface Elements {
  dialog: HTMLDialogElement;
  path: HTMLElement;
  list: HTMLUListElement;
  roots: HTMLUListElement;
  error: HTMLElement;
  up: HTMLButtonElement;
  choose: HTMLButtonElement;
  cancel: HTMLButtonElement;
}

/** Opens the dialog at a start path; resolves with the chosen folder, or null on Cancel/Escape. */
export type BrowseFolder = (startPath: string) => Promise<string | null>;

/** A child path in the server's own style: backslashes for a Windows path, slashes otherwise. */
function childPath(parent: string, name: string): string {
  const sep = /^[A-Za-z]:/.test(parent) || parent.startsWith('\\\\') ? '\\' : '/';
  return parent.endsWith(sep) ? parent + name : parent + sep + name;
}

function folderButton(label: string, onClick: () => void): HTMLLIElement {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'folder-entry';
  button.textContent = label;
  button.addEventListener('click', onClick);
  li.append(button);
  return li;
}

/** Binds the dialog (#folder-dialog and its parts) and returns the function that opens it. */
export function createFolderDialog(el: Elements): BrowseFolder {
  let current: FoldersResponse | null = null;
  let resolveChoice: ((value: string | null) => void) | null = null;
  let loadSeq = 0;

  function finish(value: string | null): void {
    const resolve = resolveChoice;
    resolveChoice = null;
    if (el.dialog.open) el.dialog.close();
    resolve?.(value);
  }

  function showError(text: string): void {
    el.error.textContent = text;
    el.error.hidden = text === '';
  }

  function render(listing: FoldersResponse): void {
    current = listing;
    el.path.textContent = listing.path;
    el.up.disabled = listing.parent === null;
    el.choose.disabled = false;
    el.list.replaceChildren(
      ...listing.folders.map((name) => folderButton(name, () => void load(childPath(listing.path, name)))),
    );
    if (listing.folders.length === 0) {
      const li = document.createElement('li');
      li.className = 'folder-none';
      li.textContent = 'No subfolders';
      el.list.append(li);
    }
    const roots = Array.isArray(listing.roots) ? listing.roots : [];
    el.roots.replaceChildren(...roots.map((root) => folderButton(root, () => void load(root))));
    el.roots.hidden = roots.length === 0;
  }

  /** Lists `path` (the server's default folder when undefined); false when the server refused it. */
  async function load(path: string | undefined): Promise<boolean> {
    const seq = ++loadSeq;
    const url = path === undefined ? '/api/folders' : `/api/folders?path=${encodeURIComponent(path)}`;
    try {
      const result = await getJson<FoldersResponse & { error?: string }>(url);
      if (seq !== loadSeq) return true;
      if (!result.ok || !Array.isArray(result.body.folders)) {
        showError(result.body.error ?? `Cannot list ${path ?? 'the folder'} (HTTP ${result.status})`);
        return false;
      }
      showError('');
      render(result.body);
      return true;
    } catch {
      if (seq === loadSeq) showError('Cannot list folders: connection to the bridge lost');
      return false;
    }
  }

  el.up.addEventListener('click', () => {
    if (current?.parent != null) void load(current.parent);
  });
  el.choose.addEventListener('click', () => finish(current?.path ?? null));
  el.cancel.addEventListener('click', () => finish(null));
  // Escape closes a modal dialog natively; treat it as Cancel.
  el.dialog.addEventListener('close', () => finish(null));

  return async (startPath: string): Promise<string | null> => {
    if (resolveChoice !== null) finish(null);
    current = null;
    el.path.textContent = '…';
    el.list.replaceChildren();
    el.roots.replaceChildren();
    el.choose.disabled = true;
    el.up.disabled = true;
    showError('');
    const choice = new Promise<string | null>((resolve) => {
      resolveChoice = resolve;
    });
    el.dialog.showModal();
    const start = startPath.trim();
    // A typed path that does not exist (yet) falls back to the server's nearest existing folder.
    if (start === '' || !(await load(start))) {
      const fellBack = await load(undefined);
      if (fellBack && start !== '') showError(`${start} cannot be opened; showing ${el.path.textContent ?? ''} instead`);
    }
    return choice;
  };
}
