/**
 * The Log Book's details drawer (issue 11 point 2): everything a row knows — ZIP or folder
 * name, where it went, Study Instance UID, CRYPE IDs, the full reason, the association's calling
 * AE title and address, the durations — and the Retry of a failed item. A modal `<dialog>`:
 * the browser moves focus into it, keeps it there and closes it on Esc; on close, focus goes
 * back to the row that opened it. Values are untrusted: textContent only.
 */
import type { LogEntry } from './api.js';
import { formatCrids, formatDicomDate, formatPersonName, formatTimestamp } from './format.js';
import { requestRetry, retryOf } from './logbook-retry.js';

/** A log book row with the details the bridge adds from schema v3 on (absent from an older bridge). */
export type LogEntryDetails = LogEntry & {
  folder?: string;
  callingAeTitle?: string;
  peerAddress?: string;
  receivingMs?: number | null;
  zippingMs?: number | null;
  sendingMs?: number | null;
};

/** The drawer's elements in index.html. */
export interface DrawerElements {
  dialog: HTMLDialogElement;
  title: HTMLElement;
  fields: HTMLElement;
  close: HTMLButtonElement;
  retry: HTMLButtonElement;
  message: HTMLElement;
}

/** Controls the drawer. */
export interface LogbookDrawer {
  /** Shows the entry; `returnTo` gets the focus back on close. */
  open(entry: LogEntryDetails, returnTo: HTMLElement | null): void;
}

/** A duration for people: "850 ms", "12.3 s", "4 min 05 s". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Where the item went, in words. */
function whereText(e: LogEntryDetails): string {
  const folder = String(e.folder ?? '');
  if (folder !== '') return folder;
  if (e.action === 'Send' && e.status === 'Success') return 'sent and deleted from the Outbox';
  return '';
}

/** The drawer's label/value pairs; empty values are shown as "—". */
function details(e: LogEntryDetails): Array<[string, string]> {
  const durations: Array<[string, string]> = [
    ['Receiving', formatDuration(e.receivingMs)],
    ['Zipping', formatDuration(e.zippingMs)],
    ['Sending', formatDuration(e.sendingMs)],
  ];
  if (e.action === 'Settings') {
    // A settings save concerns no study: its changes and who asked are all there is.
    return [
      ['Time', formatTimestamp(String(e.timestamp ?? ''))],
      ['Action', `${String(e.action ?? '')} · ${String(e.status ?? '')}`],
      ['Changes', e.reason === null || e.reason === undefined ? '' : String(e.reason)],
      ['Requested from', String(e.peerAddress ?? '')],
    ];
  }
  return [
    ['Time', formatTimestamp(String(e.timestamp ?? ''))],
    ['Action', `${String(e.action ?? '')} · ${String(e.status ?? '')}`],
    ['ZIP or folder name', String(e.fileName ?? '')],
    ['Folder', whereText(e)],
    ['Patient', formatPersonName(String(e.patientName ?? ''))],
    ['Birthday', formatDicomDate(String(e.birthDate ?? ''))],
    ['Study date', formatDicomDate(String(e.studyDate ?? ''))],
    ['Modality', String(e.modality ?? '')],
    ['Instances', String(e.instances ?? '')],
    ['Study description', String(e.studyDescription ?? '')],
    ['Study Instance UID', String(e.studyInstanceUid ?? '')],
    ['CRYPE IDs', formatCrids(Array.isArray(e.crids) ? e.crids.map(String) : [])],
    ['Reason', e.reason === null || e.reason === undefined ? '' : String(e.reason)],
    ['Calling AE title', String(e.callingAeTitle ?? '')],
    ['Peer address', String(e.peerAddress ?? '')],
    ...durations.filter(([, value]) => value !== ''),
  ];
}

/** Binds the drawer to its elements. */
export function createLogbookDrawer(el: DrawerElements): LogbookDrawer {
  let returnTo: HTMLElement | null = null;
  let current: LogEntryDetails | null = null;

  function setMessage(text: string, ok: boolean): void {
    el.message.textContent = text;
    el.message.className = `message ${ok ? 'ok' : 'failed'}`;
    el.message.hidden = text === '';
  }

  el.close.addEventListener('click', () => el.dialog.close());
  el.dialog.addEventListener('close', () => {
    current = null;
    // The row may have been re-rendered meanwhile: then focus its successor with the same id.
    const target = returnTo !== null && returnTo.isConnected ? returnTo : document.querySelector<HTMLElement>(`#logbook-table tr[data-id="${returnTo?.dataset.id ?? ''}"]`);
    target?.focus();
    returnTo = null;
  });
  // A click on the backdrop (outside the drawer's box) closes it too.
  el.dialog.addEventListener('click', (event) => {
    if (event.target === el.dialog) {
      const box = el.dialog.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) el.dialog.close();
    }
  });
  el.retry.addEventListener('click', () => {
    const retry = current ? retryOf(current) : null;
    if (retry === null) return;
    el.retry.disabled = true;
    setMessage('Retrying…', true);
    void requestRetry(retry.kind, retry.name).then((result) => {
      setMessage(result.text, result.ok);
      // Done once: the item has left the failed folder (a new failure writes a new row).
      el.retry.disabled = result.ok;
    });
  });

  return {
    open(entry, from) {
      current = entry;
      returnTo = from;
      el.title.textContent = `${String(entry.action ?? '')} ${String(entry.status ?? '').toLowerCase()}: ${String(entry.fileName ?? '') || formatPersonName(String(entry.patientName ?? '')) || (entry.action === 'Settings' && entry.peerAddress ? `from ${String(entry.peerAddress)}` : 'details')}`;
      const fragment = document.createDocumentFragment();
      for (const [label, value] of details(entry)) {
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        dd.textContent = value === '' ? '—' : value;
        dd.dataset.field = label;
        fragment.append(dt, dd);
      }
      el.fields.replaceChildren(fragment);
      const retry = retryOf(entry);
      el.retry.hidden = retry === null;
      el.retry.disabled = false;
      el.retry.textContent = retry?.kind === 'inbox' ? 'Retry: zip again' : 'Retry: send again';
      setMessage('', true);
      if (!el.dialog.open) el.dialog.showModal();
      el.close.focus();
    },
  };
}
