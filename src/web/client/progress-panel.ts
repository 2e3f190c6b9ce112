/**
 * The "In progress" panel above the Log Book (issue: "the operator's view"): each study being
 * received with the countdown of its quiet time, each study being zipped, each Outbox ZIP
 * being sent. Filled from GET /api/progress and the `progress` event; the countdowns tick here
 * every second from the bridge's times, corrected by the clock skew its `now` reveals. Every
 * value comes from DICOM data or file names and is set with textContent only.
 */
import { getJson } from './api.js';
import {
  moreText,
  receivingTexts,
  sendingTexts,
  zippingTexts,
  type ItemTexts,
  type ProgressSnapshot,
} from './progress-text.js';

/** Controls the panel; created once at boot. */
export interface ProgressPanel {
  /** Shows a snapshot (from the event stream or GET /api/progress). */
  update(snapshot: ProgressSnapshot): void;
  /** Loads GET /api/progress once (the page's first view, before the stream's first event). */
  load(): Promise<void>;
  /** Listens for `progress` events on the page's event stream. */
  listen(source: EventSource): void;
}

interface Elements {
  /** The panel's list container (#in-progress-list). */
  list: HTMLElement;
  /** The empty state (#in-progress-empty): "Nothing in progress". */
  empty: HTMLElement;
}

const TICK_MS = 1000;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function itemElement(kind: string, id: string, texts: ItemTexts): HTMLLIElement {
  const li = element('li', 'progress-item');
  li.dataset.kind = kind;
  li.dataset.id = id;
  const head = element('div', 'progress-head');
  head.append(element('span', 'progress-kind', texts.kind), element('span', 'progress-title', texts.title));
  if (texts.meta !== '') head.append(element('span', 'progress-meta', texts.meta));
  const bar = element('progress', 'progress-bar');
  bar.max = texts.bar.max;
  bar.value = Math.min(texts.bar.value, texts.bar.max);
  bar.setAttribute('aria-label', `${texts.kind} ${texts.title}`);
  bar.setAttribute('aria-valuetext', texts.bar.text);
  const row = element('div', 'progress-bar-row');
  row.append(bar, element('span', 'progress-label', texts.bar.text));
  li.append(head, element('div', 'progress-detail', texts.detail), row);
  return li;
}

function group(label: string, items: HTMLLIElement[], more: number): HTMLElement[] {
  if (items.length === 0) return [];
  const ul = element('ul', 'progress-list');
  ul.setAttribute('aria-label', label);
  ul.append(...items);
  const shown: HTMLElement[] = [ul];
  if (more > 0) shown.push(element('p', 'progress-more', moreText(more)));
  return shown;
}

/** Binds the panel to its elements. */
export function createProgressPanel(el: Elements): ProgressPanel {
  let snapshot: ProgressSnapshot | null = null;
  /** The bridge's clock minus ours, from the last snapshot. */
  let skewMs = 0;
  let ticker: ReturnType<typeof setInterval> | null = null;

  function render(): void {
    const s = snapshot;
    const now = Date.now() + skewMs;
    const parts = s === null ? [] : [
      ...group('Studies being received', s.receiving.items.map((i) => itemElement('receiving', i.id, receivingTexts(i, now))), s.receiving.more),
      ...group('Studies being zipped', s.zipping.items.map((i) => itemElement('zipping', i.id, zippingTexts(i))), s.zipping.more),
      ...group('ZIPs being sent', s.sending.items.map((i) => itemElement('sending', i.id, sendingTexts(i, now))), s.sending.more),
    ];
    el.list.replaceChildren(...parts);
    el.empty.hidden = parts.length > 0;
  }

  /** Ticks while something counts down (a quiet time, a retry), stops otherwise. */
  function setTicking(): void {
    const s = snapshot;
    const counting = s !== null && (s.receiving.items.some((i) => i.quietEndsAt !== null) || s.sending.items.some((i) => i.nextRetryAt !== null));
    if (counting && ticker === null) ticker = setInterval(render, TICK_MS);
    if (!counting && ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  function update(next: ProgressSnapshot): void {
    if (next === null || typeof next !== 'object' || !next.receiving || !next.zipping || !next.sending) return;
    snapshot = next;
    if (Number.isFinite(next.now)) skewMs = next.now - Date.now();
    render();
    setTicking();
  }

  render();
  return {
    update,
    async load() {
      try {
        const result = await getJson<ProgressSnapshot>('/api/progress');
        // The stream may have delivered a newer one meanwhile.
        if (result.ok && (snapshot === null || result.body.now >= snapshot.now)) update(result.body);
      } catch {
        // the status strip reports the lost connection; the stream's next event fills the panel
      }
    },
    listen(source) {
      source.addEventListener('progress', (event) => {
        try {
          update(JSON.parse((event as MessageEvent<string>).data) as ProgressSnapshot);
        } catch {
          // a malformed event is dropped; the next one replaces it
        }
      });
    },
  };
}
