/**
 * The "Log Book" tab (SPEC §4, seed manual §6): the last 500 entries, newest first, with
 * Refresh, live rows from the `logbook` event and a filter box. Every value comes from DICOM
 * data or the file system and is untrusted: cells are filled with textContent only.
 */
import { getJson, type LogEntry } from './api.js';
import { formatCrids, formatDicomDate, formatPersonName, formatTimestamp } from './format.js';

/** How many entries the tab keeps and shows (SPEC §4). */
export const LOGBOOK_LIMIT = 500;

const STATUS_CLASSES: Record<string, string> = {
  Success: 'status-success',
  Failed: 'status-failed',
  Warning: 'status-warning',
};

/** Controls the Log Book tab; created once at boot. */
export interface LogbookView {
  refresh(): Promise<void>;
  add(entry: LogEntry): void;
}

interface Elements {
  table: HTMLTableElement;
  empty: HTMLElement;
  filter: HTMLInputElement;
  refresh: HTMLButtonElement;
  message: HTMLElement | null;
}

/** The texts of one row, in column order (the header in index.html). */
function cells(e: LogEntry): string[] {
  return [
    formatTimestamp(String(e.timestamp ?? '')),
    formatPersonName(String(e.patientName ?? '')),
    formatDicomDate(String(e.birthDate ?? '')),
    formatDicomDate(String(e.studyDate ?? '')),
    String(e.modality ?? ''),
    String(e.instances ?? ''),
    String(e.studyDescription ?? ''),
    String(e.action ?? ''),
    String(e.status ?? ''),
    formatCrids(Array.isArray(e.crids) ? e.crids.map(String) : []),
    e.reason === null || e.reason === undefined ? '' : String(e.reason),
  ];
}

/** The text the filter box searches: patient name (raw and readable), action, status, CRIDs, reason. */
function haystack(e: LogEntry): string {
  const crids = Array.isArray(e.crids) ? e.crids.map(String) : [];
  return [
    e.patientName,
    formatPersonName(String(e.patientName ?? '')),
    e.action,
    e.status,
    crids.join(' '),
    formatCrids(crids),
    e.reason ?? '',
  ]
    .join('\n')
    .toLowerCase();
}

function row(e: LogEntry): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = String(e.id);
  const texts = cells(e);
  texts.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (i === 8) {
      const cls = STATUS_CLASSES[String(e.status)];
      td.classList.add('status', cls ?? 'status-other');
    }
    if (i === 10 && text !== '') td.title = text;
    tr.append(td);
  });
  return tr;
}

/** Binds the tab to its elements (#logbook-table, #logbook-empty, #logbook-filter, #logbook-refresh). */
export function createLogbookView(el: Elements): LogbookView {
  let entries: LogEntry[] = [];
  let loadedOnce = false;
  // Rows that arrived live while a refresh was in flight; the older snapshot must not drop them.
  let liveDuringRefresh: LogEntry[] | null = null;
  const tbody = el.table.tBodies[0] ?? el.table.createTBody();

  function render(): void {
    const needle = el.filter.value.trim().toLowerCase();
    const shown = needle === '' ? entries : entries.filter((e) => haystack(e).includes(needle));
    const fragment = document.createDocumentFragment();
    for (const e of shown) fragment.append(row(e));
    tbody.replaceChildren(fragment);
    if (entries.length === 0) {
      el.empty.textContent = loadedOnce ? 'No entries yet' : 'Loading…';
      el.empty.hidden = false;
    } else if (shown.length === 0) {
      el.empty.textContent = 'No entries match the filter';
      el.empty.hidden = false;
    } else {
      el.empty.hidden = true;
    }
  }

  function setMessage(text: string): void {
    if (el.message === null) return;
    el.message.textContent = text;
    el.message.hidden = text === '';
  }

  async function refresh(): Promise<void> {
    el.refresh.disabled = true;
    liveDuringRefresh = [];
    try {
      const result = await getJson<{ entries?: LogEntry[]; error?: string }>(`/api/logbook?limit=${LOGBOOK_LIMIT}`);
      if (!result.ok || !Array.isArray(result.body.entries)) {
        setMessage(`Could not load the log book: ${result.body.error ?? `HTTP ${result.status}`}`);
        return;
      }
      const ids = new Set(result.body.entries.map((e) => String(e.id)));
      const missed = (liveDuringRefresh ?? []).filter((e) => !ids.has(String(e.id)));
      entries = [...missed, ...result.body.entries].slice(0, LOGBOOK_LIMIT);
      loadedOnce = true;
      setMessage('');
      render();
    } catch {
      setMessage('Could not load the log book: connection to the bridge lost');
    } finally {
      liveDuringRefresh = null;
      el.refresh.disabled = false;
    }
  }

  function add(entry: LogEntry): void {
    if (entries.some((e) => String(e.id) === String(entry.id))) return;
    liveDuringRefresh?.unshift(entry);
    entries = [entry, ...entries].slice(0, LOGBOOK_LIMIT);
    loadedOnce = true;
    render();
  }

  el.refresh.addEventListener('click', () => void refresh());
  el.filter.addEventListener('input', render);
  render();
  return { refresh, add };
}
