/**
 * The Activity tab's drawing (SPEC §7): for each series (studies received, ZIPs sent) a bar
 * chart in plain SVG, one bar per bucket, the failed part on top hatched and named in the
 * legend so it is not told by colour alone; axis labels in the browser's local time; and a
 * visually hidden table with every figure as the text alternative. Values are numbers and
 * dates only, set through DOM calls (no markup from data).
 *
 * Plain SVG: two bar charts need rectangles, a few lines of text and a pattern, less code
 * than a charting library's configuration, and the page loads no third-party code
 * (CSP script-src 'self').
 */

/** GET /api/activity's answer (src/logbook/activity.ts). */
export interface ActivityBucket {
  start: string;
  received: number;
  receivedFailed: number;
  sent: number;
  sentFailed: number;
}
export interface Activity {
  range: ActivityRange;
  bucketMs: number;
  from: string;
  to: string;
  buckets: ActivityBucket[];
}
export type ActivityRange = '24h' | '30d';

const SVG = 'http://www.w3.org/2000/svg';
/** The chart's drawing box (viewBox units; the SVG scales to the panel's width). */
const WIDTH = 960;
const HEIGHT = 200;
const MARGIN = { top: 14, right: 12, bottom: 34, left: 46 };

/** The two series: what each chart counts. */
const SERIES = [
  { key: 'received', ok: 'received', failed: 'receivedFailed', title: 'Studies received', okLabel: 'received', failedLabel: 'failed (moved to Inbox_Failed)' },
  { key: 'sent', ok: 'sent', failed: 'sentFailed', title: 'ZIPs sent', okLabel: 'sent', failedLabel: 'failed (moved to Outbox_Failed)' },
] as const;
type Series = (typeof SERIES)[number];

function svg<K extends keyof SVGElementTagNameMap>(name: K, attributes: Record<string, string | number> = {}, parent?: Element): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  parent?.appendChild(el);
  return el;
}

function html<K extends keyof HTMLElementTagNameMap>(name: K, text?: string, parent?: Element): HTMLElementTagNameMap[K] {
  const el = document.createElement(name);
  if (text !== undefined) el.textContent = text;
  parent?.appendChild(el);
  return el;
}

/** A bucket's label on the axis, in local time: `14:00` for an hour, `4 Dec` for a day. */
export function bucketLabel(start: string, bucketMs: number): string {
  const at = new Date(start);
  if (bucketMs < 86_400_000) return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  // A UTC day is labelled by the local date of its middle: right for most of it in any zone.
  return new Date(at.getTime() + bucketMs / 2).toLocaleDateString([], { day: 'numeric', month: 'short' });
}

/** A bucket's full name for tooltips and the table: `4 Dec, 14:00–15:00` or `4 Dec 2026`. */
export function bucketName(start: string, bucketMs: number): string {
  const from = new Date(start);
  if (bucketMs >= 86_400_000) return new Date(from.getTime() + bucketMs / 2).toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
  const to = new Date(from.getTime() + bucketMs);
  const time = (d: Date) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return `${from.toLocaleDateString([], { day: 'numeric', month: 'short' })}, ${time(from)}–${time(to)}`;
}

/** Axis ticks: 0, the top and one between, whole numbers only; the top is at least 1. */
function ticks(max: number): { top: number; values: number[] } {
  const top = Math.max(1, max);
  if (top <= 2) return { top, values: top === 1 ? [0, 1] : [0, 1, 2] };
  const step = Math.ceil(top / 2);
  return { top: step * 2, values: [0, step, step * 2] };
}

const total = (buckets: readonly ActivityBucket[], key: keyof Omit<ActivityBucket, 'start'>): number => buckets.reduce((sum, b) => sum + b[key], 0);

