/**
 * Pure text formatting for the admin GUI: DICOM dates and person names, log book timestamps,
 * byte counts. No DOM types here, so the Node unit tests can import this module as it is.
 *
 * Hand-written because each job is a few lines and the page loads no third-party code: a date
 * library or Intl.DateTimeFormat would give locale-dependent output, and the hospitals reading
 * this page expect the fixed European dd/mm/yyyy the seed manual shows.
 */

// DICOM DA, and the ISO form the log book may already have turned it into.
const DA = /^(\d{4})-?(\d{2})-?(\d{2})$/;

/** Two digits with a leading zero. */
function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * A DICOM DA value ("19290505", PS3.5 §6.2 Table 6.2-1) or an ISO date ("1929-05-05") as
 * "05/05/1929". An empty value gives "", anything else that is not a plausible calendar date
 * is returned unchanged (shown raw).
 */
export function formatDicomDate(da: string): string {
  const value = da.trim();
  const m = DA.exec(value);
  if (m === null) return da;
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return da;
  return `${d}/${mo}/${y}`;
}

/**
 * An ISO 8601 instant ("2026-11-27T01:02:03.456Z") in the browser's local time zone as
 * "dd/mm/yyyy HH:MM:SS"; an unparsable value is returned unchanged.
 */
export function formatTimestamp(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  return (
    `${pad2(d.getDate())}/${pad2(d.getMonth() + 1)}/${d.getFullYear()} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** One PN component group ("family^given^middle^prefix^suffix") as "prefix family, given middle suffix". */
function formatNameGroup(group: string): string {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^').map((c) => c.trim());
  const givenNames = [given, middle].filter((c) => c !== '').join(' ');
  let name = family !== '' && givenNames !== '' ? `${family}, ${givenNames}` : family || givenNames;
  if (prefix !== '') name = name === '' ? prefix : `${prefix} ${name}`;
  if (suffix !== '') name = name === '' ? suffix : `${name} ${suffix}`;
  return name;
}

/**
 * A DICOM PN value (PS3.5 §6.2.1: components split by "^", component groups by "=") made
 * readable: "HOLTZMANN^Carsten" gives "HOLTZMANN, Carsten". A value without "^" is returned
 * unchanged (it is already readable, or it is not a PN at all and must be shown exactly);
 * several non-empty groups (alphabetic, ideographic, phonetic) are joined by " = ".
 */
export function formatPersonName(pn: string): string {
  if (!pn.includes('^')) return pn;
  const groups = pn
    .split('=')
    .map(formatNameGroup)
    .filter((g) => g !== '');
  return groups.length === 0 ? pn.trim() : groups.join(' = ');
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/**
 * A byte count in decimal units with three significant digits at most: 52_100_000_000 gives
 * "52.1 GB", 252e9 gives "252 GB", 512 gives "512 B". Negative or non-finite input gives "?".
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  let text = value >= 100 ? String(Math.round(value)) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  if (Number(text) >= 1000 && unit < BYTE_UNITS.length - 1) {
    unit += 1;
    text = (Number(text) / 1000).toFixed(2);
  }
  if (text.includes('.')) text = text.replace(/\.?0+$/, '');
  return `${text} ${BYTE_UNITS[unit]}`;
}

/** CRYPE IDs as the seed manual writes them: "CRID#1234567890123456", several joined by a space. */
export function formatCrids(crids: readonly string[]): string {
  return crids.map((id) => `CRID#${id}`).join(' ');
}

/** A round-trip time in milliseconds for people: one decimal below 10 ms, whole numbers above. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

/** "1 setting needs" / "3 settings need": a count with its noun and verb agreeing. */
export function countSettings(n: number): string {
  return n === 1 ? '1 setting needs' : `${n} settings need`;
}
