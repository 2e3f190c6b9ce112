/**
 * The texts of the "In progress" panel, from a snapshot of GET /api/progress (or the
 * `progress` event) and the bridge's time now. No DOM types here, so the Node unit tests can
 * import this module as it is.
 */
import { formatBytes, formatDicomDate, formatPersonName } from './format.js';

/** A study being received (bridge/progress/registry.ts: ReceivingProgress). */
export interface ReceivingItem {
  id: string;
  patientName: string;
  studyDate: string;
  modality: string;
  callingAeTitle: string;
  instances: number;
  bytes: number;
  lastArrival: number;
  quietMs: number;
  quietEndsAt: number | null;
  recovered: boolean;
}

/** A study waiting for, or being, zipped. */
export interface ZippingItem {
  id: string;
  patientName: string;
  studyDate: string;
  modality: string;
  state: 'waiting' | 'zipping';
  entriesDone: number;
  entriesTotal: number;
}

/** An Outbox ZIP being sent. */
export interface SendingItem {
  id: string;
  zipName: string;
  patientName: string;
  studyDate: string;
  modality: string;
  state: 'opening' | 'sending' | 'retry-wait';
  instancesSent: number;
  instancesFailed: number;
  instancesTotal: number;
  bytesSent: number;
  bytesPerSecond: number;
  attempt: number;
  attempts: number;
  nextRetryAt: number | null;
}

/** A list cut to what is shown, with how many more there are. */
export interface ItemList<T> {
  items: T[];
  more: number;
}

/** GET /api/progress; every string came from DICOM data or file names and is untrusted. */
export interface ProgressSnapshot {
  now: number;
  receiving: ItemList<ReceivingItem>;
  zipping: ItemList<ZippingItem>;
  sending: ItemList<SendingItem>;
}

/** A bar: `value` of `max`, with the text that says the same in words. */
export interface Bar {
  value: number;
  max: number;
  text: string;
}

/** The texts of one item: what it is, the study, the figures and the bar. */
export interface ItemTexts {
  kind: string;
  title: string;
  meta: string;
  detail: string;
  bar: Bar;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "CT · 22/07/2004", leaving out what is unknown. */
function studyMeta(modality: string, studyDate: string): string {
  return [modality, formatDicomDate(studyDate)].filter((t) => t !== '').join(' · ');
}

/** Whole seconds until `at`, never below 0 (rounded up: "in 1 s" until it is due). */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** "HH:MM:SS" of an epoch time in the browser's time zone. */
function clockTime(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** "1.5 MB/s" (decimal megabytes, as the byte counts). */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '0 MB/s';
  const mb = bytesPerSecond / 1e6;
  return `${mb >= 10 ? Math.round(mb) : mb.toFixed(mb >= 1 ? 1 : 2)} MB/s`;
}

/** A study being received: its counts and the countdown of the quiet time to zipping. */
export function receivingTexts(item: ReceivingItem, now: number): ItemTexts {
  const name = formatPersonName(item.patientName);
  const figures = item.recovered && item.instances === 0
    ? 'left by the last run'
    : `${plural(item.instances, 'instance')} · ${formatBytes(item.bytes)} so far`;
  const from = item.callingAeTitle === '' ? '' : ` · from ${item.callingAeTitle}`;
  let bar: Bar;
  if (item.quietEndsAt === null) {
    bar = { value: 0, max: Math.max(1, item.quietMs), text: 'receiving an instance' };
  } else {
    const remainingMs = Math.max(0, Math.min(item.quietMs, item.quietEndsAt - now));
    const seconds = secondsUntil(item.quietEndsAt, now);
    bar = { value: item.quietMs - remainingMs, max: Math.max(1, item.quietMs), text: seconds > 0 ? `zipping in ${seconds} s` : 'zipping now' };
  }
  return {
    kind: 'Receiving',
    title: name === '' ? '(patient not yet known)' : name,
    meta: studyMeta(item.modality, item.studyDate),
    detail: `${figures}${from}`,
    bar,
  };
}

/** A study in the zipping queue: entries done of total. */
export function zippingTexts(item: ZippingItem): ItemTexts {
  const name = formatPersonName(item.patientName);
  const zipping = item.state === 'zipping';
  return {
    kind: 'Zipping',
    title: name === '' ? '(patient not yet known)' : name,
    meta: studyMeta(item.modality, item.studyDate),
    detail: zipping ? `${plural(item.entriesTotal, 'instance')} to zip` : 'waiting for the study before it',
    bar: {
      value: item.entriesDone,
      max: Math.max(1, item.entriesTotal),
      text: zipping ? `entries done ${item.entriesDone} / ${item.entriesTotal}` : 'waiting to be zipped',
    },
  };
}

/** An Outbox ZIP being sent: instances sent of total, speed, attempt, next retry. */
export function sendingTexts(item: SendingItem, now: number): ItemTexts {
  const name = formatPersonName(item.patientName);
  const parts: string[] = [];
  if (item.attempt > 0) parts.push(`attempt ${item.attempt} of ${item.attempts}`);
  if (item.state === 'sending') parts.push(formatRate(item.bytesPerSecond));
  parts.push(`${formatBytes(item.bytesSent)} sent`);
  if (item.instancesFailed > 0) parts.push(`${item.instancesFailed} refused`);
  if (item.state === 'retry-wait' && item.nextRetryAt !== null) {
    parts.push(`next retry at ${clockTime(item.nextRetryAt)} (in ${secondsUntil(item.nextRetryAt, now)} s)`);
  }
  const meta = [name, studyMeta(item.modality, item.studyDate)].filter((t) => t !== '').join(' · ');
  return {
    kind: 'Sending',
    title: item.zipName,
    meta,
    detail: parts.join(' · '),
    bar: {
      value: item.instancesSent + item.instancesFailed,
      max: Math.max(1, item.instancesTotal),
      text: item.attempt === 0 ? 'opening the ZIP' : `instances sent ${item.instancesSent} / ${item.instancesTotal}`,
    },
  };
}

/** "and 3 more", or '' when nothing was left out. */
export function moreText(more: number): string {
  return more > 0 ? `and ${more} more` : '';
}
