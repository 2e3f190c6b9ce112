/**
 * Loading, saving and resetting the settings (SPEC §7: Save, Reset to last saved; saved
 * settings take effect without a restart). Save reports what the bridge applied, or each
 * refused value beside its field; a save that moved the GUI follows it to its new address.
 */
import { getJson, sendJson, type ErrorBody, type SaveResponse, type SettingsResponse } from './api.js';
import { countSettings } from './format.js';
import { errorsOf, type SettingsForm } from './settings-form.js';
import { isTree } from './settings-tree.js';
import type { SettingsValidation } from './settings-validate.js';

/** Loads the saved settings and the rule texts; typing in progress is kept. */
export async function loadSettings(form: SettingsForm, validation: SettingsValidation): Promise<void> {
  try {
    const result = await getJson<SettingsResponse & ErrorBody>('/api/settings');
    if (!result.ok || !isTree(result.body.settings)) {
      form.setMessage(`Could not load the settings: ${result.body.error ?? `HTTP ${result.status}`}`, 'failed');
      return;
    }
    const rules = isTree(result.body.rules) ? result.body.rules : {};
    for (const [key, slot] of form.ui.ruleSlots) {
      const rule = rules[key];
      slot.textContent = typeof rule === 'string' ? rule : '';
    }
    if (form.el.configPath !== null) {
      form.el.configPath.textContent = result.body.configPath ? `Configuration file: ${result.body.configPath}` : '';
    }
    if (form.isDirty()) {
      // Typed while the request was out: keep the typing, only "last saved" moves.
      form.lastSaved = structuredClone(result.body.settings);
      form.updateDirty();
    } else {
      validation.cancel();
      form.clearErrors();
      form.applySaved(result.body.settings);
    }
  } catch {
    form.setMessage('Could not load the settings: connection to the bridge lost', 'failed');
  }
}

/** After a save that moved the GUI (gui.host/gui.port), go to the new address (gui-api.md: PUT). */
function followGuiMove(form: SettingsForm, guiUrl: unknown): void {
  if (typeof guiUrl !== 'string' || guiUrl === '') return;
  if (guiUrl === `${location.origin}/`) return;
  let target: URL;
  try {
    target = new URL(guiUrl);
  } catch {
    return;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return;
  form.el.message.append(document.createTextNode(` The GUI moves to ${target.href}; opening it in 2 seconds.`));
  setTimeout(() => location.assign(target.href), 2000);
}

/** Saves the form (PUT /api/settings) and reports the outcome on the message line. */
export async function saveSettings(form: SettingsForm, validation: SettingsValidation): Promise<void> {
  if (form.saving) return;
  validation.cancel();
  form.saving = true;
  form.updateDirty();
  form.setMessage('Saving…', 'info');
  try {
    const result = await sendJson<SaveResponse & ErrorBody>('PUT', '/api/settings', { settings: form.collect() });
    if (result.ok && isTree(result.body.settings)) {
      form.clearErrors();
      form.applySaved(result.body.settings);
      const applied = Array.isArray(result.body.applied) ? result.body.applied : [];
      form.setMessage(['Saved.', ...applied].join(' '), 'ok');
      followGuiMove(form, result.body.guiUrl);
      return;
    }
    const errors = errorsOf(result.body);
    if (errors.length > 0) {
      const extra = form.showErrors(errors).map((e) => e.text).join(' ');
      const keys = new Set(errors.map((e) => e.key));
      form.setMessage(`Not saved: ${countSettings(keys.size)} attention.${extra ? ` ${extra}` : ''}`, 'failed');
    } else {
      form.setMessage(`Not saved: ${result.body.error ?? `HTTP ${result.status}`}`, 'failed');
    }
  } catch {
    form.setMessage('Not saved: connection to the bridge lost', 'failed');
  } finally {
    form.saving = false;
    form.updateDirty();
  }
}

/** Reset to last saved: the form shows the saved settings again, then reloads them. */
export function resetSettings(form: SettingsForm, validation: SettingsValidation): void {
  validation.cancel();
  form.clearErrors();
  form.setMessage('');
  if (form.lastSaved !== null) form.fill(form.lastSaved);
  form.updateDirty();
  void loadSettings(form, validation);
}
