/**
 * Browse beside the storage folder field: the folder dialog fills the field, which is then
 * validated and saved like any typed value.
 */
import type { BrowseFolder } from './folder-dialog.js';
import type { Control } from './settings-render.js';

/** Opens the dialog at the field's value and puts the chosen folder into the field. */
export async function browseInto(control: Control, button: HTMLButtonElement, browse: BrowseFolder): Promise<void> {
  const chosen = await browse(control.value);
  button.focus();
  if (chosen === null || chosen === control.value) return;
  control.value = chosen;
  control.dispatchEvent(new Event('input', { bubbles: true }));
  control.dispatchEvent(new Event('change', { bubbles: true }));
}
