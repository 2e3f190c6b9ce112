/**
 * The "Log Book" tab (SPEC §4, seed manual §6): pages of up to 500 entries, newest first, with
 * Refresh, live rows from the `logbook` event, filters (free text, action, status, date range:
 * logbook-filters.ts), "Older"/"Newer" paging past the last 500, Export CSV and a details
 * drawer per row (Enter, Space or a click). Every value comes from DICOM data or the file
 * system and is untrusted: cells are filled with textContent only.
 */
import { getJson, type LogEntry } from './api.js';
import { formatCrids, formatDicomDate, formatPersonName, formatTimestamp } from './format.js';
import { createLogbookDrawer, type LogbookDrawer } from './logbook-drawer.js';
import { updateExportLink } from './logbook-export.js';
import { EMPTY_FILTER, filterParams, isFiltered, matchesFilter, type LogFilter } from './logbook-filters.js';

/** How many entries one page shows (SPEC §4). */
export const LOGBOOK_LIMIT = 500;

/** Quiet time after typing before the server is asked (the loaded rows are filtered at once). */
const TYPING_DEBOUNCE_MS = 300;

const STATUS_CLASSES: Record<string, string> = {
  Success: 'status-success',
  Failed: 'status-failed',
  Warning: 'status-warning',
};

/** Columns whose text is cut with an ellipsis; the full text is in `title` and the drawer. */
const CLIPPED = new Set([1, 6, 10]);

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

/** The controls this tab finds by id (absent ones are simply not used). */
interface Extras {
  action: HTMLSelectElement | null;
  status: HTMLSelectElement | null;
  from: HTMLInputElement | null;
  to: HTMLInputElement | null;
  exportLink: HTMLAnchorElement | null;
  older: HTMLButtonElement | null;
  newer: HTMLButtonElement | null;
  pageInfo: HTMLElement | null;
  drawer: LogbookDrawer | null;
}

function extras(): Extras {
  const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;
  const dialog = byId<HTMLDialogElement>('logbook-drawer');
  const title = byId('logbook-drawer-title');
  const fields = byId('logbook-drawer-fields');
  const close = byId<HTMLButtonElement>('logbook-drawer-close');
  const retry = byId<HTMLButtonElement>('logbook-drawer-retry');
  const message = byId('logbook-drawer-message');
  const drawer = dialog && title && fields && close && retry && message ? createLogbookDrawer({ dialog, title, fields, close, retry, message }) : null;
  return {
    action: byId<HTMLSelectElement>('logbook-action'),
    status: byId<HTMLSelectElement>('logbook-status'),
    from: byId<HTMLInputElement>('logbook-from'),
    to: byId<HTMLInputElement>('logbook-to'),
    exportLink: byId<HTMLAnchorElement>('logbook-export'),
    older: byId<HTMLButtonElement>('logbook-older'),
    newer: byId<HTMLButtonElement>('logbook-newer'),
    pageInfo: byId('logbook-page'),
    drawer,
  };
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
    // Several lines (a Settings row's changes) read as one in the cell; the drawer shows them whole.
    e.reason === null || e.reason === undefined ? '' : String(e.reason).replace(/\n/g, '; '),
  ];
}

function row(e: LogEntry, drawer: LogbookDrawer | null): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = String(e.id);
  const texts = cells(e);
  texts.forEach((text, i) => {
    const td = document.createElement('td');
    if (CLIPPED.has(i)) {
      const clip = document.createElement('span');
      clip.className = 'clip';
      clip.textContent = text;
      td.append(clip);
      if (text !== '') td.title = text;
    } else {
      td.textContent = text;
    }
    if (i === 8) {
      const cls = STATUS_CLASSES[String(e.status)];
      td.classList.add('status', cls ?? 'status-other');
    }
    tr.append(td);
  });
  if (drawer !== null) {
    tr.tabIndex = 0;
    tr.classList.add('openable');
    tr.setAttribute('aria-label', `${texts[7]} ${texts[8]}, ${texts[0]}${texts[1] ? `, ${texts[1]}` : ''}: Enter shows the details`);
    tr.addEventListener('click', () => drawer.open(e, tr));
    tr.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      drawer.open(e, tr);
    });
  }
  return tr;
}

