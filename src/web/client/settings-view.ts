/**
 * The "Settings" tab (SPEC §5 and §7, seed manual §4): the form rendered from FIELDS in the
 * sections General / DICOM Receiving / DICOM Sending, field-level validation by the server,
 * Save, Reset to the last saved settings, Browse, and Send DICOM Echo.
 *
 * The server is the only judge of a value (POST /api/settings/validate); the form only turns
 * text into numbers where the text is a number, so the server's rule text reaches the user.
 */
import {
  getJson,
  sendJson,
  type EchoResponse,
  type ErrorBody,
  type FieldError,
  type SaveResponse,
  type SettingsResponse,
  type SettingsTree,
} from './api.js';
import type { BrowseFolder } from './folder-dialog.js';
import { countSettings, formatMs } from './format.js';
import { ECHO_KEYS, FIELDS, SECTIONS, type FieldDef } from './settings-fields.js';

const VALIDATE_DELAY_MS = 300;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

type Control = HTMLInputElement | HTMLSelectElement;

interface Elements {
  form: HTMLFormElement;
  save: HTMLButtonElement;
  reset: HTMLButtonElement;
  message: HTMLElement;
  configPath: HTMLElement | null;
}

/** Controls the Settings tab; created once at boot. */
export interface SettingsView {
  load(): Promise<void>;
  /** A `settings` event: saved elsewhere (another tab or window). */
  savedElsewhere(settings: SettingsTree): void;
}

function isTree(value: unknown): value is SettingsTree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function getPath(tree: SettingsTree, key: string): unknown {
  let node: unknown = tree;
  for (const part of key.split('.')) {
    if (!isTree(node)) return undefined;
    node = node[part];
  }
  return node;
}

function setPath(tree: SettingsTree, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isTree(next)) node[part] = {};
    node = node[part] as SettingsTree;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** A Number when the text is a valid number, else the raw text (gui-api.md: validate). */
function numberOrText(text: string): number | string {
  const t = text.trim();
  return NUMBER_TEXT.test(t) ? Number(t) : text;
}

/** A stable text for "same value?" comparisons; an absent value equals an empty one. */
function comparable(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className !== undefined) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  return el;
}

/** A DOM id derived from a dotted key ("receive.port" → "field-receive-port"). */
function fieldId(key: string): string {
  return `field-${key.replace(/[^A-Za-z0-9]/g, '-')}`;
}