/** One series' chart: a stacked bar per bucket, successful part solid, failed part hatched on top. */
function drawChart(activity: Activity, series: Series): SVGSVGElement {
  const { buckets, bucketMs } = activity;
  const okTotal = total(buckets, series.ok);
  const failedTotal = total(buckets, series.failed);
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'activity-chart', 'data-series': series.key, 'aria-labelledby': `activity-${series.key}-title activity-${series.key}-desc` });
  svg('title', { id: `activity-${series.key}-title` }, root).textContent = `${series.title}, ${activity.range === '24h' ? 'last 24 hours by hour' : 'last 30 days by day'}`;
  svg('desc', { id: `activity-${series.key}-desc` }, root).textContent =
    `${okTotal} ${series.okLabel}, ${failedTotal} ${series.failedLabel} in ${buckets.length} ${bucketMs < 86_400_000 ? 'hours' : 'days'}.`;

  const defs = svg('defs', {}, root);
  const hatch = svg('pattern', { id: `activity-hatch-${series.key}`, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, defs);
  svg('rect', { width: 6, height: 6, class: 'hatch-back' }, hatch);
  svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }, hatch);

  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const scale = ticks(Math.max(0, ...buckets.map((b) => b[series.ok] + b[series.failed])));
  const y = (count: number) => MARGIN.top + plotH - (count / scale.top) * plotH;

  const axis = svg('g', { class: 'axis', 'aria-hidden': 'true' }, root);
  for (const value of scale.values) {
    svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value), class: value === 0 ? 'baseline' : 'gridline' }, axis);
    svg('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, axis).textContent = String(value);
  }
  const slot = plotW / buckets.length;
  // Every 2nd hour or 3rd day is labelled, counted back from the newest, which always has one.
  const labelEvery = buckets.length > 24 ? 3 : 2;
  buckets.forEach((bucket, i) => {
    if ((buckets.length - 1 - i) % labelEvery !== 0) return;
    svg('text', { x: MARGIN.left + slot * (i + 0.5), y: HEIGHT - MARGIN.bottom + 16, 'text-anchor': 'middle' }, axis).textContent = bucketLabel(bucket.start, bucketMs);
  });
  svg('text', { x: MARGIN.left + plotW / 2, y: HEIGHT - 4, 'text-anchor': 'middle', class: 'axis-title' }, axis).textContent =
    bucketMs < 86_400_000 ? 'Hour (local time)' : 'Day (local date)';

  const bars = svg('g', { class: 'bars' }, root);
  const barW = Math.max(1, slot * 0.7);
  buckets.forEach((bucket, i) => {
    const ok = bucket[series.ok];
    const failed = bucket[series.failed];
    const x = MARGIN.left + slot * i + (slot - barW) / 2;
    const group = svg('g', { class: 'bucket', 'data-start': bucket.start, 'data-ok': ok, 'data-failed': failed }, bars);
    const name = bucketName(bucket.start, bucketMs);
    svg('title', {}, group).textContent = `${name}: ${ok} ${series.okLabel}, ${failed} ${series.failedLabel}`;
    if (ok > 0) svg('rect', { x, width: barW, y: y(ok), height: y(0) - y(ok), class: 'bar-ok', 'data-count': ok }, group);
    if (failed > 0) {
      svg('rect', { x, width: barW, y: y(ok + failed), height: y(ok) - y(ok + failed), class: 'bar-failed', fill: `url(#activity-hatch-${series.key})`, 'data-count': failed }, group);
    }
  });
  return root;
}

/** The legend and totals above a chart, as text (the hatch swatch repeats the chart's pattern). */
function chartHeading(activity: Activity, series: Series): HTMLElement {
  const head = html('div');
  head.className = 'activity-head';
  html('h2', series.title, head);
  const legend = html('ul', undefined, head);
  legend.className = 'activity-legend';
  const okItem = html('li', undefined, legend);
  html('span', undefined, okItem).className = 'swatch swatch-ok';
  okItem.append(`${series.okLabel}: ${total(activity.buckets, series.ok)}`);
  const failedItem = html('li', undefined, legend);
  html('span', undefined, failedItem).className = 'swatch swatch-failed';
  failedItem.append(`${series.failedLabel} (hatched): ${total(activity.buckets, series.failed)}`);
  failedItem.dataset.failedTotal = String(total(activity.buckets, series.failed));
  return head;
}

/** The text alternative: one row per bucket with every count. */
function fillTable(table: HTMLTableElement, activity: Activity): void {
  table.replaceChildren();
  html('caption', `Studies received and ZIPs sent, ${activity.range === '24h' ? 'last 24 hours by hour' : 'last 30 days by day'} (local time)`, table);
  const head = html('tr', undefined, html('thead', undefined, table));
  for (const text of [activity.bucketMs < 86_400_000 ? 'Hour' : 'Day', 'Received', 'Received, failed', 'Sent', 'Sent, failed']) html('th', text, head).scope = 'col';
  const body = html('tbody', undefined, table);
  for (const b of activity.buckets) {
    const row = html('tr', undefined, body);
    row.dataset.start = b.start;
    html('th', bucketName(b.start, activity.bucketMs), row).scope = 'row';
    for (const n of [b.received, b.receivedFailed, b.sent, b.sentFailed]) html('td', String(n), row);
  }
}

/** Draws both charts into `charts` and the text alternative into `table`. */
export function renderActivity(charts: HTMLElement, table: HTMLTableElement, activity: Activity): void {
  const parts: Node[] = [];
  for (const series of SERIES) {
    const block = html('section');
    block.className = 'activity-block';
    block.append(chartHeading(activity, series), drawChart(activity, series));
    parts.push(block);
  }
  charts.replaceChildren(...parts);
  charts.dataset.range = activity.range;
  charts.dataset.buckets = String(activity.buckets.length);
  fillTable(table, activity);
}
