/**
 * The known peers editor (SPEC §5 `receive.allowedPeers`): a small table in the DICOM
 * Receiving section's Advanced block, one row per peer (calling AE title, optional host and
 * optional certificate CN), with Add and Remove. The server judges every cell (the form's
 * validation while typing and Save); its errors (`receive.allowedPeers.1.host`) are shown in
 * the cell they name. An empty list means any peer may store.
 */
import { element } from './settings-render.js';
import { comparable } from './settings-tree.js';

/** The settings key this editor owns. */
export const PEERS_KEY = 'receive.allowedPeers';

/** The most rows the config accepts (RULES.peers). */
const MAX_PEERS = 256;

/** One peer as the config file holds it. */
export interface Peer {
  aeTitle: string;
  host?: string;
  commonName?: string;
}

type PeerField = keyof Peer;

/** The columns: field, header, and the word used in each input's accessible name. */
const COLUMNS: ReadonlyArray<{ field: PeerField; header: string; name: string; size: string }> = [
  { field: 'aeTitle', header: 'AE title', name: 'AE title', size: 'size-medium' },
  { field: 'host', header: 'Host (IP, CIDR or host name, optional)', name: 'Host', size: 'size-medium' },
  { field: 'commonName', header: 'Certificate CN (optional)', name: 'Certificate CN', size: 'size-medium' },
];

interface PeerRow {
  tr: HTMLTableRowElement;
  inputs: Map<PeerField, HTMLInputElement>;
  errors: Map<PeerField, HTMLElement>;
  remove: HTMLButtonElement;
}

/** A part of the settings tree edited by its own widget rather than a plain field. */
export interface SettingsEditor {
  /** The dotted settings key it edits. */
  readonly key: string;
  /** The value to save. */
  value(): unknown;
  /** Shows a saved value. */
  fill(value: unknown): void;
  /** True when the shown value differs from `saved`. */
  changed(saved: unknown): boolean;
  /** Shows an error whose key is `key` or below it; false when the key is not this editor's. */
  markError(key: string, text: string): boolean;
  clearErrors(): void;
}

/** A peer from the JSON the server sent (unknown shapes become an empty row the server will refuse). */
function peerOf(value: unknown): Peer {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const text = (x: unknown) => (typeof x === 'string' ? x : '');
  const peer: Peer = { aeTitle: text(v.aeTitle) };
  if (text(v.host) !== '') peer.host = text(v.host);
  if (text(v.commonName) !== '') peer.commonName = text(v.commonName);
  return peer;
}

/** The peers table; `onEdit` runs after each keystroke (validation while typing). */
export class PeersTable implements SettingsEditor {
  readonly key = PEERS_KEY;
  /** The block to insert into the form. */
  readonly root: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly add: HTMLButtonElement;
  private readonly listError: HTMLElement;
  private readonly empty: HTMLTableRowElement;
  private rows: PeerRow[] = [];
  private nextId = 0;

  constructor(private readonly onEdit: () => void = () => undefined) {
    this.root = element('div', { className: 'field peers' });
    this.root.dataset.field = PEERS_KEY;

    const table = element('table', { className: 'peers-table' });
    table.id = 'peers-table';
    const caption = element('caption', { text: 'Known peers (allowed calling AE titles)' });
    const hint = element('small', { className: 'field-rule', text: 'Empty list: any peer may store. Otherwise only these calling AE titles, each optionally only from its host and with its certificate CN (DICOM TLS). Applied on Save, without restart.' });
    hint.id = 'peers-hint';
    table.setAttribute('aria-describedby', hint.id);
    const head = element('thead');
    const headRow = element('tr');
    for (const column of COLUMNS) {
      const th = element('th', { text: column.header });
      th.scope = 'col';
      headRow.append(th);
    }
    const actions = element('th');
    actions.scope = 'col';
    actions.append(element('span', { className: 'visually-hidden', text: 'Actions' }));
    headRow.append(actions);
    head.append(headRow);
    this.body = element('tbody');
    this.empty = element('tr', { className: 'peers-empty' });
    const emptyCell = element('td', { text: 'No known peers: any calling AE title may store.' });
    emptyCell.colSpan = COLUMNS.length + 1;
    this.empty.append(emptyCell);
    this.body.append(this.empty);
    table.append(caption, head, this.body);

    this.add = element('button', { text: 'Add peer', className: 'secondary' });
    this.add.type = 'button';
    this.add.id = 'peers-add';
    this.add.addEventListener('click', () => {
      const row = this.addRow({ aeTitle: '' });
      row.inputs.get('aeTitle')?.focus();
      this.edited();
    });
    this.listError = element('span', { className: 'field-error' });
    this.listError.id = 'peers-error';
    this.listError.dataset.errorFor = PEERS_KEY;
    this.listError.setAttribute('aria-live', 'polite');

    const line = element('div', { className: 'field-line' });
    line.append(this.add, this.listError);
    this.root.append(table, line, hint);
  }

