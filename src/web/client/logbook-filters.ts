/**
 * The Log Book's filters (issue 11): free text, action, status and a date range, as the query
 * string of GET /api/logbook and /api/logbook.csv, and the same test for rows that arrive live.
 * No DOM types here, so the unit tests can import it as it is.
 */

/** What the filter controls hold. Dates are the `<input type="date">` values (local days). */
export interface LogFilter {
  q: string;
  action: string;
  status: string;
  /** `YYYY-MM-DD` or ''. */
  from: string;
  /** `YYYY-MM-DD` or '' (inclusive: the whole day). */
  to: string;
}

/** The fields of a row the free-text filter searches (as the server does). */
export interface SearchableEntry {
  timestamp?: unknown;
  action?: unknown;
  status?: unknown;
  patientName?: unknown;
  modality?: unknown;
  studyDescription?: unknown;
  crids?: unknown;
  reason?: unknown;
  studyInstanceUid?: unknown;
  fileName?: unknown;
  folder?: unknown;
  callingAeTitle?: unknown;
  peerAddress?: unknown;
}

export const EMPTY_FILTER: LogFilter = { q: '', action: '', status: '', from: '', to: '' };

/** The words of the free text: split at spaces and commas, lower case ("DOE, Jane" → doe, jane). */
export function searchWords(q: string): string[] {
  return q.toLowerCase().split(/[\s,]+/).filter((w) => w !== '');
}

/** The start of a local calendar day `YYYY-MM-DD` as an ISO instant, `days` later; null if not a date. */
export function localDayStart(day: string, days = 0): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (m === null) return null;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Whether any filter is set. */
export function isFiltered(filter: LogFilter): boolean {
  return filter.q.trim() !== '' || filter.action !== '' || filter.status !== '' || filter.from !== '' || filter.to !== '';
}

/** The query parameters of the filter (the date range as instants of the browser's days). */
export function filterParams(filter: LogFilter): URLSearchParams {
  const params = new URLSearchParams();
  if (filter.q.trim() !== '') params.set('q', filter.q.trim());
  if (filter.action !== '') params.set('action', filter.action);
  if (filter.status !== '') params.set('status', filter.status);
  const from = localDayStart(filter.from);
  const to = localDayStart(filter.to, 1);
  if (from !== null) params.set('from', from);
  if (to !== null) params.set('to', to);
  return params;
}

function text(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** Whether a row matches the filter, as the server would decide (for rows shown live). */
export function matchesFilter(entry: SearchableEntry, filter: LogFilter): boolean {
  if (filter.action !== '' && text(entry.action) !== filter.action) return false;
  if (filter.status !== '' && text(entry.status) !== filter.status) return false;
  const at = text(entry.timestamp);
  const from = localDayStart(filter.from);
  const to = localDayStart(filter.to, 1);
  if (from !== null && at < from) return false;
  if (to !== null && at >= to) return false;
  const words = searchWords(filter.q);
  if (words.length === 0) return true;
  const crids = Array.isArray(entry.crids) ? entry.crids.map((id) => `CRID#${String(id)}`).join('') : '';
  const haystack = [
    text(entry.patientName).replace(/[\^=]/g, ' '),
    entry.action, entry.status, crids, entry.reason, entry.fileName, entry.studyDescription, entry.modality,
    entry.studyInstanceUid, entry.folder, entry.callingAeTitle, entry.peerAddress,
  ].map(text).join(' ').toLowerCase();
  return words.every((word) => haystack.includes(word));
}
