/**
 * The admin GUI's side of the HTTP contract (docs: briefs/gui-api.md): typed fetch helpers that
 * add the page token to every state-changing request, and the Server-Sent Events stream.
 *
 * Plain fetch and EventSource: the browser already has both, and the page loads no
 * third-party code (CSP script-src 'self').
 */

/** One log book row as the server sends it; every string came from DICOM data and is untrusted. */
export interface LogEntry {
  id: number | string;
  timestamp: string;
  action: string;
  status: string;
  patientName: string;
  birthDate: string;
  studyDate: string;
  modality: string;
  instances: number;
  studyDescription: string;
  crids: string[];
  reason: string | null;
  studyInstanceUid?: string;
  fileName?: string;
}

/** GET /api/status and the `status` event. */
export interface BridgeStatus {
  version: string;
  receiving: { enabled: boolean; listening: boolean; host: string; port: number; aeTitle: string };
  sending: { enabled: boolean; host: string; port: number; calledAeTitle: string };
  activeAssociations: number;
  studiesInProgress: number;
  outboxWaiting: number;
  /** Files in Outbox_Auto that do not read as a ZIP (absent from an older bridge). */
  outboxUnreadable?: number;
  failed: { inbox: number; outbox: number };
  disk: { path: string; freeBytes: number; totalBytes: number; low: boolean };
  storageFolder: string;
  configPath: string;
}

/** The config file's shape, kept loose: the form reads and writes it by dotted key. */
export type SettingsTree = { [key: string]: unknown };

/** One refused setting: `key` is dotted ("receive.port"), `rule` is the text to show by the field. */
export interface FieldError {
  key: string;
  rule: string;
  text: string;
}

export interface SettingsResponse {
  settings: SettingsTree;
  configPath: string;
  rules: Record<string, string>;
}

export interface SaveResponse {
  settings: SettingsTree;
  applied: string[];
  guiUrl: string;
}

export type EchoResponse = { ok: true; rttMs: number; target: string } | { ok: false; reason: string; target: string };

export interface FoldersResponse {
  path: string;
  parent: string | null;
  folders: string[];
  roots: string[];
}

/** Any non-2xx body: one message or a list of field errors. */
export interface ErrorBody {
  error?: string;
  errors?: FieldError[];
}

/** A response's HTTP status with its parsed JSON body (an empty object when the body is not JSON). */
export interface ApiResult<T> {
  status: number;
  ok: boolean;
  body: T;
}

/** The token the server wrote into the page; the server refuses non-GET requests without it. */
function pageToken(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="dicombridge-token"]');
  return meta?.content ?? '';
}

async function parse<T>(response: Response): Promise<ApiResult<T>> {
  let body: unknown = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  return { status: response.status, ok: response.ok, body: body as T };
}

/**
 * GET a JSON resource. Rejects only when the bridge cannot be reached; HTTP errors come back
 * as a result with `ok: false`.
 */
export async function getJson<T>(url: string): Promise<ApiResult<T>> {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  return parse<T>(response);
}

/** POST or PUT a JSON body with the page token (gui-api.md: "Token"). */
export async function sendJson<T>(method: 'POST' | 'PUT', url: string, body: unknown): Promise<ApiResult<T>> {
  const response = await fetch(url, {
    method,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-DicomBridge-Token': pageToken(),
    },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  return parse<T>(response);
}

/** What the page does with each event of GET /api/events. */
export interface EventHandlers {
  logbook(entry: LogEntry): void;
  status(status: BridgeStatus): void;
  settings(settings: SettingsTree): void;
  connection(connected: boolean): void;
}

function listen<T>(source: EventSource, name: string, handle: (data: T) => void): void {
  source.addEventListener(name, (event) => {
    let data: T;
    try {
      data = JSON.parse((event as MessageEvent<string>).data) as T;
    } catch {
      return; // a malformed event is dropped; the next status event refreshes the page anyway
    }
    handle(data);
  });
}

/**
 * Opens the event stream. EventSource reconnects by itself after an error; the page shows the
 * connection as lost from the error until the next open.
 */
export function connectEvents(handlers: EventHandlers): EventSource {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => handlers.connection(true));
  source.addEventListener('error', () => handlers.connection(false));
  listen<LogEntry>(source, 'logbook', handlers.logbook);
  listen<BridgeStatus>(source, 'status', handlers.status);
  listen<{ settings?: SettingsTree }>(source, 'settings', (data) => {
    if (data.settings !== undefined && data.settings !== null) handlers.settings(data.settings);
  });
  return source;
}