/** Binds the tab to its form and buttons; `browse` opens the folder dialog. */
export function createSettingsView(el: Elements, browse: BrowseFolder): SettingsView {
  const controls = new Map<string, Control>();
  const errorSlots = new Map<string, HTMLElement>();
  const ruleSlots = new Map<string, HTMLElement>();
  let lastSaved: SettingsTree | null = null;
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  let validateSeq = 0;
  let saving = false;
  // True while #settings-message shows validation errors that name no field, so a clean answer clears it.
  let messageFromValidation = false;
  const echoButton = element('button', { text: 'Send DICOM Echo', className: 'secondary' });
  echoButton.type = 'button';
  echoButton.id = 'settings-echo';
  const echoResult = element('span', { className: 'echo-result' });
  echoResult.id = 'echo-result';
  echoResult.setAttribute('role', 'status');
  echoResult.setAttribute('aria-live', 'polite');

  // ---- rendering -------------------------------------------------------------------------

  function renderField(def: FieldDef): HTMLElement {
    const row = element('div', { className: `field field-${def.kind}` });
    row.dataset.field = def.key;
    const id = fieldId(def.key);
    const label = element('label', { text: def.label });
    label.htmlFor = id;

    let control: Control;
    if (def.kind === 'select') {
      const select = element('select');
      for (const option of def.options ?? []) {
        const o = element('option', { text: option });
        o.value = option;
        select.append(o);
      }
      control = select;
    } else {
      const input = element('input');
      input.type = def.kind === 'checkbox' ? 'checkbox' : 'text';
      if (def.kind === 'number') input.inputMode = 'numeric';
      if (def.kind !== 'checkbox') input.classList.add(`size-${def.size}`);
      if (def.kind === 'text' || def.kind === 'folder' || def.kind === 'number') {
        input.autocomplete = 'off';
        input.spellcheck = false;
      }
      control = input;
    }
    control.id = id;
    control.name = def.key;

    const error = element('span', { className: 'field-error' });
    error.dataset.errorFor = def.key;
    error.setAttribute('role', 'alert');
    error.id = `${id}-error`;
    const rule = element('small', { className: 'field-rule' });
    rule.dataset.ruleFor = def.key;
    rule.id = `${id}-rule`;
    control.setAttribute('aria-describedby', `${rule.id} ${error.id}`);

    const line = element('div', { className: 'field-line' });
    line.append(control);
    if (def.kind === 'folder') {
      const button = element('button', { text: 'Browse', className: 'secondary' });
      button.type = 'button';
      button.id = 'browse-storage';
      button.addEventListener('click', () => void browseFor(def.key, button));
      line.append(button);
    }
    line.append(error);

    const body = element('div', { className: 'field-body' });
    body.append(line, rule);
    if (def.kind === 'checkbox') {
      // Checkbox first, its label beside it, like the seed's "Activate ..." lines.
      row.append(element('span', { className: 'field-label-spacer' }), body);
      line.insertBefore(label, error);
    } else {
      row.append(label, body);
    }

    controls.set(def.key, control);
    errorSlots.set(def.key, error);
    ruleSlots.set(def.key, rule);
    return row;
  }

  function renderEcho(): HTMLElement {
    const row = element('div', { className: 'field field-echo' });
    const body = element('div', { className: 'field-body' });
    const line = element('div', { className: 'field-line' });
    line.append(echoButton, echoResult);
    body.append(line);
    row.append(element('span', { className: 'field-label-spacer' }), body);
    return row;
  }

  function renderForm(): void {
    const container = el.form.querySelector<HTMLElement>('[data-sections]') ?? el.form;
    for (const section of SECTIONS) {
      const fieldset = element('fieldset', { className: 'section' });
      fieldset.dataset.section = section.id;
      fieldset.append(element('legend', { text: section.title }));
      for (const def of FIELDS.filter((d) => d.section === section.id && !d.advanced)) {
        fieldset.append(renderField(def));
      }
      if (section.id === 'send') fieldset.append(renderEcho());
      const advanced = FIELDS.filter((d) => d.section === section.id && d.advanced);
      if (advanced.length > 0) {
        const details = element('details', { className: 'advanced' });
        details.append(element('summary', { text: 'Advanced' }));
        for (const def of advanced) details.append(renderField(def));
        fieldset.append(details);
      }
      container.append(fieldset);
    }
  }

  // ---- form values -----------------------------------------------------------------------

  function controlValue(def: FieldDef, control: Control): unknown {
    if (def.kind === 'checkbox') return (control as HTMLInputElement).checked;
    if (def.kind === 'number') return numberOrText(control.value);
    return control.value;
  }

  /** The whole settings object: the last saved one (keeps keys the form does not render) overlaid with the form. */
  function collect(): SettingsTree {
    const tree = structuredClone(lastSaved ?? {}) as SettingsTree;
    for (const def of FIELDS) {
      const control = controls.get(def.key);
      if (control !== undefined) setPath(tree, def.key, controlValue(def, control));
    }
    return tree;
  }

  function fill(settings: SettingsTree): void {
    for (const def of FIELDS) {
      const control = controls.get(def.key);
      if (control === undefined) continue;
      const value = getPath(settings, def.key);
      if (def.kind === 'checkbox') (control as HTMLInputElement).checked = value === true;
      else control.value = value === undefined || value === null ? '' : String(value);
    }
  }

  function isDirty(): boolean {
    if (lastSaved === null) return false;
    const saved = lastSaved;
    return FIELDS.some((def) => {
      const control = controls.get(def.key);
      if (control === undefined) return false;
      const now = controlValue(def, control);
      const before = getPath(saved, def.key);
      if (def.kind === 'checkbox') return now !== (before === true);
      return comparable(now) !== comparable(before);
    });
  }

  function updateDirty(): void {
    const dirty = isDirty();
    el.save.disabled = saving || lastSaved === null || !dirty;
    el.form.classList.toggle('dirty', dirty);
    for (const def of FIELDS) {
      const control = controls.get(def.key);
      if (control === undefined || lastSaved === null) continue;
      const before = getPath(lastSaved, def.key);
      const now = controlValue(def, control);
      const changed = def.kind === 'checkbox' ? now !== (before === true) : comparable(now) !== comparable(before);
      control.closest('.field')?.classList.toggle('changed', changed);
    }
  }

  // ---- errors and messages ---------------------------------------------------------------

  function clearErrors(): void {
    for (const [key, slot] of errorSlots) {
      slot.textContent = '';
      const control = controls.get(key);
      control?.classList.remove('invalid');
      control?.removeAttribute('aria-invalid');
    }
  }

  /** Shows each error by its field; returns the errors that name no rendered field. */
  function showErrors(errors: readonly FieldError[], keyPrefix = ''): FieldError[] {
    clearErrors();
    const unplaced: FieldError[] = [];
    for (const error of errors) {
      const key = controls.has(error.key) ? error.key : `${keyPrefix}${error.key}`;
      const slot = errorSlots.get(key);
      const control = controls.get(key);
      if (slot === undefined || control === undefined) {
        unplaced.push(error);
        continue;
      }
      slot.textContent = slot.textContent === '' ? error.rule || error.text : `${slot.textContent}; ${error.rule}`;
      control.classList.add('invalid');
      control.setAttribute('aria-invalid', 'true');
      // An error inside a closed Advanced block must be seen.
      const details = control.closest('details');
      if (details !== null) details.open = true;
    }
    return unplaced;
  }

  function setMessage(text: string, tone: 'ok' | 'failed' | 'info' | '' = ''): void {
    messageFromValidation = false;
    el.message.textContent = text;
    el.message.classList.toggle('ok', tone === 'ok');
    el.message.classList.toggle('failed', tone === 'failed');
    el.message.classList.toggle('info', tone === 'info');
  }

  function errorsOf(body: ErrorBody): FieldError[] {
    return Array.isArray(body.errors) ? body.errors : [];
  }

  // ---- validation ------------------------------------------------------------------------

  function cancelValidation(): void {
    clearTimeout(validateTimer);
    validateTimer = undefined;
    validateSeq += 1; // answers to requests already sent are ignored
  }

  async function validate(): Promise<void> {
    const seq = ++validateSeq;
    try {
      const result = await sendJson<{ errors?: FieldError[] } & ErrorBody>('POST', '/api/settings/validate', {
        settings: collect(),
      });
      if (seq !== validateSeq || !result.ok) return;
      const unplaced = showErrors(errorsOf(result.body));
      if (unplaced.length > 0) {
        setMessage(unplaced.map((e) => e.text).join(' '), 'failed');
        messageFromValidation = true;
      } else if (messageFromValidation) {
        setMessage('');
      }
    } catch {
      // Unreachable bridge: the status strip already says so; Save will report it.
    }
  }

  function scheduleValidation(): void {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(() => {
      validateTimer = undefined;
      void validate();
    }, VALIDATE_DELAY_MS);
  }

  // ---- actions ---------------------------------------------------------------------------

  function applySaved(settings: SettingsTree): void {
    lastSaved = structuredClone(settings);
    fill(settings);
    updateDirty();
  }

  async function load(): Promise<void> {
    try {
      const result = await getJson<SettingsResponse & ErrorBody>('/api/settings');
      if (!result.ok || !isTree(result.body.settings)) {
        setMessage(`Could not load the settings: ${result.body.error ?? `HTTP ${result.status}`}`, 'failed');
        return;
      }
      const rules = isTree(result.body.rules) ? result.body.rules : {};
      for (const [key, slot] of ruleSlots) {
        const rule = rules[key];
        slot.textContent = typeof rule === 'string' ? rule : '';
      }
      if (el.configPath !== null) {
        el.configPath.textContent = result.body.configPath ? `Configuration file: ${result.body.configPath}` : '';
      }
      if (isDirty()) {
        // Typed while the request was out: keep the typing, only "last saved" moves.
        lastSaved = structuredClone(result.body.settings);
        updateDirty();
      } else {
        cancelValidation();
        clearErrors();
        applySaved(result.body.settings);
      }
    } catch {
      setMessage('Could not load the settings: connection to the bridge lost', 'failed');
    }
  }

  async function save(): Promise<void> {
    if (saving) return;
    cancelValidation();
    saving = true;
    updateDirty();
    setMessage('Saving…', 'info');
    try {
      const result = await sendJson<SaveResponse & ErrorBody>('PUT', '/api/settings', { settings: collect() });
      if (result.ok && isTree(result.body.settings)) {
        clearErrors();
        applySaved(result.body.settings);
        const applied = Array.isArray(result.body.applied) ? result.body.applied : [];
        setMessage(['Saved.', ...applied].join(' '), 'ok');
        followGuiMove(result.body.guiUrl);
        return;
      }
      const errors = errorsOf(result.body);
      if (errors.length > 0) {
        const unplaced = showErrors(errors);
        const extra = unplaced.map((e) => e.text).join(' ');
        const keys = new Set(errors.map((e) => e.key));
        setMessage(`Not saved: ${countSettings(keys.size)} attention.${extra ? ` ${extra}` : ''}`, 'failed');
      } else {
        setMessage(`Not saved: ${result.body.error ?? `HTTP ${result.status}`}`, 'failed');
      }
    } catch {
      setMessage('Not saved: connection to the bridge lost', 'failed');
    } finally {
      saving = false;
      updateDirty();
    }
  }

  /** After a save that moved the GUI (gui.host/gui.port), go to the new address (gui-api.md: PUT). */
  function followGuiMove(guiUrl: unknown): void {
    if (typeof guiUrl !== 'string' || guiUrl === '') return;
    const here = `${location.origin}/`;
    if (guiUrl === here) return;
    let target: URL;
    try {
      target = new URL(guiUrl);
    } catch {
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return;
    el.message.append(document.createTextNode(` The GUI moves to ${target.href}; opening it in 2 seconds.`));
    setTimeout(() => location.assign(target.href), 2000);
  }

  function reset(): void {
    cancelValidation();
    clearErrors();
    setMessage('');
    if (lastSaved !== null) fill(lastSaved);
    updateDirty();
    void load();
  }

  async function echo(): Promise<void> {
    const send: Record<string, unknown> = {};
    for (const name of ECHO_KEYS) {
      const def = FIELDS.find((d) => d.key === `send.${name}`);
      const control = controls.get(`send.${name}`);
      if (def !== undefined && control !== undefined) send[name] = controlValue(def, control);
    }
    echoButton.disabled = true;
    echoResult.textContent = 'Sending C-ECHO…';
    echoResult.classList.remove('ok', 'failed');
    echoResult.classList.add('pending');
    // Only the echo fields' errors are about this action; others stay as they are.
    for (const name of ECHO_KEYS) {
      const key = `send.${name}`;
      const slot = errorSlots.get(key);
      if (slot !== undefined) slot.textContent = '';
      controls.get(key)?.classList.remove('invalid');
      controls.get(key)?.removeAttribute('aria-invalid');
    }
    let text: string;
    let ok = false;
    try {
      const result = await sendJson<EchoResponse & ErrorBody>('POST', '/api/echo', { send });
      const body = result.body;
      if (result.ok && 'ok' in body && body.ok === true) {
        ok = true;
        text = `Success: C-ECHO to ${body.target} answered in ${formatMs(body.rttMs)} ms`;
      } else if (result.ok && 'ok' in body && body.ok === false) {
        text = `Failed: ${body.reason}`;
      } else if (errorsOf(body).length > 0) {
        const errors = errorsOf(body);
        for (const error of errors) {
          const key = controls.has(error.key) ? error.key : `send.${error.key}`;
          const slot = errorSlots.get(key);
          const control = controls.get(key);
          if (slot === undefined || control === undefined) continue;
          slot.textContent = error.rule || error.text;
          control.classList.add('invalid');
          control.setAttribute('aria-invalid', 'true');
          const details = control.closest('details');
          if (details !== null) details.open = true;
        }
        text = `Failed: ${errors.map((e) => e.text).join('; ')}`;
      } else {
        text = `Failed: ${body.error ?? `HTTP ${result.status}`}`;
      }
    } catch {
      text = 'Failed: connection to the bridge lost';
    }
    echoResult.classList.remove('pending');
    echoResult.classList.toggle('ok', ok);
    echoResult.classList.toggle('failed', !ok);
    echoResult.textContent = text;
    echoButton.disabled = false;
  }

  async function browseFor(key: string, button: HTMLButtonElement): Promise<void> {
    const control = controls.get(key);
    if (control === undefined) return;
    const chosen = await browse(control.value);
    button.focus();
    if (chosen === null || chosen === control.value) return;
    control.value = chosen;
    control.dispatchEvent(new Event('input', { bubbles: true }));
    control.dispatchEvent(new Event('change', { bubbles: true }));
  }

  // ---- wiring ----------------------------------------------------------------------------

  renderForm();
  el.form.addEventListener('submit', (event) => event.preventDefault());
  el.form.addEventListener('input', updateDirty);
  el.form.addEventListener('change', () => {
    updateDirty();
    scheduleValidation();
  });
  el.form.addEventListener('focusout', (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) {
      if (controls.get(target.name) === target) scheduleValidation();
    }
  });
  el.save.addEventListener('click', () => void save());
  el.reset.addEventListener('click', reset);
  echoButton.addEventListener('click', () => void echo());
  el.save.disabled = true;

  return {
    load,
    savedElsewhere(settings: SettingsTree): void {
      if (!isTree(settings)) return;
      const dirty = isDirty();
      lastSaved = structuredClone(settings);
      if (!dirty) fill(settings);
      updateDirty();
    },
  };
}
