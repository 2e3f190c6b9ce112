/**
 * The status strip at the top of the page: what an administrator checks first (SPEC §7).
 * Filled from GET /api/status and every `status` event; each item is a `[data-status]` child
 * of #status whose text is set with textContent only.
 */
import type { BridgeStatus } from './api.js';
import { formatBytes } from './format.js';

type Tone = 'on' | 'off' | 'warn' | 'neutral';

const TONES: readonly Tone[] = ['on', 'off', 'warn', 'neutral'];

/** Controls the strip's items; created once at boot. */
export interface StatusStrip {
  update(status: BridgeStatus): void;
  setConnected(connected: boolean): void;
  /** Certificates near or past expiry, and the plain-HTTP-off-loopback warning ('' = none). */
  setWarnings(certificates: readonly string[], transport: string): void;
}

function item(root: HTMLElement, name: string): HTMLElement {
  const el = root.querySelector<HTMLElement>(`[data-status="${name}"]`);
  if (el === null) throw new Error(`#status has no [data-status="${name}"] item`);
  return el;
}

/** An item added after the page's own ones (warnings that are rarely there). */
function extraItem(root: HTMLElement, name: string): HTMLElement {
  const existing = root.querySelector<HTMLElement>(`[data-status="${name}"]`);
  if (existing !== null) return existing;
  const el = document.createElement('li');
  el.dataset.status = name;
  el.className = 'status-item';
  el.hidden = true;
  root.append(el);
  return el;
}

function show(el: HTMLElement, text: string, tone: Tone, title = ''): void {
  el.textContent = text;
  for (const t of TONES) el.classList.toggle(`tone-${t}`, t === tone);
  el.title = title;
}

/** Binds the strip to #status (and the discreet version label #version). */
export function createStatusStrip(root: HTMLElement, versionEl: HTMLElement | null): StatusStrip {
  const receiving = item(root, 'receiving');
  const sending = item(root, 'sending');
  const associations = item(root, 'associations');
  const studies = item(root, 'studies');
  const outbox = item(root, 'outbox');
  const failed = item(root, 'failed');
  const disk = item(root, 'disk');
  const connection = item(root, 'connection');
  const transport = extraItem(root, 'transport');
  const certificates = extraItem(root, 'certificates');

  return {
    update(s: BridgeStatus): void {
      const r = s.receiving;
      if (!r.enabled) show(receiving, 'Receiving: off', 'off');
      else if (r.listening) show(receiving, `Receiving: on, listening on ${r.host}:${r.port}`, 'on');
      else show(receiving, 'Receiving: on, not listening', 'warn');

      const t = s.sending;
      if (!t.enabled) show(sending, 'Sending: off', 'off');
      else if (t.host === '') show(sending, 'Sending: on, no target set', 'warn');
      else show(sending, `Sending: on, to ${t.calledAeTitle}@${t.host}:${t.port}`, 'on');

      show(associations, `Associations open: ${s.activeAssociations}`, 'neutral');
      show(studies, `Studies in progress: ${s.studiesInProgress}`, 'neutral');
      const unreadable = s.outboxUnreadable ?? 0;
      show(
        outbox,
        `ZIPs waiting in Outbox_Auto: ${s.outboxWaiting}` + (unreadable > 0 ? ` · unreadable in Outbox_Auto: ${unreadable}` : ''),
        unreadable > 0 ? 'warn' : 'neutral',
        unreadable > 0 ? 'files that stay unchanged but do not read as a ZIP; they go to Outbox_Failed after send.incompleteZipSeconds' : '',
      );
      const failedTotal = s.failed.inbox + s.failed.outbox;
      show(
        failed,
        `Inbox_Failed: ${s.failed.inbox} · Outbox_Failed: ${s.failed.outbox}`,
        failedTotal > 0 ? 'warn' : 'neutral',
      );
      show(
        disk,
        `${formatBytes(s.disk.freeBytes)} free of ${formatBytes(s.disk.totalBytes)}` + (s.disk.low ? ' · below the set minimum' : ''),
        s.disk.low ? 'warn' : 'neutral',
        s.disk.path,
      );
      disk.classList.toggle('warning', s.disk.low);
      if (versionEl !== null) versionEl.textContent = `version ${s.version}`;
    },

    setConnected(connected: boolean): void {
      connection.hidden = connected;
      show(connection, connected ? '' : 'connection to the bridge lost', connected ? 'neutral' : 'warn');
      root.classList.toggle('disconnected', !connected);
    },

    setWarnings(list: readonly string[], plain: string): void {
      // Permanent while it holds: the GUI password crosses the network in clear.
      transport.hidden = plain === '';
      show(transport, plain === '' ? '' : plain.charAt(0).toUpperCase() + plain.slice(1), plain === '' ? 'neutral' : 'warn');
      certificates.hidden = list.length === 0;
      show(certificates, list.length === 0 ? '' : list.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' · '), list.length === 0 ? 'neutral' : 'warn');
    },
  };
}
