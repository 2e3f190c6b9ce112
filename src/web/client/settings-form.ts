/**
 * The Settings form's state: the last saved settings, the values typed since, which fields
 * changed (Save is enabled only then), the errors shown beside fields and the message line.
 * The server is the only judge of a value; the form only turns number text into numbers, so
 * the server's rule text reaches the user.
 */
import type { ErrorBody, FieldError, SettingsTree } from './api.js';
import type { SettingsEditor } from './settings-peers.js';
import type { Control, RenderedForm } from './settings-render.js';
import { FIELDS, type FieldDef } from './settings-fields.js';
import { comparable, getPath, numberOrText, setPath } from './settings-tree.js';

/** The tab's fixed page elements. */
export interface SettingsElements {
  form: HTMLFormElement;
  save: HTMLButtonElement;
  reset: HTMLButtonElement;
  message: HTMLElement;
  configPath: HTMLElement | null;
}

/** Tone of the message line. */
export type MessageTone = 'ok' | 'failed' | 'info' | '';

/** The field errors of an API answer ([] when it has none). */
export function errorsOf(body: ErrorBody): FieldError[] {
  return Array.isArray(body.errors) ? body.errors : [];
}

/** The value a control holds, as the API expects it. */
export function controlValue(def: FieldDef, control: Control): unknown {
  if (def.kind === 'checkbox') return (control as HTMLInputElement).checked;
  if (def.kind === 'number') return numberOrText(control.value);
  return control.value;
}

/** State and display of the Settings form. */
export class SettingsForm {
  /** The settings as last saved (or loaded); null before the first load. */
  lastSaved: SettingsTree | null = null;
  /** A save is in flight. */
  saving = false;
  /** The message line shows validation errors that name no field, so a clean answer clears it. */
  messageFromValidation = false;

  constructor(
    readonly el: SettingsElements,
    readonly ui: RenderedForm,
    /** Parts of the tree edited by their own widgets (the known peers table). */
    readonly editors: readonly SettingsEditor[] = [],
  ) {}

  /** The whole settings object: the last saved one (keeps keys the form does not render) overlaid with the form. */
  collect(): SettingsTree {
    const tree = structuredClone(this.lastSaved ?? {}) as SettingsTree;
    for (const def of FIELDS) {
      const control = this.ui.controls.get(def.key);
      if (control !== undefined) setPath(tree, def.key, controlValue(def, control));
    }
    for (const editor of this.editors) setPath(tree, editor.key, editor.value());
    return tree;
  }

  /** Puts the settings into the controls. */
  fill(settings: SettingsTree): void {
    for (const def of FIELDS) {
      const control = this.ui.controls.get(def.key);
      if (control === undefined) continue;
      const value = getPath(settings, def.key);
      if (def.kind === 'checkbox') (control as HTMLInputElement).checked = value === true;
      else control.value = value === undefined || value === null ? '' : String(value);
    }
    for (const editor of this.editors) editor.fill(getPath(settings, editor.key));
  }

  /** Takes `settings` as the last saved ones and shows them. */
  applySaved(settings: SettingsTree): void {
    this.lastSaved = structuredClone(settings);
    this.fill(settings);
    this.updateDirty();
  }

  private changed(def: FieldDef, saved: SettingsTree): boolean {
    const control = this.ui.controls.get(def.key);
    if (control === undefined) return false;
    const now = controlValue(def, control);
    const before = getPath(saved, def.key);
    return def.kind === 'checkbox' ? now !== (before === true) : comparable(now) !== comparable(before);
  }

  /** True when a field differs from the last saved settings. */
  isDirty(): boolean {
    const saved = this.lastSaved;
    return saved !== null && (FIELDS.some((def) => this.changed(def, saved)) || this.editors.some((e) => e.changed(getPath(saved, e.key))));
  }

  /** Enables Save only for changes, and marks the changed fields. */
  updateDirty(): void {
    const dirty = this.isDirty();
    this.el.save.disabled = this.saving || this.lastSaved === null || !dirty;
    this.el.form.classList.toggle('dirty', dirty);
    const saved = this.lastSaved;
    if (saved === null) return;
    for (const def of FIELDS) {
      this.ui.controls.get(def.key)?.closest('.field')?.classList.toggle('changed', this.changed(def, saved));
    }
    for (const editor of this.editors) {
      this.el.form.querySelector(`[data-field="${editor.key}"]`)?.classList.toggle('changed', editor.changed(getPath(saved, editor.key)));
    }
  }

  /** Clears the error beside one field. */
  clearError(key: string): void {
    const slot = this.ui.errorSlots.get(key);
    if (slot !== undefined) slot.textContent = '';
    const control = this.ui.controls.get(key);
    control?.classList.remove('invalid');
    control?.removeAttribute('aria-invalid');
  }

  /** Clears every field error. */
  clearErrors(): void {
    for (const key of this.ui.errorSlots.keys()) this.clearError(key);
    for (const editor of this.editors) editor.clearErrors();
  }

  /** Shows `text` beside a field (appended to an error already there); false when no such field. */
  markError(key: string, text: string, append = false): boolean {
    const slot = this.ui.errorSlots.get(key);
    const control = this.ui.controls.get(key);
    if (slot === undefined || control === undefined) return false;
    slot.textContent = append && slot.textContent !== '' ? `${slot.textContent}; ${text}` : text;
    control.classList.add('invalid');
    control.setAttribute('aria-invalid', 'true');
    // An error inside a closed Advanced block must be seen.
    const details = control.closest('details');
    if (details !== null) details.open = true;
    return true;
  }

  /** Shows each error by its field (keys without `keyPrefix` tried with it); returns the errors that name no rendered field. */
  showErrors(errors: readonly FieldError[], keyPrefix = ''): FieldError[] {
    this.clearErrors();
    const unplaced: FieldError[] = [];
    for (const error of errors) {
      const key = this.ui.controls.has(error.key) ? error.key : `${keyPrefix}${error.key}`;
      const text = error.rule || error.text;
      if (this.editors.some((editor) => editor.markError(error.key, text) || editor.markError(`${keyPrefix}${error.key}`, text))) continue;
      const first = this.ui.errorSlots.get(key)?.textContent === '';
      if (!this.markError(key, first ? error.rule || error.text : error.rule, true)) unplaced.push(error);
    }
    return unplaced;
  }

  /** Sets the message line under the buttons. */
  setMessage(text: string, tone: MessageTone = ''): void {
    this.messageFromValidation = false;
    this.el.message.textContent = text;
    this.el.message.classList.toggle('ok', tone === 'ok');
    this.el.message.classList.toggle('failed', tone === 'failed');
    this.el.message.classList.toggle('info', tone === 'info');
  }
}
