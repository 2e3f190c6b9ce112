/**
 * The admin GUI's entry point (SPEC §7): finds the page's fixed elements, switches the tabs
 * (tabs.ts), loads the data and connects the live event stream.
 *
 * Plain TypeScript modules compiled by tsc and served as they are: the page is two tabs and a
 * strip, small enough that a framework or bundler would be most of the code shipped.
 */
import { createActivityView } from './activity-view.js';
import { connectEvents, getJson, type BridgeStatus } from './api.js';
import { createFolderDialog } from './folder-dialog.js';
import { createLogbookView } from './logbook-view.js';
import { createProgressPanel } from './progress-panel.js';
import { createCertificatePanel } from './settings-certificates.js';
import { createSettingsView } from './settings-view.js';
import { createStatusStrip } from './status-strip.js';
import { setUpTabs } from './tabs.js';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html has no #${id}`);
  return el as T;
}

function boot(): void {
  const tablist = document.querySelector<HTMLElement>('[role="tablist"]');
  if (tablist !== null) setUpTabs(tablist);

  const strip = createStatusStrip(byId('status'), document.getElementById('version'));
  const logbook = createLogbookView({
    table: byId<HTMLTableElement>('logbook-table'),
    empty: byId('logbook-empty'),
    filter: byId<HTMLInputElement>('logbook-filter'),
    refresh: byId<HTMLButtonElement>('logbook-refresh'),
    message: document.getElementById('logbook-message'),
  });
  const browse = createFolderDialog({
    dialog: byId<HTMLDialogElement>('folder-dialog'),
    path: byId('folder-path'),
    list: byId<HTMLUListElement>('folder-list'),
    roots: byId<HTMLUListElement>('folder-roots'),
    error: byId('folder-error'),
    up: byId<HTMLButtonElement>('folder-up'),
    choose: byId<HTMLButtonElement>('folder-choose'),
    cancel: byId<HTMLButtonElement>('folder-cancel'),
  });
  const settings = createSettingsView(
    {
      form: byId<HTMLFormElement>('settings-form'),
      save: byId<HTMLButtonElement>('settings-save'),
      reset: byId<HTMLButtonElement>('settings-reset'),
      message: byId('settings-message'),
      configPath: document.getElementById('settings-config-path'),
    },
    browse,
  );

  void getJson<BridgeStatus>('/api/status')
    .then((result) => {
      if (result.ok) strip.update(result.body);
    })
    .catch(() => strip.setConnected(false));
  // Activity chart (issue 11).
  const activity = createActivityView({
    panel: byId('panel-activity'),
    ranges: byId('activity-range'),
    refresh: byId<HTMLButtonElement>('activity-refresh'),
    charts: byId('activity-charts'),
    table: byId<HTMLTableElement>('activity-table'),
    message: document.getElementById('activity-message'),
  });

  void logbook.refresh();
  void settings.load();
  // Certificates (issue 10): the Settings tab's read-only panel and the strip's warnings.
  const certificates = createCertificatePanel(byId('panel-settings'), strip);
  void certificates.load();

  const progress = createProgressPanel({ list: byId('in-progress-list'), empty: byId('in-progress-empty') });
  void progress.load();

  const events = connectEvents({
    logbook: (entry) => {
      logbook.add(entry);
      activity.logged();
    },
    status: (status) => strip.update(status),
    settings: (saved) => {
      settings.savedElsewhere(saved);
      void certificates.load();
    },
    connection: (connected) => strip.setConnected(connected),
  });
  progress.listen(events);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
