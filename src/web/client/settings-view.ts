/**
 * The "Settings" tab (SPEC §5 and §7, seed manual §4): wires the rendered form
 * (settings-render), its state (settings-form), validation while typing (settings-validate),
 * Save / Reset (settings-save), Send DICOM Echo (settings-echo) and Browse (settings-browse).
 */
import type { SettingsTree } from './api.js';
import type { BrowseFolder } from './folder-dialog.js';
import { browseInto } from './settings-browse.js';
import { sendEcho } from './settings-echo.js';
import { SettingsForm, type SettingsElements } from './settings-form.js';
import { PeersTable } from './settings-peers.js';
import { renderForm } from './settings-render.js';
import { loadSettings, resetSettings, saveSettings } from './settings-save.js';
import { isTree } from './settings-tree.js';
import { SettingsValidation } from './settings-validate.js';

/** Controls the Settings tab; created once at boot. */
export interface SettingsView {
  load(): Promise<void>;
  /** A `settings` event: saved elsewhere (another tab or window). */
  savedElsewhere(settings: SettingsTree): void;
}

/** Binds the tab to its form and buttons; `browse` opens the folder dialog. */
export function createSettingsView(el: SettingsElements, browse: BrowseFolder): SettingsView {
  const container = el.form.querySelector<HTMLElement>('[data-sections]') ?? el.form;
  const ui = renderForm(container, (key, button) => {
    const control = ui.controls.get(key);
    if (control !== undefined) void browseInto(control, button, browse);
  });
  // Known peers: a table at the end of DICOM Receiving's Advanced block, checked as typed.
  const peers = new PeersTable(() => validation.schedule());
  (container.querySelector('[data-section="receive"] details.advanced') ?? container).append(peers.root);
  const form = new SettingsForm(el, ui, [peers]);
  const validation = new SettingsValidation(form);

  el.form.addEventListener('submit', (event) => event.preventDefault());
  el.form.addEventListener('input', () => form.updateDirty());
  el.form.addEventListener('change', () => {
    form.updateDirty();
    validation.schedule();
  });
  el.form.addEventListener('focusout', (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) {
      if (ui.controls.get(target.name) === target) validation.schedule();
    }
  });
  el.save.addEventListener('click', () => void saveSettings(form, validation));
  el.reset.addEventListener('click', () => resetSettings(form, validation));
  ui.echoButton.addEventListener('click', () => void sendEcho(form));
  el.save.disabled = true;

  return {
    load: () => loadSettings(form, validation),
    savedElsewhere(settings: SettingsTree): void {
      if (!isTree(settings)) return;
      const dirty = form.isDirty();
      form.lastSaved = structuredClone(settings);
      if (!dirty) form.fill(settings);
      form.updateDirty();
    },
  };
}