/** Binds the tab to its elements (#logbook-table, #logbook-empty, #logbook-filter, #logbook-refresh, and the optional filters, pager and drawer). */
export function createLogbookView(el: Elements): LogbookView {
  const x = extras();
  let entries: LogEntry[] = [];
  let loadedOnce = false;
  let hasMore = false;
  /** `before` ids of the pages shown after "Older"; empty on the newest page. */
  let cursors: number[] = [];
  /** The filter the loaded entries were fetched with. */
  let loadedFilter: LogFilter = EMPTY_FILTER;
  // Rows that arrived live while a refresh was in flight; the older snapshot must not drop them.
  let liveDuringRefresh: LogEntry[] | null = null;
  let request = 0;
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  const tbody = el.table.tBodies[0] ?? el.table.createTBody();

  function currentFilter(): LogFilter {
    return {
      q: el.filter.value,
      action: x.action?.value ?? '',
      status: x.status?.value ?? '',
      from: x.from?.value ?? '',
      to: x.to?.value ?? '',
    };
  }

  function render(): void {
    const filter = currentFilter();
    // The loaded rows are filtered at once; the server's answer for the new filter follows.
    const shown = entries.filter((e) => matchesFilter(e, filter));
    const fragment = document.createDocumentFragment();
    for (const e of shown) fragment.append(row(e, x.drawer));
    // A live row must not take the keyboard focus away from the row the user is on.
    const focused = tbody.contains(document.activeElement) ? (document.activeElement as HTMLElement).closest('tr')?.dataset.id : undefined;
    tbody.replaceChildren(fragment);
    if (focused !== undefined) tbody.querySelector<HTMLElement>(`tr[data-id="${CSS.escape(focused)}"]`)?.focus();
    if (entries.length === 0 && !isFiltered(loadedFilter) && cursors.length === 0) {
      el.empty.textContent = loadedOnce ? 'No entries yet' : 'Loading…';
      el.empty.hidden = false;
    } else if (shown.length === 0) {
      el.empty.textContent = 'No entries match the filter';
      el.empty.hidden = false;
    } else {
      el.empty.hidden = true;
    }
    renderPager(shown.length);
  }

  function renderPager(shown: number): void {
    if (x.older) x.older.disabled = !hasMore;
    if (x.newer) x.newer.disabled = cursors.length === 0;
    if (x.pageInfo) {
      const first = cursors.length * LOGBOOK_LIMIT + 1;
      x.pageInfo.textContent = shown === 0 ? '' : `Rows ${first}–${first + shown - 1}${hasMore ? ', older rows exist' : ''}`;
    }
  }

  function setMessage(text: string): void {
    if (el.message === null) return;
    el.message.textContent = text;
    el.message.hidden = text === '';
  }

  async function load(): Promise<void> {
    const mine = ++request;
    const filter = currentFilter();
    const params = filterParams(filter);
    params.set('limit', String(LOGBOOK_LIMIT));
    const before = cursors.at(-1);
    if (before !== undefined) params.set('before', String(before));
    el.refresh.disabled = true;
    liveDuringRefresh = [];
    try {
      const result = await getJson<{ entries?: LogEntry[]; hasMore?: boolean; error?: string }>(`/api/logbook?${params.toString()}`);
      if (mine !== request) return; // a newer request supersedes this answer
      if (!result.ok || !Array.isArray(result.body.entries)) {
        setMessage(`Could not load the log book: ${result.body.error ?? `HTTP ${result.status}`}`);
        return;
      }
      const ids = new Set(result.body.entries.map((e) => String(e.id)));
      const missed = before === undefined ? (liveDuringRefresh ?? []).filter((e) => !ids.has(String(e.id)) && matchesFilter(e, filter)) : [];
      entries = [...missed, ...result.body.entries].slice(0, LOGBOOK_LIMIT);
      hasMore = result.body.hasMore === true;
      loadedFilter = filter;
      loadedOnce = true;
      setMessage('');
      render();
    } catch {
      if (mine === request) setMessage('Could not load the log book: connection to the bridge lost');
    } finally {
      if (mine === request) {
        liveDuringRefresh = null;
        el.refresh.disabled = false;
      }
    }
  }

  function add(entry: LogEntry): void {
    // Live rows belong on the newest page, and only if the filter would show them.
    if (cursors.length > 0 || !matchesFilter(entry, loadedFilter)) return;
    if (entries.some((e) => String(e.id) === String(entry.id))) return;
    liveDuringRefresh?.unshift(entry);
    entries = [entry, ...entries].slice(0, LOGBOOK_LIMIT);
    loadedOnce = true;
    render();
  }

  /** A filter changed: back to the newest page, filter what is loaded now, ask the server. */
  function filterChanged(debounceMs: number): void {
    cursors = [];
    if (x.exportLink) updateExportLink(x.exportLink, currentFilter());
    render();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => void load(), debounceMs);
  }

  el.refresh.addEventListener('click', () => void load());
  el.filter.addEventListener('input', () => filterChanged(TYPING_DEBOUNCE_MS));
  for (const control of [x.action, x.status, x.from, x.to]) control?.addEventListener('change', () => filterChanged(0));
  x.older?.addEventListener('click', () => {
    const last = entries.at(-1);
    if (!hasMore || last === undefined) return;
    cursors.push(Number(last.id));
    void load().then(() => el.table.closest('.table-wrap')?.scrollTo({ top: 0 }));
  });
  x.newer?.addEventListener('click', () => {
    if (cursors.length === 0) return;
    cursors.pop();
    void load().then(() => el.table.closest('.table-wrap')?.scrollTo({ top: 0 }));
  });
  if (x.exportLink) updateExportLink(x.exportLink, currentFilter());
  render();
  return { refresh: load, add };
}
