/**
 * The Log Book tab's routes (SPEC §4, §7): GET /api/logbook (filtered, keyset-paged rows),
 * GET /api/logbook.csv (the same filters as a download) and POST /api/retry (a failed item
 * sent through again). Reads and writes pass the server's RequestGuard like every route.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { RETRY_KINDS, RetryError, type RetryKind } from '../../bridge/housekeeping/retry.js';
import { QUERY_TEXT_MAX, type LogQuery } from '../../logbook/logbook.js';
import { LOG_ACTIONS, LOG_STATUSES, type LogAction, type LogEntry, type LogStatus } from '../../logbook/schema.js';
import { HttpError, readJson, sendJson } from '../http.js';
import type { Route } from './context.js';

/** Rows one page of the Log Book tab shows (SPEC §4, §7: the last 500). */
export const LOGBOOK_PAGE_MAX = 500;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A `from`/`to` parameter: an ISO 8601 instant (the page sends the start of the chosen local
 * day), or a calendar day `YYYY-MM-DD` taken as UTC; `to` of a day means the end of that day.
 */
function instantParam(value: string | null, name: 'from' | 'to'): Date | undefined {
  if (value === null || value === '') return undefined;
  const day = DAY.exec(value);
  const ms = day ? Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + (name === 'to' ? 1 : 0)) : Date.parse(value);
  if (Number.isNaN(ms) || value.length > 40) throw new HttpError(400, `${name} must be a date (YYYY-MM-DD) or an ISO 8601 time`);
  return new Date(ms);
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[], name: string): T | undefined {
  if (value === null || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new HttpError(400, `${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** The filters of a request: q, action, status, from, to (both routes), before (paging). */
export function filterOf(params: URLSearchParams): Omit<LogQuery, 'limit'> {
  const q = params.get('q') ?? '';
  if (q.length > QUERY_TEXT_MAX) throw new HttpError(400, `q must be at most ${QUERY_TEXT_MAX} characters`);
  const filter: Omit<LogQuery, 'limit'> = {
    q,
    action: oneOf<LogAction>(params.get('action'), LOG_ACTIONS, 'action'),
    status: oneOf<LogStatus>(params.get('status'), LOG_STATUSES, 'status'),
    from: instantParam(params.get('from'), 'from'),
    to: instantParam(params.get('to'), 'to'),
  };
  const before = params.get('before');
  if (before !== null && before !== '') {
    const id = Number(before);
    if (!/^[0-9]{1,15}$/.test(before) || !Number.isSafeInteger(id)) throw new HttpError(400, 'before must be a row id');
    filter.before = id;
  }
  return filter;
}

/**
 * GET /api/logbook: newest first, at most `limit` (default and maximum 500) rows matching the
 * filters; `hasMore` says whether older rows match too (the page's "Older" button).
 */
export const getLogBook: Route = ({ res, url, supervisor }) => {
  const asked = url.searchParams.get('limit');
  const limit = asked === null ? LOGBOOK_PAGE_MAX : Number(asked);
  if (!Number.isInteger(limit) || limit < 0 || limit > LOGBOOK_PAGE_MAX) throw new HttpError(400, `limit must be an integer from 0 to ${LOGBOOK_PAGE_MAX}`);
  const rows = supervisor.bridge.logBook.query({ ...filterOf(url.searchParams), limit: limit + 1 });
  sendJson(res, 200, { entries: rows.slice(0, limit), hasMore: rows.length > limit });
};

/** The export's columns: the table's, in its order and with its names, then the details drawer's. */
export const CSV_COLUMNS: ReadonlyArray<[string, (e: LogEntry) => string | number | null]> = [
  ['Timestamp', (e) => e.timestamp],
  ['Patient Name', (e) => e.patientName],
  ['Birthday', (e) => e.birthDate],
  ['Study Date', (e) => e.studyDate],
  ['Modality', (e) => e.modality],
  ['# Instances', (e) => e.instances],
  ['Study Description', (e) => e.studyDescription],
  ['Action', (e) => e.action],
  ['Status', (e) => e.status],
  ['CRID', (e) => e.crids.map((id) => `CRID#${id}`).join(' ')],
  ['Reason', (e) => e.reason],
  ['File Name', (e) => e.fileName],
  ['Folder', (e) => e.folder],
  ['Study Instance UID', (e) => e.studyInstanceUid],
  ['Calling AE Title', (e) => e.callingAeTitle],
  ['Peer Address', (e) => e.peerAddress],
  ['Receiving (ms)', (e) => e.receivingMs],
  ['Zipping (ms)', (e) => e.zippingMs],
  ['Sending (ms)', (e) => e.sendingMs],
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
 * Text from DICOM data that a spreadsheet would run as a formula (= + - @, or a tab or CR
 * before one) gets a leading apostrophe, as OWASP's CSV injection advice says.
 */
export function csvField(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record with its CRLF. */
export function csvLine(fields: ReadonlyArray<string | number | null>): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** Rows written per chunk of the download. */
const CSV_ROWS_PER_CHUNK = 200;

async function write(res: ServerResponse, text: string): Promise<void> {
  if (!res.write(text)) await once(res, 'drain');
}

/**
 * GET /api/logbook.csv: every row matching the filters (not only one page), newest first,
 * UTF-8 with a byte order mark so Excel reads umlauts right, streamed in chunks.
 */
export const getLogBookCsv: Route = async ({ res, url, supervisor }) => {
  const { before: _ignored, ...filter } = filterOf(url.searchParams);
  const rows = supervisor.bridge.logBook.iterate(filter);
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="dicombridge-logbook-${stamp}.csv"`,
    'cache-control': 'no-store',
  });
  let chunk = `\uFEFF${csvLine(CSV_COLUMNS.map(([name]) => name))}`;
  let count = 0;
  for (const entry of rows) {
    chunk += csvLine(CSV_COLUMNS.map(([, get]) => get(entry)));
    if (++count % CSV_ROWS_PER_CHUNK === 0) {
      await write(res, chunk);
      chunk = '';
      if (res.destroyed) return; // the browser gave up: stop reading
    }
  }
  res.end(chunk);
};

/**
 * POST /api/retry `{ kind: 'outbox' | 'inbox', name }`: 200 with where the item went; 400 for
 * a name that is not one path component, 404 when the failed folder has no such item.
 */
export const postRetry: Route = async ({ req, res, supervisor }) => {
  const body = await readJson(req);
  const { kind, name } = (body !== null && typeof body === 'object' ? body : {}) as { kind?: unknown; name?: unknown };
  if (typeof kind !== 'string' || !(RETRY_KINDS as readonly string[]).includes(kind)) throw new HttpError(400, `kind must be one of ${RETRY_KINDS.join(', ')}`);
  try {
    sendJson(res, 200, await supervisor.bridge.retry(kind as RetryKind, name));
  } catch (err) {
    if (err instanceof RetryError) throw new HttpError(err.code === 'ERR_RETRY_NAME' ? 400 : 404, err.message);
    throw err;
  }
};
