/**
 * Export CSV (issue 11 point 2): a plain download link to GET /api/logbook.csv with the
 * filters in force, so the browser downloads it with the page's own credentials.
 */
import { filterParams, type LogFilter } from './logbook-filters.js';

/** The export URL of the filtered rows (every page, not only the one shown). */
export function exportUrl(filter: LogFilter): string {
  const query = filterParams(filter).toString();
  return query === '' ? '/api/logbook.csv' : `/api/logbook.csv?${query}`;
}

/** Points the Export link at the rows the filter selects. */
export function updateExportLink(link: HTMLAnchorElement, filter: LogFilter): void {
  link.href = exportUrl(filter);
}
