/**
 * Builds the Settings form from FIELDS (SPEC §5, seed manual §4): the sections General /
 * DICOM Receiving / DICOM Sending, each field with its label, error and rule slots, the
 * Advanced blocks, Browse beside the folder field and the Send DICOM Echo line.
 */
import { FIELDS, SECTIONS, type FieldDef } from './settings-fields.js';

/** A form control of one field. */
export type Control = HTMLInputElement | HTMLSelectElement;

/** What the rendered form exposes to the rest of the tab, by dotted key. */
export interface RenderedForm {
  controls: Map<string, Control>;
  errorSlots: Map<string, HTMLElement>;
  ruleSlots: Map<string, HTMLElement>;
  echoButton: HTMLButtonElement;
  echoResult: HTMLElement;
}

/** A new element with an optional class and text (textContent only). */
export function element<K extends keyof HTMLElementTagNameMap>(
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

function renderControl(def: FieldDef): Control {
  if (def.kind === 'select') {
    const select = element('select');
    for (const option of def.options ?? []) {
      const o = element('option', { text: option });
      o.value = option;
      select.append(o);
    }
    return select;
  }
  const input = element('input');
  input.type = def.kind === 'checkbox' ? 'checkbox' : 'text';
  if (def.kind === 'number') input.inputMode = 'numeric';
  if (def.kind !== 'checkbox') input.classList.add(`size-${def.size}`);
  if (def.kind === 'text' || def.kind === 'folder' || def.kind === 'number') {
    input.autocomplete = 'off';
    input.spellcheck = false;
  }
  return input;
}

function renderField(def: FieldDef, form: RenderedForm, onBrowse: (key: string, button: HTMLButtonElement) => void): HTMLElement {
  const row = element('div', { className: `field field-${def.kind}` });
  row.dataset.field = def.key;
  const id = fieldId(def.key);
  const label = element('label', { text: def.label });
  label.htmlFor = id;
  const control = renderControl(def);
  control.id = id;
  control.name = def.key;

  const error = element('span', { className: 'field-error' });
  error.dataset.errorFor = def.key;
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
    button.setAttribute('aria-haspopup', 'dialog');
    button.addEventListener('click', () => onBrowse(def.key, button));
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

  form.controls.set(def.key, control);
  form.errorSlots.set(def.key, error);
  form.ruleSlots.set(def.key, rule);
  return row;
}

function renderEcho(form: RenderedForm): HTMLElement {
  const row = element('div', { className: 'field field-echo' });
  const body = element('div', { className: 'field-body' });
  const line = element('div', { className: 'field-line' });
  line.append(form.echoButton, form.echoResult);
  body.append(line);
  row.append(element('span', { className: 'field-label-spacer' }), body);
  return row;
}

/** Renders every section into `container`; `onBrowse` is the folder field's Browse. */
export function renderForm(container: HTMLElement, onBrowse: (key: string, button: HTMLButtonElement) => void): RenderedForm {
  const echoButton = element('button', { text: 'Send DICOM Echo', className: 'secondary' });
  echoButton.type = 'button';
  echoButton.id = 'settings-echo';
  const echoResult = element('span', { className: 'echo-result' });
  echoResult.id = 'echo-result';
  echoResult.setAttribute('role', 'status');
  echoResult.setAttribute('aria-live', 'polite');
  const form: RenderedForm = { controls: new Map(), errorSlots: new Map(), ruleSlots: new Map(), echoButton, echoResult };

  for (const section of SECTIONS) {
    const fieldset = element('fieldset', { className: 'section' });
    fieldset.dataset.section = section.id;
    fieldset.append(element('legend', { text: section.title }));
    for (const def of FIELDS.filter((d) => d.section === section.id && !d.advanced)) {
      fieldset.append(renderField(def, form, onBrowse));
    }
    if (section.id === 'send') fieldset.append(renderEcho(form));
    const advanced = FIELDS.filter((d) => d.section === section.id && d.advanced);
    if (advanced.length > 0) {
      const details = element('details', { className: 'advanced' });
      details.append(element('summary', { text: 'Advanced' }));
      for (const def of advanced) details.append(renderField(def, form, onBrowse));
      fieldset.append(details);
    }
    container.append(fieldset);
  }
  return form;
}
