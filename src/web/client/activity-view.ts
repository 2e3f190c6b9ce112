/**
 * The "Activity" tab (SPEC §7): studies received and ZIPs sent per hour over the last 24 hours,
 * or per day over the last 30 days (GET /api/activity, buckets on UTC hours/days), drawn by
 * activity-chart.ts. This module wires the range switch (a WAI-ARIA radio group), Refresh, and
 * reloading: whenever the tab is shown, every minute while it is, and shortly after new log
 * book rows.
 */
import { renderActivity, type Activity, type ActivityRange } from './activity-chart.js';
import { getJson } from './api.js';

/** Controls the Activity tab; created once at boot. */
export interface ActivityView {
  /** Loads the current range again. */
  refresh(): Promise<void>;
  /** A log book row was added: reloads soon if the tab is showing. */
  logged(): void;
}

interface Elements {
  panel: HTMLElement;
  /** The radio buttons ([role=radio][data-range]) inside a [role=radiogroup]. */
  ranges: HTMLElement;
  refresh: HTMLButtonElement;
  charts: HTMLElement;
  table: HTMLTableElement;
  message: HTMLElement | null;
}

/** Reload at most this often while rows arrive. */
const RELOAD_DELAY_MS = 2000;
const MINUTE_MS = 60_000;

/** Wires the Activity tab: range switch (a radio group: arrows move and select), Refresh, charts. */
export function createActivityView(el: Elements): ActivityView {
  const radios = Array.from(el.ranges.querySelectorAll<HTMLElement>('[role="radio"][data-range]'));
  let range: ActivityRange = '24h';
  let loaded = false;
  let reload: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  const showing = () => !el.panel.hidden;

  function setMessage(text: string): void {
    if (!el.message) return;
    el.message.textContent = text;
    el.message.hidden = text === '';
  }

  async function refresh(): Promise<void> {
    const mine = ++generation;
    el.charts.setAttribute('aria-busy', 'true');
    try {
      const result = await getJson<Activity>(`/api/activity?range=${range}`);
      if (mine !== generation) return; // a newer request (another range) wins
      if (!result.ok) {
        setMessage(`Activity could not be loaded (HTTP ${result.status}).`);
        return;
      }
      setMessage('');
      renderActivity(el.charts, el.table, result.body);
      loaded = true;
    } catch {
      if (mine === generation) setMessage('Activity could not be loaded: the bridge cannot be reached.');
    } finally {
      if (mine === generation) el.charts.removeAttribute('aria-busy');
    }
  }

  function select(next: ActivityRange, focus: boolean): void {
    for (const radio of radios) {
      const on = radio.dataset.range === next;
      radio.setAttribute('aria-checked', String(on));
      radio.tabIndex = on ? 0 : -1;
      if (on && focus) radio.focus();
    }
    if (next === range && loaded) return;
    range = next;
    void refresh();
  }

  radios.forEach((radio, i) => {
    radio.addEventListener('click', () => select(radio.dataset.range as ActivityRange, false));
    // WAI-ARIA radio group: arrow keys move the selection (and the focus) and wrap.
    radio.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? 1 : event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? -1 : 0;
      if (step === 0) return;
      const next = radios[(i + step + radios.length) % radios.length];
      select(next.dataset.range as ActivityRange, true);
      event.preventDefault();
    });
  });
  el.refresh.addEventListener('click', () => void refresh());

  // Loads whenever the tab is shown, whoever shows it (the tab switcher only toggles `hidden`),
  // and while it shows, every minute too (a new hour starts without a new row).
  let ticking: ReturnType<typeof setInterval> | undefined;
  const onShowChange = (): void => {
    if (showing()) {
      void refresh();
      ticking ??= setInterval(() => void refresh(), MINUTE_MS);
    } else if (ticking !== undefined) {
      clearInterval(ticking);
      ticking = undefined;
    }
  };
  new MutationObserver(onShowChange).observe(el.panel, { attributes: true, attributeFilter: ['hidden'] });
  if (showing()) onShowChange();

  return {
    refresh,
    logged() {
      if (!showing() || reload !== undefined) return;
      reload = setTimeout(() => {
        reload = undefined;
        void refresh();
      }, RELOAD_DELAY_MS);
    },
  };
}