  value(): Peer[] {
    return this.rows.map((row) => {
      const read = (field: PeerField) => row.inputs.get(field)?.value.trim() ?? '';
      const peer: Peer = { aeTitle: read('aeTitle') };
      // Empty optional cells are left out: the config has no "" host.
      if (read('host') !== '') peer.host = read('host');
      if (read('commonName') !== '') peer.commonName = read('commonName');
      return peer;
    });
  }

  fill(value: unknown): void {
    for (const row of this.rows) row.tr.remove();
    this.rows = [];
    for (const peer of Array.isArray(value) ? value : []) this.addRow(peerOf(peer));
    this.updateEmpty();
  }

  changed(saved: unknown): boolean {
    const before = Array.isArray(saved) ? saved.map(peerOf) : [];
    return comparable(this.value()) !== comparable(before);
  }

  markError(key: string, text: string): boolean {
    if (key !== PEERS_KEY && !key.startsWith(`${PEERS_KEY}.`)) return false;
    const [index, field] = key.slice(PEERS_KEY.length + 1).split('.');
    const row = index === undefined || index === '' ? undefined : this.rows[Number(index)];
    const slot = row?.errors.get(field as PeerField);
    const input = row?.inputs.get(field as PeerField);
    if (slot !== undefined && input !== undefined) {
      slot.textContent = slot.textContent === '' ? text : `${slot.textContent}; ${text}`;
      input.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
    } else {
      const where = row === undefined ? '' : `Peer ${Number(index) + 1}: `;
      this.listError.textContent = `${this.listError.textContent === '' ? '' : `${this.listError.textContent}; `}${where}${text}`;
    }
    const details = this.root.closest('details');
    if (details !== null) details.open = true;
    return true;
  }

  clearErrors(): void {
    this.listError.textContent = '';
    for (const row of this.rows) {
      for (const slot of row.errors.values()) slot.textContent = '';
      for (const input of row.inputs.values()) {
        input.classList.remove('invalid');
        input.removeAttribute('aria-invalid');
      }
    }
  }

  private edited(): void {
    this.updateEmpty();
    this.onEdit();
    // Dirty state and Save follow the form's own input handling.
    this.root.dispatchEvent(new Event('input', { bubbles: true }));
  }

  private updateEmpty(): void {
    this.empty.hidden = this.rows.length > 0;
    this.add.disabled = this.rows.length >= MAX_PEERS;
    this.rows.forEach((row, i) => {
      for (const column of COLUMNS) row.inputs.get(column.field)?.setAttribute('aria-label', `${column.name} of peer ${i + 1}`);
      row.remove.setAttribute('aria-label', `Remove peer ${i + 1}`);
      row.tr.dataset.index = String(i);
    });
  }

  private addRow(peer: Peer): PeerRow {
    const id = `peer-${++this.nextId}`;
    const tr = element('tr');
    const row: PeerRow = { tr, inputs: new Map(), errors: new Map(), remove: element('button', { text: 'Remove', className: 'secondary' }) };
    for (const column of COLUMNS) {
      const td = element('td');
      const input = element('input');
      input.type = 'text';
      input.id = `${id}-${column.field}`;
      input.className = column.size;
      input.autocomplete = 'off';
      input.spellcheck = false;
      input.value = peer[column.field] ?? '';
      input.dataset.peerField = column.field;
      const error = element('span', { className: 'field-error' });
      error.id = `${input.id}-error`;
      input.setAttribute('aria-describedby', error.id);
      input.addEventListener('input', () => this.onEdit());
      td.append(input, error);
      tr.append(td);
      row.inputs.set(column.field, input);
      row.errors.set(column.field, error);
    }
    const td = element('td');
    row.remove.type = 'button';
    row.remove.addEventListener('click', () => this.removeRow(row));
    td.append(row.remove);
    tr.append(td);
    this.rows.push(row);
    this.body.append(tr);
    this.updateEmpty();
    return row;
  }

  private removeRow(row: PeerRow): void {
    const index = this.rows.indexOf(row);
    if (index === -1) return;
    this.rows.splice(index, 1);
    row.tr.remove();
    this.clearErrors(); // indexes moved: the next validation places errors again
    this.edited();
    // Keep the keyboard where it was: the row that took this place, else Add.
    const next = this.rows[index] ?? this.rows[index - 1];
    (next?.inputs.get('aeTitle') ?? this.add).focus();
  }
}
