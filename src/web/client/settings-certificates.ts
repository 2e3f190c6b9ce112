/**
 * The Settings tab's "Certificates" section (read-only): each configured certificate of
 * DICOM receiving, DICOM sending and the admin GUI with its subject, issuer, expiry and days
 * left, from GET /api/certificates. The same answer feeds the status strip's certificate and
 * plain-HTTP warnings. File names and subjects are shown with textContent only.
 */
import { getJson } from './api.js';
import type { StatusStrip } from './status-strip.js';

/** One certificate as GET /api/certificates sends it. */
export interface CertificateEntry {
  setting: string;
  role: string;
  file: string;
  inUse: boolean;
  certificate?: { subject: string; issuer: string; validTo: string; daysLeft: number; commonName: string };
  error?: string;
}

/** GET /api/certificates */
export interface CertificatesResponse {
  certificates: CertificateEntry[];
  warnings: string[];
  gui: { https: boolean; plainOffLoopback: boolean; warning: string };
}

/** Re-read now and then: a certificate nears its expiry while the page stays open. */
const REFRESH_MS = 60 * 60 * 1000;

function cell(row: HTMLTableRowElement, text: string, className = ''): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (className !== '') td.className = className;
  return td;
}

function daysText(entry: CertificateEntry): { text: string; tone: string } {
  const c = entry.certificate;
  if (entry.error !== undefined) return { text: `cannot be used: ${entry.error}`, tone: 'status-failed' };
  if (c === undefined) return { text: '', tone: '' };
  const off = entry.inUse ? '' : ' (not in use)';
  if (c.daysLeft < 0) return { text: `expired${off}`, tone: entry.inUse ? 'status-failed' : '' };
  const tone = entry.inUse && c.daysLeft <= 30 ? 'status-warning' : '';
  return { text: `${c.daysLeft} day${c.daysLeft === 1 ? '' : 's'}${off}`, tone };
}

/** Controls the section; created once at boot. */
export interface CertificatePanel {
  load(): Promise<void>;
}

/** Appends the section to `panel` and feeds `strip` with its warnings. */
export function createCertificatePanel(panel: HTMLElement, strip: StatusStrip): CertificatePanel {
  const section = document.createElement('section');
  section.className = 'certificates';
  section.setAttribute('aria-labelledby', 'certificates-title');
  const title = document.createElement('h2');
  title.id = 'certificates-title';
  title.textContent = 'Certificates';
  const hint = document.createElement('p');
  hint.className = 'hint';
  hint.textContent = 'The TLS certificates set above (read-only). A renewed certificate file is used without a restart.';
  const empty = document.createElement('p');
  empty.className = 'empty';
  empty.id = 'certificates-empty';
  empty.textContent = 'No certificate configured.';
  const table = document.createElement('table');
  table.id = 'certificates-table';
  table.className = 'certificates-table';
  const caption = table.createCaption();
  caption.className = 'visually-hidden';
  caption.textContent = 'Configured certificates';
  const head = table.createTHead().insertRow();
  for (const name of ['Used for', 'Subject', 'Issuer', 'Valid until', 'Days left']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = name;
    head.append(th);
  }
  const body = table.createTBody();
  section.append(title, hint, empty, table);
  panel.append(section);

  function render(answer: CertificatesResponse): void {
    body.replaceChildren();
    const entries = Array.isArray(answer.certificates) ? answer.certificates : [];
    for (const entry of entries) {
      const row = body.insertRow();
      row.dataset.setting = entry.setting;
      const used = cell(row, entry.role);
      used.title = `${entry.setting}: ${entry.file}`;
      const c = entry.certificate;
      cell(row, c?.subject ?? '');
      cell(row, c?.issuer ?? '');
      cell(row, c === undefined ? '' : new Date(c.validTo).toLocaleDateString());
      const days = daysText(entry);
      cell(row, days.text, days.tone);
    }
    empty.hidden = entries.length > 0;
    table.hidden = entries.length === 0;
    strip.setWarnings(Array.isArray(answer.warnings) ? answer.warnings : [], answer.gui?.plainOffLoopback === true ? answer.gui.warning : '');
  }

  async function load(): Promise<void> {
    try {
      const result = await getJson<CertificatesResponse>('/api/certificates');
      if (result.ok) render(result.body);
    } catch {
      // The strip already says the connection is lost.
    }
  }

  setInterval(() => void load(), REFRESH_MS);
  return { load };
}
